import { randomBytes } from "node:crypto";
import type { TestRedis } from "./redis.js";
import type { TestS3 } from "./s3.js";
import { basicAuth } from "./daemon.js";
import { resourceSpans, span, toJson } from "./otlp.js";

/**
 * A load client that knows exactly which spans the daemon acknowledged: it sends OTLP/JSON over
 * real HTTP, one trace per request, and honours Retry-After on 429/503 like an OTLP exporter.
 */
export class AckingClient {
  readonly acked = new Set<string>();
  readonly refusals: Array<{ status: number; retryAfter: string | null }> = [];
  readonly failures: string[] = [];
  #counter = 0;
  readonly #run = randomBytes(4).toString("hex");

  constructor(private readonly url: () => string) {}

  #nextIds(count: number): { traceId: string; spanIds: string[] } {
    this.#counter += 1;
    const base = `${this.#run}${this.#counter.toString(16).padStart(8, "0")}`;
    return {
      traceId: `${base}${"0".repeat(16)}`,
      spanIds: Array.from({ length: count }, (_, index) => `${this.#counter.toString(16).padStart(8, "0")}${index.toString(16).padStart(8, "0")}`),
    };
  }

  /** One request; returns its status (0 when the connection failed). */
  async send(spanCount = 5): Promise<number> {
    const { traceId, spanIds } = this.#nextIds(spanCount);
    const spans = spanIds.map((spanId, index) =>
      span({ traceId, spanId, parentSpanId: index === 0 ? undefined : spanIds[0], name: `op-${index}`, attributes: { "gen_ai.request.model": "m", "input.value": "x".repeat(200) } }),
    );
    try {
      const response = await fetch(`${this.url()}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: basicAuth() },
        body: toJson(resourceSpans(spans)),
      });
      await response.arrayBuffer();
      if (response.status === 200) for (const spanId of spanIds) this.acked.add(spanId);
      else this.refusals.push({ status: response.status, retryAfter: response.headers.get("retry-after") });
      return response.status;
    } catch (error) {
      this.failures.push((error as Error).message);
      return 0;
    }
  }
}

/**
 * What every fault test asserts: each acknowledged span's observation is in the blob store (s3rver
 * or Azurite), and
 * no job points at an object that does not exist.
 */
export async function checkDelivery(s3: Pick<TestS3, "listKeys">, redis: TestRedis, acked: ReadonlySet<string>, projectId: string) {
  const keys = new Set(await s3.listKeys(""));
  const stored = new Set<string>();
  for (const key of keys) {
    const match = new RegExp(`^events/${projectId}/observation/([^/]+)/`).exec(key);
    if (match) stored.add(match[1]!);
  }
  const missing = [...acked].filter((spanId) => !stored.has(spanId));
  const jobs = await redis.jobs();
  const dangling = jobs
    .map((job) => `${job.data.payload.data.bucketPrefix}${job.data.payload.data.fileKey}.json`)
    .filter((key) => !keys.has(key));
  return { missing, dangling, jobs: jobs.length, objects: keys.size };
}

/**
 * A store that throttles, then holds requests without an answer, then recovers (a fault proxy in
 * front of it): 8 requests of 5 spans are sent meanwhile, and each must be acknowledged from the
 * spool. Resolves once the spool has exported everything; the proxy must have refused and held some.
 */
export async function sendThroughThrottlingAndHangs(
  proxy: { setMode(mode: "pass" | "slowdown" | "hang"): void; counts: { slowedDown: number; held: number } },
  client: AckingClient,
  exported: () => Promise<unknown>,
): Promise<{ slowedDown: number; held: number }> {
  proxy.setMode("slowdown");
  for (let i = 0; i < 4; i += 1) if ((await client.send()) !== 200) throw new Error("a request was refused while the store throttled");
  proxy.setMode("hang");
  for (let i = 0; i < 4; i += 1) if ((await client.send()) !== 200) throw new Error("a request was refused while the store hung");
  proxy.setMode("pass");
  await exported();
  return { ...proxy.counts };
}
