import type { IngestionSource, RequestContext } from "../pipeline/payload.js";
import { InvalidDataError } from "../pipeline/errors.js";

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
): RequestContext {
  const ingestionVersion = langfuseHeader(lookup, "ingestion-version") ?? "";
  if (ingestionVersion !== "") {
    const version = Number.parseInt(ingestionVersion, 10);
    if (Number.isNaN(version) || version > MAX_INGESTION_VERSION) {
      throw new InvalidDataError(`Unsupported x-langfuse-ingestion-version: "${ingestionVersion}". Maximum supported: "${MAX_INGESTION_VERSION}".`);
    }
  }
  return {
    receiver,
    transport,
    source,
    authorization: lookup("authorization"),
    sdkName: langfuseHeader(lookup, "sdk-name") ?? UNKNOWN,
    sdkVersion: langfuseHeader(lookup, "sdk-version") ?? UNKNOWN,
    ingestionVersion,
    clientAddress,
  };
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
