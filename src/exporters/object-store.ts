import { durationMs, integer } from "../config/units.js";
import type { ExporterInstance } from "../pipeline/define-exporter.js";
import { ConcurrencyLimiter, forEachBounded } from "../pipeline/concurrency.js";
import { PermanentError, RetryableError } from "../pipeline/errors.js";
import type { ExportFailure, ExportRequest } from "../pipeline/export.js";

/** Settings of every exporter that PUTs objects to a store over HTTP (s3, azure_blob). */
export const objectStoreFields = {
  max_sockets: integer({ min: 1, max: 4096 })
    .default(64)
    .describe("Connections to the store, and PUTs in flight: further PUTs wait unsigned and start as others finish."),
  connect_timeout: durationMs.default(5_000).describe("Longest wait for a connection; past it the PUT counts as a network failure and is retried."),
  request_timeout: durationMs
    .default(30_000)
    .describe("Longest wait for the store's answer to a PUT (or between parts of it); past it the PUT counts as a network failure and is retried."),
  max_attempts: integer({ min: 1, max: 10 }).default(3).describe("Attempts per PUT (with a short backoff) before the group counts as failed for now and the spool retries it."),
  retry_after: durationMs.default(5_000).describe("`Retry-After` sent to clients when the store is unavailable."),
};

export interface ObjectStoreConfig {
  prefix: string;
  max_segment_bytes: number;
  max_sockets: number;
  max_attempts: number;
  retry_after: number;
}

/**
 * What s3 and azure_blob do alike: each group becomes one object under the shared key layout
 * (byte for byte what the other blob exporters write), at most `max_sockets` PUTs at once, each
 * tried `max_attempts` times when the store's failure may pass; what still fails is returned,
 * classified, for the spool to retry or dead-letter. A store supplies its PUT and its errors.
 */
export abstract class ObjectStoreExporter<Config extends ObjectStoreConfig> implements ExporterInstance {
  /**
   * One PUT per connection the store's pool may open: more would only wait in the pool, already
   * signed, and signing them all in one go would hold the event loop.
   */
  readonly #limiter: ConcurrencyLimiter;

  constructor(protected readonly config: Config) {
    this.#limiter = new ConcurrencyLimiter(config.max_sockets);
  }

  abstract start(): Promise<void>;
  abstract shutdown(): Promise<void>;

  /** One PUT of `body` under `key`; rejects with the store's error as it came. */
  protected abstract putObject(key: string, body: Buffer): Promise<void>;

  /** The store's failure as a RetryableError or a PermanentError, with a message that says what to fix. */
  protected abstract classify(error: unknown): RetryableError | PermanentError;

  /** One PUT with the configured attempts; transient failures are retried after 100, 200, 400 ms... */
  async #put(key: string, body: Buffer): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#limiter.run(() => this.putObject(key, body));
        return;
      } catch (error) {
        const classified = this.classify(error);
        if (classified instanceof PermanentError || attempt >= this.config.max_attempts) throw classified;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** (attempt - 1)));
      }
    }
  }

  async exportGroups(request: ExportRequest): Promise<ExportFailure[]> {
    const config = this.config;
    const { projectId } = request.context.scope;
    const failures: ExportFailure[] = [];
    // Groups are taken as PUTs finish: a request of 300,000 groups never waits as 300,000 promises.
    await forEachBounded(request.groups, config.max_sockets, async (group) => {
      const key = group.objectKey(config.prefix, projectId, config.max_segment_bytes);
      try {
        await this.#put(key.objectKey, group.body);
        group.blob = { bucketPrefix: key.bucketPrefix, fileKey: key.fileKey };
      } catch (error) {
        failures.push({ group, error: error instanceof PermanentError || error instanceof RetryableError ? error : this.classify(error) });
      }
    });
    return failures;
  }
}
