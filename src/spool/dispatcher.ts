import type { Logger } from "pino";
import { isPermanentFailure, runExporterChain, type ChainFailure, type NamedExporter } from "../pipeline/exporter-chain.js";
import type { DeadLetters } from "./dead-letters.js";
import { mergeRecords } from "./merge.js";
import { releaseBodies } from "../pipeline/export.js";
import { forEachBounded } from "../pipeline/concurrency.js";
import { metrics } from "../telemetry/metrics.js";
import { decodeRecord, type ExportContext, type SpoolRecord } from "./record-codec.js";
import type { RecordLocation, SegmentLog } from "./segment-log.js";

/** Spooled records read back from disk at once (each read opens its segment file). */
const READ_CONCURRENCY = 8;

export interface RetryPolicy {
  initialIntervalMs: number;
  maxIntervalMs: number;
  multiplier: number;
  /** Give up and dead-letter after this long; 0 retries for as long as the spool holds the data. */
  maxElapsedMs: number;
}

export interface SpoolEntry {
  location: RecordLocation;
  /** Kept in memory for records appended by this process while the memory window allows. */
  record?: SpoolRecord;
  /** Events in the record, when known (records appended by this process). */
  events?: number;
  /** When it was appended (ms); records recovered from disk have none and are exported at once. */
  appendedAt?: number;
}

/** The `batch` processor's settings: how many events to gather, and how long to wait for them. */
export interface BatchPolicy {
  flushAtEvents: number;
  flushIntervalMs: number;
}

export interface DispatcherOptions {
  log: SegmentLog;
  exporters: readonly NamedExporter[];
  deadLetters: DeadLetters;
  concurrency: number;
  retry: RetryPolicy;
  logger: Logger;
  /** Called when a record is taken for export (the spool frees its in-memory copy then). */
  onTaken?: (entry: SpoolEntry) => void;
  /** Merge records into shared exports; without it each record is exported on its own. */
  batch?: BatchPolicy;
  /** Metric label. */
  pipeline?: string;
}

export interface DispatcherStats {
  exported: number;
  retries: number;
  deadLettered: number;
}

/**
 * Exports spooled records oldest first, a few at a time. Retryable failures are retried with
 * exponential backoff and jitter, for the failed groups only; permanent ones go to the dead
 * letters. A record is acknowledged in the log only once each of its groups is exported or
 * dead-lettered, so a crash at any point leaves it in the spool to be exported again.
 */
export class Dispatcher {
  readonly #options: DispatcherOptions;
  readonly #queue: SpoolEntry[] = [];
  #active = 0;
  #running = false;
  #stopping = false;
  /** Woken when nothing is queued or in flight. */
  readonly #idleWaiters: Array<() => void> = [];
  /** Woken when nothing is in flight (records may still wait in the queue). */
  readonly #quietWaiters: Array<() => void> = [];
  readonly #sleepers = new Set<() => void>();
  #flushTimer: NodeJS.Timeout | undefined;
  /** Set while draining for shutdown: batches go out without waiting for their interval. */
  #flushNow = false;
  readonly stats: DispatcherStats = { exported: 0, retries: 0, deadLettered: 0 };

  constructor(options: DispatcherOptions) {
    this.#options = options;
  }

  get backlog(): number {
    return this.#queue.length + this.#active;
  }

  /** Age of the oldest queued record appended by this process (0 when none is waiting). */
  oldestAgeSeconds(): number {
    const appendedAt = this.#queue[0]?.appendedAt;
    return appendedAt === undefined ? 0 : (Date.now() - appendedAt) / 1000;
  }

  enqueue(entry: SpoolEntry): void {
    this.#queue.push(entry);
    this.#pump();
  }

