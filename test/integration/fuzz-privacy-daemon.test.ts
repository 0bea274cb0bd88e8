/**
 * The privacy promise on the running daemon (fast-check, fixed seed): requests whose span names,
 * attributes and native event fields hold secrets at random places (test/support/secret-text.ts)
 * go through a daemon with `redact` over real HTTP, on the events path (OTLP and native batches)
 * and on the raw path; no secret may be found in any S3 object, queue job or spool file, as sent
 * or JSON-escaped once or twice. `npm run fuzz` runs it wider (FUZZ_SEED, FUZZ_RUNS).
 */
import fc from "fast-check";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basicAuth } from "../support/daemon.js";
import { toJson, toProtobuf } from "../support/otlp.js";
import { contentText, jsonWithSecrets, SECRET_LIST, textWithSecrets } from "../support/secret-text.js";
import { startStack, type TestStack } from "../support/stack.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20261207);
const RUNS = Math.min(Number(process.env.FUZZ_RUNS ?? 12), 500);

const WITH_REDACT = (yaml: string) => yaml.replace("  sort: {}\n", "  sort: {}\n  redact: {}\n");
const EVENTS = (yaml: string) => WITH_REDACT(yaml).replace("processors: [validate, auth, sort, group]", "processors: [auth, redact, validate, sort, group]");
const RAW = (yaml: string) => {
  const keyPrefix = /key_prefix: (\S+)/.exec(yaml)![1]!;
  return EVENTS(yaml)
    .replace("exporters:\n", `exporters:\n  langfuse_otel:\n    redis: { url: ${process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379"}, key_prefix: ${keyPrefix} }\n`)
    .replace("  pipelines:\n", "  pipelines:\n    otel:\n      receivers: [otlp, langfuse]\n      processors: [auth, redact, validate]\n      exporters: [s3, langfuse_otel]\n");
};

const stacks: Record<"events" | "raw", TestStack> = {} as never;

beforeAll(async () => {
  [stacks.events, stacks.raw] = await Promise.all([startStack({ configure: EVENTS }), startStack({ configure: RAW })]);
});

afterAll(async () => {
  await Promise.all(Object.values(stacks).map((stack) => stack?.stop()));
});

/** Each secret as sent, and JSON-escaped once and twice (JSON held in a text, in stored JSON). */
const FORMS = SECRET_LIST.flatMap((secret) => {
  const once = JSON.stringify(secret).slice(1, -1);
  return [...new Set([secret, once, JSON.stringify(once).slice(1, -1)])].map((form) => [secret, form] as const);
});

function leaksIn(text: string): string[] {
  return FORMS.filter(([, form]) => text.includes(form)).map(([secret]) => secret);
}

/** The files under a folder not read before (each read once: stored objects are never rewritten here). */
async function newFilesUnder(path: string, seen: Set<string>): Promise<string[]> {
  const texts: string[] = [];
  for (const name of await readdir(path).catch(() => [] as string[])) {
    const child = join(path, name);
    const info = await stat(child).catch(() => undefined);
    if (info?.isDirectory()) texts.push(...(await newFilesUnder(child, seen)));
    else if (info && !seen.has(child)) {
      seen.add(child);
      texts.push(await readFile(child, "utf8").catch(() => ""));
    }
  }
  return texts;
}

/**
 * Everything the stack stored since the last call: new files of the S3 store (read on disk, every
 * byte s3rver keeps), every job, and the spool's files as they are now.
 */
async function storedSince(stack: TestStack, seen: Set<string>): Promise<string[]> {
  await stack.exported();
  const objects = await newFilesUnder(stack.s3.directory, seen);
  const jobs = [...(await stack.redis.jobs("ingestion-queue")), ...(await stack.redis.jobs("otel-ingestion-queue"))].map((job) => JSON.stringify(job.data));
  return [...objects, ...jobs, ...(await newFilesUnder(stack.spoolDirectory, new Set()))];
}

const hex = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString("hex"));
const spanWithSecrets = fc.record({
  traceId: hex(16),
  spanId: hex(8),
  name: textWithSecrets,
  startTimeUnixNano: fc.constant("1700000000000000000"),
  endTimeUnixNano: fc.constant("1700000001000000000"),
  attributes: fc.array(fc.record({ key: fc.constantFrom("gen_ai.prompt", "input.value", "ai.prompt.messages", "app.note", "langfuse.observation.input"), value: fc.record({ stringValue: contentText }) }), { minLength: 1, maxLength: 4 }),
  status: fc.record({ code: fc.constant(2), message: textWithSecrets }),
});
const otlpRequest = fc.tuple(fc.array(spanWithSecrets, { minLength: 1, maxLength: 4 }), fc.boolean()).map(([spans, protobuf]) => {
  const data = [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "fuzz" } }] }, scopeSpans: [{ scope: { name: "fuzz", version: "1" }, spans }] }];
  return protobuf ? { type: "application/x-protobuf", body: toProtobuf(data as never) } : { type: "application/json", body: toJson(data as never) };
});
const nativeBatch = fc
  .array(fc.record({ id: hex(8), name: textWithSecrets, input: jsonWithSecrets, output: contentText, metadata: fc.dictionary(fc.constantFrom("note", "ctx", "args"), jsonWithSecrets, { maxKeys: 2 }) }), {
    minLength: 1,
    maxLength: 3,
  })
  .map((bodies) => bodies.map((body, index) => ({ id: `event-${index}`, type: "trace-create", timestamp: "2026-01-01T00:00:00.000Z", body })));

describe("redact in the running daemon", () => {
  for (const path of ["events", "raw"] as const) {
    it(`${path} path: no secret sent over OTLP reaches S3, the queues or the spool`, async () => {
      const stack = stacks[path];
      const seen = new Set<string>();
      await fc.assert(
        fc.asyncProperty(otlpRequest, async ({ type, body }) => {
          const response = await fetch(`${stack.daemon.url("otlp")}/v1/traces`, { method: "POST", headers: { "content-type": type, authorization: basicAuth() }, body });
          expect(response.status).toBe(200);
          for (const text of await storedSince(stack, seen)) expect(leaksIn(text)).toEqual([]);
        }),
        { seed: SEED, numRuns: RUNS },
      );
      expect(seen.size).toBeGreaterThan(0);
    });
  }

  it("events path: no secret sent in a native batch reaches S3, the queues or the spool", async () => {
    const stack = stacks.events;
    const seen = new Set<string>();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(nativeBatch, async (generated) => {
        // Ids of their own per run: a stored object is never rewritten while it is read.
        run += 1;
        const batch = generated.map((event) => ({ ...event, id: `${run}-${event.id}`, body: { ...event.body, id: `${run}-${event.body.id}` } }));
        const response = await fetch(`${stack.daemon.url("langfuse")}/api/public/ingestion`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: basicAuth() },
          body: JSON.stringify({ batch }),
        });
        expect(response.status).toBe(207);
        for (const text of await storedSince(stack, seen)) expect(leaksIn(text)).toEqual([]);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect(seen.size).toBeGreaterThan(0);
  });
});
