import { mkdir, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { OverloadedError, RetryableError } from "../pipeline/errors.js";
import type { NamedExporter } from "../pipeline/exporter-chain.js";
import { DeadLetters } from "./dead-letters.js";
import { Dispatcher, type BatchPolicy, type RetryPolicy, type SpoolEntry } from "./dispatcher.js";
import { encodeRecord, type SpoolRecord } from "./record-codec.js";
import { SegmentLog } from "./segment-log.js";
import { releaseBodies } from "../pipeline/export.js";
import { slicesOf } from "../pipeline/concurrency.js";
import { nextTurn } from "../pipeline/pacing.js";
import { metrics } from "../telemetry/metrics.js";

/** Most groups in one spool record; larger requests are stored as several records. */
export const GROUPS_PER_RECORD = 1000;

export interface SpoolOptions {
  directory: string;
  maxBytes: number;
  segmentBytes: number;
  fsync: boolean;
  exportConcurrency: number;
  /** In-memory copies of records waiting for export, so the common case never reads the disk. */
  memoryWindowBytes: number;
  retry: RetryPolicy;
  /** Retry-After for clients while the spool is full. */
  retryAfterMs: number;
  /** From the `batch` processor: merge records into shared exports. */
  batch?: BatchPolicy;
  /** The pipeline id, for metric labels. */
  pipeline?: string;
}

/**
 * The durable queue between a pipeline's processors and its exporters. A request is acknowledged
 * once its groups are in the spool (written and fsynced); the dispatcher then exports them, with
 * retries, in the background. On restart, whatever was not acknowledged is exported first.
 */
export class Spool {
  readonly #options: SpoolOptions;
  readonly #log: SegmentLog;
  readonly #dispatcher: Dispatcher;
  readonly #logger: Logger;
  readonly deadLetters: DeadLetters;
  #inMemoryBytes = 0;
  #gaugeTimer: NodeJS.Timeout | undefined;

  private constructor(options: SpoolOptions, log: SegmentLog, exporters: readonly NamedExporter[], logger: Logger) {
    this.#options = options;
    this.#log = log;
    this.#logger = logger;
    this.deadLetters = new DeadLetters(join(options.directory, "dead-letter"));
    this.#dispatcher = new Dispatcher({
      log,
      exporters,
      deadLetters: this.deadLetters,
      concurrency: options.exportConcurrency,
      retry: options.retry,
      logger,
      batch: options.batch,
      pipeline: options.pipeline ?? "",
      onTaken: (entry) => {
        if (entry.record) this.#inMemoryBytes -= entry.location.length;
      },
    });
  }

  /** Takes the directory's lock, recovers unacknowledged records and queues them for export. */
  static async open(options: SpoolOptions, exporters: readonly NamedExporter[], logger: Logger): Promise<Spool> {
    await takeLock(options.directory);
    const { log, recovered } = await SegmentLog.open({ directory: options.directory, segmentBytes: options.segmentBytes, fsync: options.fsync });
    for (const problem of recovered.corruption) {
      logger.error(problem, "damaged spool data skipped (records before and after it are kept)");
    }
    if (recovered.pending.length > 0) {
      logger.info({ records: recovered.pending.length, bytes: log.pendingBytes }, "spool holds records from before the restart; exporting them first");
    }
    const spool = new Spool(options, log, exporters, logger);
    for (const location of recovered.pending) spool.#dispatcher.enqueue({ location });
    return spool;
  }

  get pendingBytes(): number {
    return this.#log.pendingBytes;
  }

  get backlog(): number {
    return this.#dispatcher.backlog;
  }

  get stats() {
    return this.#dispatcher.stats;
  }

  /** Whether the spool is at its size budget (no side effects: readiness asks this). */
  fullReason(): string | undefined {
    return this.#log.pendingBytes >= this.#options.maxBytes
      ? `the spool is full (${this.#log.pendingBytes} of ${this.#options.maxBytes} bytes waiting for export)`
      : undefined;
  }

  /** Refuses new data while the spool is at its size budget. Cheap: called on every request. */
  admit(): void {
    const full = this.fullReason();
    if (full === undefined) return;
    metrics.refusals.inc({ reason: "spool_full" });
    throw new OverloadedError(full, this.#options.retryAfterMs);
  }

  /**
   * Resolves once the request's groups are durable in the spool; the export happens later. A
   * request of more than GROUPS_PER_RECORD groups is stored as several records, encoded one at a
   * time with a turn of the event loop between them: every later step (checksum, read-back,
   * decoding, export, acknowledgement) then works on a bounded slice, and the dispatcher exports
   * the slices like any other records, a few at a time.
   */
  async append(record: SpoolRecord): Promise<void> {
    if (record.groups.length === 0) return;
    this.admit();
    if (record.groups.length <= GROUPS_PER_RECORD) return this.#appendRecord(record);
    const appended: Array<Promise<void>> = [];
    let failed = false;
    for (const groups of slicesOf(record.groups, GROUPS_PER_RECORD)) {
      const append = this.#appendRecord({ context: record.context, groups });
      // Settled below; noted now so a failure stops the slices after it.
      append.catch(() => (failed = true));
      appended.push(append);
      await nextTurn();
      if (failed) break;
    }
    // Answered only when all of them are durable. A failure or a crash before that may leave some
    // slices stored of a request that the client sends again: at-least-once, as for any request
    // whose answer was lost.
    await Promise.all(appended);
  }

  async #appendRecord(record: SpoolRecord): Promise<void> {
    const parts = encodeRecord(record);
    let location;
    try {
      location = await this.#log.append(parts);
    } catch (error) {
      throw new RetryableError(`the spool could not store the request: ${(error as Error).message}`, this.#options.retryAfterMs, { cause: error });
    }
    const keepInMemory = this.#inMemoryBytes + location.length <= this.#options.memoryWindowBytes;
    const entry: SpoolEntry = { location, appendedAt: Date.now(), events: record.groups.reduce((total, group) => total + group.eventCount, 0) };
    if (keepInMemory) {
      entry.record = record;
      this.#inMemoryBytes += location.length;
    } else {
      // Written and synced: the export reads the record back from disk.
      releaseBodies(record.groups);
    }
    this.#dispatcher.enqueue(entry);
  }

  start(): void {
    this.#dispatcher.start();
    const pipeline = this.#options.pipeline ?? "";
    const update = () => {
      metrics.spoolBytes.set({ pipeline }, this.#log.pendingBytes);
      metrics.spoolRecords.set({ pipeline }, this.#dispatcher.backlog);
      metrics.spoolOldestAge.set({ pipeline }, this.#dispatcher.oldestAgeSeconds());
    };
    update();
    this.#gaugeTimer = setInterval(update, 1000);
    this.#gaugeTimer.unref();
  }

  /** Resolves when everything spooled so far is exported (or dead-lettered). */
  idle(): Promise<void> {
    return this.#dispatcher.idle();
  }

  /**
   * Exports what it can until `deadline` (epoch ms), then stops; what is left stays on disk for
   * the next start.
   */
  async shutdown(deadline: number): Promise<void> {
    const remaining = deadline - Date.now();
    this.#dispatcher.flushNow();
    if (remaining > 0 && this.#dispatcher.backlog > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#dispatcher.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, remaining)))]);
      clearTimeout(timer);
    }
    await this.#dispatcher.stop();
    if (this.#gaugeTimer) clearInterval(this.#gaugeTimer);
    await this.#log.close();
    if (this.#log.pendingBytes > 0) {
      this.#logger.warn({ bytes: this.#log.pendingBytes, records: this.#dispatcher.backlog }, "stopping with records still in the spool; they are exported at the next start");
    }
    await releaseLock(this.#options.directory);
  }
}

/** One daemon per spool directory: two writers would corrupt each other's segments. */
async function takeLock(directory: string): Promise<void> {
  await mkdir(directory, { recursive: true });
  const path = join(directory, "lock");
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number((await readFile(path, "utf8").catch(() => "")).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new Error(`spool directory ${directory} is in use by process ${owner}`);
      }
      // Left behind by a process that died (SIGKILL, OOM): take it over.
      await rm(path, { force: true });
    }
  }
  throw new Error(`could not lock spool directory ${directory}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function releaseLock(directory: string): Promise<void> {
  await rm(join(directory, "lock"), { force: true });
}