  start(): void {
    this.#running = true;
    this.#pump();
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.backlog === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Exports queued records without waiting for the batch interval (shutdown drain). */
  flushNow(): void {
    this.#flushNow = true;
    this.#pump();
  }

  /** Stops taking records and cuts retry waits short; in-flight attempts finish. Unexported records stay in the log. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    for (const wake of this.#sleepers) wake();
    while (this.#active > 0) await new Promise<void>((resolve) => this.#quietWaiters.push(resolve));
  }

  /**
   * The next records to export together: one without batching; with batching, up to the flush
   * size once it is reached or the oldest record has waited the flush interval. Undefined when
   * the batch should wait.
   */
  #takeBatch(): SpoolEntry[] | undefined {
    const batch = this.#options.batch;
    const first = this.#queue[0]!;
    if (!batch || first.appendedAt === undefined || first.events === undefined) return [this.#queue.shift()!];
    let events = 0;
    let count = 0;
    for (const entry of this.#queue) {
      if (entry.events === undefined || (count > 0 && events + entry.events > batch.flushAtEvents)) break;
      events += entry.events;
      count += 1;
      if (events >= batch.flushAtEvents) break;
    }
    const waited = Date.now() - first.appendedAt;
    const full = events >= batch.flushAtEvents || count < this.#queue.length;
    if (!full && !this.#flushNow && waited < batch.flushIntervalMs) {
      this.#flushTimer ??= setTimeout(() => {
        this.#flushTimer = undefined;
        this.#pump();
      }, batch.flushIntervalMs - waited);
      return undefined;
    }
    return this.#queue.splice(0, Math.max(1, count));
  }

  #pump(): void {
    while (this.#running && !this.#stopping && this.#active < this.#options.concurrency && this.#queue.length > 0) {
      const entries = this.#takeBatch();
      if (entries === undefined) return;
      this.#active += 1;
      this.#process(entries)
        .catch((error: unknown) => this.#options.logger.error({ err: error }, "spool dispatch failed unexpectedly"))
        .finally(() => {
          this.#active -= 1;
          this.#pump();
          if (this.#active === 0) for (const wake of this.#quietWaiters.splice(0)) wake();
          if (this.backlog === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
        });
    }
  }

  async #read(entry: SpoolEntry): Promise<SpoolRecord | undefined> {
    const { log, logger } = this.#options;
    try {
      const record = entry.record ?? decodeRecord(await log.read(entry.location));
      this.#options.onTaken?.(entry);
      entry.record = undefined;
      return record;
    } catch (error) {
      // Checked when written and when recovered; only disk damage since then gets here.
      logger.error({ err: error, segment: entry.location.segment, offset: entry.location.offset }, "unreadable spool record skipped");
      log.acknowledge(entry.location);
      return undefined;
    }
  }

  /**
   * Exports records (merged when batching) until every group is exported or dead-lettered, then
   * acknowledges them all. Stopping leaves them unacknowledged: the next start exports them again.
   */
  async #process(entries: SpoolEntry[]): Promise<void> {
    const { log, exporters, retry, logger } = this.#options;
    const read: Array<SpoolRecord | undefined> = [];
    // A batch may take thousands of small records; those read back from disk open their segment each.
    await forEachBounded([...entries.keys()], READ_CONCURRENCY, async (index) => {
      read[index] = await this.#read(entries[index]!);
    });
    const live = entries.filter((_, index) => read[index] !== undefined);
    const records = read.filter((record): record is SpoolRecord => record !== undefined);
    let parts = mergeRecords(records);
    const startedAt = Date.now();
    for (let attempt = 0; ; attempt += 1) {
      const outcomes = await Promise.all(
        parts.map(async (part) => {
          for (const group of part.groups) group.blob = undefined;
          const failures = await runExporterChain({ context: part.context, groups: part.groups }, exporters);
          const permanent = failures.filter(isPermanentFailure);
          if (permanent.length > 0) await this.#deadLetter(part.context, permanent);
          this.stats.exported += part.groups.length - failures.length;
          return { part, retryable: failures.filter((failure) => !isPermanentFailure(failure)) };
        }),
      );
      const pending = outcomes.filter((outcome) => outcome.retryable.length > 0);
      if (pending.length === 0) {
        for (const entry of live) log.acknowledge(entry.location);
        releaseRecords(records);
        return;
      }
      if (this.#stopping) return; // left in the spool for the next start
      const elapsed = Date.now() - startedAt;
      if (retry.maxElapsedMs > 0 && elapsed >= retry.maxElapsedMs) {
        const reason = `gave up after ${Math.round(elapsed / 1000)} s of retries`;
        for (const { part, retryable } of pending) {
          await this.#deadLetter(
            part.context,
            retryable.map((failure) => ({ ...failure, error: new Error(`${reason}: ${failure.error.message}`) })),
          );
        }
        for (const entry of live) log.acknowledge(entry.location);
        releaseRecords(records);
        return;
      }
      parts = pending.map(({ part, retryable }) => ({ context: part.context, groups: retryable.map((failure) => failure.group) }));
      const groups = parts.flatMap((part) => part.groups);
      const retryable = pending.flatMap((outcome) => outcome.retryable);
      this.stats.retries += 1;
      metrics.spoolRetries.inc({ pipeline: this.#options.pipeline ?? "" });
      const delay = backoffDelay(retry, attempt);
      if (attempt === 0 || attempt % 10 === 0) {
        logger.warn({ groups: groups.length, attempt: attempt + 1, retryInMs: delay, reason: retryable[0]!.error.message }, "export failed; will retry from the spool");
      }
      await this.#sleep(delay);
      if (this.#stopping) return;
    }
  }

  async #deadLetter(context: ExportContext, failures: readonly ChainFailure[]): Promise<void> {
    const name = await this.#options.deadLetters.write(context, failures);
    this.stats.deadLettered += failures.length;
    metrics.spoolDeadLetters.inc({ pipeline: this.#options.pipeline ?? "" }, failures.length);
    this.#options.logger.error(
      { groups: failures.length, file: name, reason: failures[0]!.error.message, exporter: failures[0]!.exporter },
      "groups moved to the dead letters",
    );
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }
}

/**
 * Gives the records' pooled bodies back once they are acknowledged: every export attempt and
 * dead-letter write has settled by then. Records read back from disk hold no pooled buffers.
 */
function releaseRecords(records: readonly SpoolRecord[]): void {
  for (const record of records) releaseBodies(record.groups);
}

/** Exponential backoff with ±50 % jitter, so many records do not retry in lockstep. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxIntervalMs, policy.initialIntervalMs * policy.multiplier ** attempt);
  return Math.round(base * (0.5 + random()));
}
