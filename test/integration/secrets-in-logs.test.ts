import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { basicAuth, TEST_KEYS } from "../support/daemon.js";
import { exportOverGrpc } from "../support/grpc.js";
import { resourceSpans, span, toJson, toProtobuf } from "../support/otlp.js";
import { startStack, type TestStack } from "../support/stack.js";

/**
 * No configured secret reaches the log, whichever slot of a refused request it arrives in: a
 * secret sent as a Bearer key or as the public half of a Basic pair is a mistake that operators
 * must be able to see (a fingerprint) without the log holding the secret.
 */
const OTHER = { publicKey: "pk-lf-other", secretKey: "sk-lf-other" };
const SECRETS = [TEST_KEYS.secretKey, OTHER.secretKey];

const lines: string[] = [];
let stack: TestStack;

beforeAll(async () => {
  const logger = pino({ level: "trace" }, { write: (line: string) => void lines.push(line) });
  stack = await startStack({ logger });
});

afterAll(async () => {
  await stack?.stop();
});

const basic = (pair: string) => `Basic ${Buffer.from(pair).toString("base64")}`;

/** Every refused form with a configured secret in it, each as a client might send it. */
const REFUSED: Record<string, string> = {
  "Bearer with a secret key": `Bearer ${TEST_KEYS.secretKey}`,
  "Bearer with a secret key, percent-encoded": `Bearer%20${TEST_KEYS.secretKey}`,
  "Basic with the pair swapped": basicAuth(TEST_KEYS.secretKey, TEST_KEYS.publicKey),
  "Basic with the pair swapped, percent-encoded": `Basic%20${Buffer.from(`${TEST_KEYS.secretKey}:${TEST_KEYS.publicKey}`).toString("base64")}`,
  "Basic with a secret in both halves": basicAuth(TEST_KEYS.secretKey, TEST_KEYS.secretKey),
  "Basic with another project's secret": basicAuth(TEST_KEYS.publicKey, OTHER.secretKey),
  "Basic with two secrets": basicAuth(OTHER.secretKey, TEST_KEYS.secretKey),
  "Basic without a colon": basic(TEST_KEYS.secretKey),
  "a secret without a scheme": TEST_KEYS.secretKey,
};

describe("secrets never reach the log", () => {
  it("logs refusals on every endpoint with a fingerprint in place of any presented secret", async () => {
    const otlpJson = toJson(resourceSpans([span()]));
    for (const authorization of Object.values(REFUSED)) {
      const headers = { authorization };
      const answers = await Promise.all([
        fetch(`${stack.daemon.url("otlp")}/v1/traces`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: otlpJson }),
        fetch(`${stack.daemon.url("langfuse")}/api/public/otel/v1/traces`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: otlpJson }),
        fetch(`${stack.daemon.url("langfuse")}/api/public/ingestion`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ batch: [] }) }),
      ]);
      for (const answer of answers) {
        await answer.arrayBuffer();
        expect([401, 403]).toContain(answer.status);
      }
      expect((await exportOverGrpc(stack.daemon.url("otlp", "grpc"), toProtobuf(resourceSpans([span()])), { authorization })).code).not.toBe(0);
    }

    const log = lines.join("");
    for (const secret of SECRETS) {
      expect(log).not.toContain(secret);
      // Nor in the encodings they were sent in.
      expect(log).not.toContain(Buffer.from(secret).toString("base64").slice(0, 12));
    }
    for (const form of Object.values(REFUSED)) expect(log).not.toContain(form);

    // Not vacuous: the refusals were logged, saying what was wrong without the secret.
    const refusals = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === "request refused: credentials not accepted");
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.some((entry) => String(entry.presentedKey).startsWith("a secret key, sha256 "))).toBe(true);
    // A configured public key with another project's secret is named: it identifies the client.
    expect(refusals.some((entry) => entry.publicKey === TEST_KEYS.publicKey)).toBe(true);
  });
});
