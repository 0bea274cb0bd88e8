import type { Logger } from "pino";
import { isPermanentFailure, runExporterChain, type ChainFailure, type NamedExporter } from "../pipeline/exporter-chain.js";
import type { DeadLetters } from "./dead-letters.js";
import { decodeRecord, type SpoolRecord } from "./record-codec.js";
import type { RecordLocation, SegmentLog } from "./segment-log.js";

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
  readonly #idleWaiters: Array<() => void> = [];
  readonly #sleepers = new Set<() => void>();
  readonly stats: DispatcherStats = { exported: 0, retries: 0, deadLettered: 0 };

  constructor(options: DispatcherOptions) {
    this.#options = options;
  }

  get backlog(): number {
    return this.#queue.length + this.#active;
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

  /** Stops taking records and cuts retry waits short; in-flight attempts finish. Unexported records stay in the log. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const wake of this.#sleepers) wake();
    while (this.#active > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  #pump(): void {
    while (this.#running && !this.#stopping && this.#active < this.#options.concurrency && this.#queue.length > 0) {
      const entry = this.#queue.shift()!;
      this.#active += 1;
      this.#process(entry)
        .catch((error: unknown) => this.#options.logger.error({ err: error }, "spool dispatch failed unexpectedly"))
        .finally(() => {
          this.#active -= 1;
          this.#pump();
          if (this.backlog === 0 || this.#active === 0) {
            const waiters = this.#idleWaiters.splice(0);
            for (const wake of waiters) wake();
          }
        });
    }
  }

  async #process(entry: SpoolEntry): Promise<void> {
    const { log, exporters, deadLetters, retry, logger } = this.#options;
    let record: SpoolRecord;
    try {
      record = entry.record ?? decodeRecord(await log.read(entry.location));
    } catch (error) {
      // Checked when written and when recovered; only disk damage since then gets here.
      logger.error({ err: error, segment: entry.location.segment, offset: entry.location.offset }, "unreadable spool record skipped");
      log.acknowledge(entry.location);
      return;
    }
    this.#options.onTaken?.(entry);
    entry.record = undefined;
    let groups = record.groups;
    const startedAt = Date.now();
    for (let attempt = 0; ; attempt += 1) {
      for (const group of groups) group.blob = undefined;
      const failures = await runExporterChain({ context: record.context, groups }, exporters);
      const permanent = failures.filter(isPermanentFailure);
      const retryable = failures.filter((failure) => !isPermanentFailure(failure));
      if (permanent.length > 0) await this.#deadLetter(record, permanent);
      this.stats.exported += groups.length - failures.length;
      if (retryable.length === 0) {
        log.acknowledge(entry.location);
        return;
      }
      if (this.#stopping) return; // left in the spool for the next start
      const elapsed = Date.now() - startedAt;
      if (retry.maxElapsedMs > 0 && elapsed >= retry.maxElapsedMs) {
        const reason = `gave up after ${Math.round(elapsed / 1000)} s of retries`;
        await this.#deadLetter(
          record,
          retryable.map((failure) => ({ ...failure, error: new Error(`${reason}: ${failure.error.message}`) })),
        );
        log.acknowledge(entry.location);
        return;
      }
      groups = retryable.map((failure) => failure.group);
      this.stats.retries += 1;
      const delay = backoffDelay(retry, attempt);
      if (attempt === 0 || attempt % 10 === 0) {
        logger.warn({ groups: groups.length, attempt: attempt + 1, retryInMs: delay, reason: retryable[0]!.error.message }, "export failed; will retry from the spool");
      }
      await this.#sleep(delay);
      if (this.#stopping) return;
    }
  }

  async #deadLetter(record: SpoolRecord, failures: readonly ChainFailure[]): Promise<void> {
    const name = await this.#options.deadLetters.write(record.context, failures);
    this.stats.deadLettered += failures.length;
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

/** Exponential backoff with ±50 % jitter, so many records do not retry in lockstep. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxIntervalMs, policy.initialIntervalMs * policy.multiplier ** attempt);
  return Math.round(base * (0.5 + random()));
}
