import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { status as grpcStatus } from "@grpc/grpc-js";
import { basicAuth, TEST_KEYS } from "../support/daemon.js";
import { exportOverGrpc } from "../support/grpc.js";
import { resourceSpans, span, toJson, toProtobuf } from "../support/otlp.js";
import { startRawPathStack, startStack, type TestStack } from "../support/stack.js";

/**
 * Credentials are checked before anything about the request is answered, as Langfuse (its API
 * route checks the key first) and the Collector's auth extension (HTTP middleware, gRPC
 * interceptor) do: an empty export, an undecodable body or a wrong content type from a client
 * with wrong, missing or Bearer-only credentials is refused exactly as a real export is.
 */
let events: TestStack;
let raw: TestStack;

beforeAll(async () => {
  [events, raw] = await Promise.all([startStack(), startRawPathStack()]);
});

afterAll(async () => {
  await Promise.all([events?.stop(), raw?.stop()]);
});

type Transport = "http-protobuf" | "http-json" | "langfuse-protobuf" | "langfuse-json" | "grpc";
const TRANSPORTS: Transport[] = ["http-protobuf", "http-json", "langfuse-protobuf", "langfuse-json", "grpc"];

const CREDENTIALS = {
  missing: null,
  "wrong secret": basicAuth(TEST_KEYS.publicKey, "sk-lf-wrong"),
  "unknown public key": basicAuth("pk-lf-unknown", TEST_KEYS.secretKey),
  "Bearer public key": `Bearer ${TEST_KEYS.publicKey}`,
} as const;

/** What a refused client must get, for each credential, over HTTP and gRPC. */
const REFUSAL: Record<keyof typeof CREDENTIALS, { http: number; grpc: number }> = {
  missing: { http: 401, grpc: grpcStatus.UNAUTHENTICATED },
  "wrong secret": { http: 401, grpc: grpcStatus.UNAUTHENTICATED },
  "unknown public key": { http: 401, grpc: grpcStatus.UNAUTHENTICATED },
  "Bearer public key": { http: 403, grpc: grpcStatus.PERMISSION_DENIED },
};

/** No resource spans at all, which Langfuse answers at once, and a resource whose scope has no spans. */
const EMPTY: ReturnType<typeof resourceSpans> = [];
const NO_SPANS = resourceSpans([]);
const ONE_SPAN = resourceSpans([span({ traceId: "0000000000000000000000000000a0a0" })]);

function body(transport: Transport, kind: "empty" | "no spans" | "spans" | "garbage"): Buffer {
  if (kind === "garbage") return transport.endsWith("json") ? Buffer.from("{not json") : Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
  const data = kind === "empty" ? EMPTY : kind === "no spans" ? NO_SPANS : ONE_SPAN;
  return transport.endsWith("json") ? toJson(data) : toProtobuf(data);
}

/** Sends one export; answers the HTTP status or the gRPC code. */
async function send(
  stack: TestStack,
  transport: Transport,
  payload: Buffer,
  authorization: string | null,
  headers: Record<string, string> = {},
): Promise<number> {
  if (transport === "grpc") {
    const metadataAuth = authorization ?? undefined;
    return (await exportOverGrpc(stack.daemon.url("otlp", "grpc"), payload, { authorization: metadataAuth ?? null })).code;
  }
  const url = transport.startsWith("langfuse") ? `${stack.daemon.url("langfuse")}/api/public/otel/v1/traces` : `${stack.daemon.url("otlp")}/v1/traces`;
  const contentType = transport.endsWith("json") ? "application/json" : "application/x-protobuf";
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": contentType, ...(authorization === null ? {} : { authorization }), ...headers },
    body: payload,
  });
  await response.arrayBuffer();
  return response.status;
}

describe.each([
  ["events pipeline", () => events],
  ["otel pipeline (raw path)", () => raw],
] as const)("authentication comes first: %s", (_name, stackOf) => {
  for (const transport of TRANSPORTS) {
    for (const [label, authorization] of Object.entries(CREDENTIALS) as Array<[keyof typeof CREDENTIALS, string | null]>) {
      it(`${transport}, ${label}: empty exports, an undecodable body and a real export get the same refusal`, async () => {
        const expected = transport === "grpc" ? REFUSAL[label].grpc : REFUSAL[label].http;
        const stack = stackOf();
        const kinds = ["empty", "no spans", "garbage", "spans"] as const;
        const answers = await Promise.all(kinds.map((kind) => send(stack, transport, body(transport, kind), authorization)));
        expect(answers).toEqual(kinds.map(() => expected));
      });
    }

    it(`${transport}, valid key pair: empty exports are accepted, an undecodable body is refused as invalid`, async () => {
      const stack = stackOf();
      expect(await send(stack, transport, body(transport, "empty"), basicAuth())).toBe(transport === "grpc" ? grpcStatus.OK : 200);
      expect(await send(stack, transport, body(transport, "no spans"), basicAuth())).toBe(transport === "grpc" ? grpcStatus.OK : 200);
      expect(await send(stack, transport, body(transport, "garbage"), basicAuth())).toBe(transport === "grpc" ? grpcStatus.INVALID_ARGUMENT : 400);
    });
  }

  it("a wrong content type from a refused client is answered 401, from a known one 415", async () => {
    const stack = stackOf();
    const url = `${stack.daemon.url("otlp")}/v1/traces`;
    const post = (authorization?: string) =>
      fetch(url, { method: "POST", headers: { "content-type": "text/plain", ...(authorization ? { authorization } : {}) }, body: "x" }).then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      });
    expect(await post()).toBe(401);
    expect(await post(CREDENTIALS["wrong secret"])).toBe(401);
    expect(await post(basicAuth())).toBe(415);
  });

  it("an unsupported x-langfuse-ingestion-version is refused after authentication, and (as Langfuse) not for an empty export", async () => {
    const stack = stackOf();
    const version = { "x-langfuse-ingestion-version": "5" };
    expect(await send(stack, "langfuse-json", body("langfuse-json", "spans"), CREDENTIALS["wrong secret"], version)).toBe(401);
    expect(await send(stack, "langfuse-json", body("langfuse-json", "empty"), basicAuth(), version)).toBe(200);
    expect(await send(stack, "langfuse-json", body("langfuse-json", "spans"), basicAuth(), version)).toBe(400);
  });
});

describe("authentication comes first: the ingestion API", () => {
  async function ingest(payload: string, authorization: string | null): Promise<number> {
    const response = await fetch(`${events.daemon.url("langfuse")}/api/public/ingestion`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(authorization === null ? {} : { authorization }) },
      body: payload,
    });
    await response.arrayBuffer();
    return response.status;
  }

  it.each([
    ["missing", null],
    ["wrong secret", CREDENTIALS["wrong secret"]],
    ["unknown public key", CREDENTIALS["unknown public key"]],
  ] as const)("%s credentials: an empty batch and a malformed body get 401", async (_label, authorization) => {
    expect(await ingest(JSON.stringify({ batch: [] }), authorization)).toBe(401);
    expect(await ingest("{not json", authorization)).toBe(401);
  });

  it("a Bearer public key may send an empty batch (scores access), and a valid key pair gets 207", async () => {
    expect(await ingest(JSON.stringify({ batch: [] }), CREDENTIALS["Bearer public key"])).toBe(207);
    expect(await ingest(JSON.stringify({ batch: [] }), basicAuth())).toBe(207);
    expect(await ingest("{not json", basicAuth())).toBe(400);
  });
});
