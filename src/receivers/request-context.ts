import { z } from "zod";
import type { IngestionSource, RequestContext } from "../pipeline/payload.js";
import { InvalidDataError } from "../pipeline/errors.js";

/** Headers that carry credentials or session state: never copied into jobs or the spool. */
const NEVER_PROPAGATED = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie"]);

/**
 * Langfuse's LANGFUSE_INGESTION_MASKING_PROPAGATED_HEADERS: request headers (or gRPC metadata)
 * whose values ride along to Langfuse's worker in `otel-ingestion-job` payloads, for its masking
 * callback. Names are matched case-insensitively.
 */
export const propagateHeadersSchema = z
  .array(
    z
      .string()
      .min(1)
      .transform((name) => name.toLowerCase())
      .refine((name) => !NEVER_PROPAGATED.has(name), { message: "credential headers are never propagated" }),
  )
  .default([])
  .describe(
    "Request headers (gRPC metadata) passed to Langfuse's worker as `propagatedHeaders` in `otel-ingestion-job` payloads, like Langfuse's LANGFUSE_INGESTION_MASKING_PROPAGATED_HEADERS (for its masking callback); only headers the request carried, names matched case-insensitively; `authorization`, `cookie` and the like are refused.",
  );

/** Reads a header (HTTP) or metadata value (gRPC); undefined when absent. */
export type HeaderLookup = (name: string) => string | undefined;

const UNKNOWN = "unknown";

/** Langfuse SDK v4 sends `x_langfuse_*` names; v5 and the legacy SDK `x-langfuse-*`. */
function langfuseHeader(lookup: HeaderLookup, name: string): string | undefined {
  const value = lookup(`x-langfuse-${name}`) ?? lookup(`x_langfuse_${name.replaceAll("-", "_")}`);
  return value === undefined || value === "" ? undefined : value;
}

/** Langfuse accepts ingestion versions up to 4. */
const MAX_INGESTION_VERSION = 4;

export function requestContext(
  receiver: string,
  transport: "http" | "grpc",
  source: IngestionSource,
  lookup: HeaderLookup,
  clientAddress?: string,
  propagateHeaders: readonly string[] = [],
): RequestContext {
  const ingestionVersion = langfuseHeader(lookup, "ingestion-version") ?? "";
  const context: RequestContext = {
    receiver,
    transport,
    source,
    authorization: lookup("authorization"),
    sdkName: langfuseHeader(lookup, "sdk-name") ?? UNKNOWN,
    sdkVersion: langfuseHeader(lookup, "sdk-version") ?? UNKNOWN,
    ingestionVersion,
    clientAddress,
  };
  // As Langfuse: only headers that were sent; none at all leaves the field out.
  const propagated: Record<string, string> = {};
  for (const name of propagateHeaders) {
    const value = lookup(name);
    if (typeof value === "string") propagated[name] = value;
  }
  if (Object.keys(propagated).length > 0) context.propagatedHeaders = propagated;
  return context;
}

/**
 * Langfuse's OTel endpoint refuses ingestion versions above 4 (or not a number), and does so after
 * authentication and after answering an empty export, so receivers call this at the same point.
 */
export function refuseUnsupportedIngestionVersion(context: RequestContext): void {
  const { ingestionVersion } = context;
  if (ingestionVersion === "") return;
  const version = Number.parseInt(ingestionVersion, 10);
  if (Number.isNaN(version) || version > MAX_INGESTION_VERSION) {
    throw new InvalidDataError(`Unsupported x-langfuse-ingestion-version: "${ingestionVersion}". Maximum supported: "${MAX_INGESTION_VERSION}".`);
  }
}

/** The address part of grpc-js's peer string: "10.0.0.1:5000", "::1:5000" (no brackets). */
export function grpcPeerAddress(peer: string): string | undefined {
  const match = /^(?:ipv[46]:)?\[?(.+?)\]?:\d+$/.exec(peer);
  return match?.[1] ?? (peer === "" ? undefined : peer);
}

export function httpHeaderLookup(headers: Record<string, string | string[] | undefined>): HeaderLookup {
  return (name) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
}
