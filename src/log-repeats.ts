import { symbols, type LogFn, type Logger } from "pino";

/**
 * Keeps one input from flooding the log. A warning or error whose message was already logged by
 * the same logger (same bindings) within the window is only counted; when the window ends, one
 * line says how many repeats there were. A message nobody repeats costs one map entry for one
 * window. Debug and info lines (per-request logs) and fatal ones are never held back.
 */
export interface RepeatFilterOptions {
  /** How long after a line the same line is only counted. */
  windowMs?: number;
  /** Distinct lines tracked at once; to make room, the oldest is let go (its count logged first). */
  maxTracked?: number;
}

export const REPEAT_WINDOW_MS = 10_000;
const MAX_TRACKED = 1000;
const WARN = 40;
const FATAL = 60;

interface Tracked {
  logger: Logger;
  /** pino's own method for the level: writing through it skips the hook. */
  method: LogFn;
  message: string;
  until: number;
  repeated: number;
}

/** The message of a pino call: `(message)`, `(object, message, ...)`, or an error's own message. */
function messageOf(args: readonly unknown[]): string | undefined {
  const [first, second] = args;
  if (typeof first === "string") return first;
  if (typeof second === "string") return second;
  return first instanceof Error ? first.message : undefined;
}

export class RepeatedLogFilter {
  readonly #windowMs: number;
  readonly #maxTracked: number;
  /** In order of their window's end: each entry is (re)inserted when its window starts. */
  readonly #tracked = new Map<string, Tracked>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: RepeatFilterOptions = {}) {
    this.#windowMs = options.windowMs ?? REPEAT_WINDOW_MS;
    this.#maxTracked = Math.max(1, options.maxTracked ?? MAX_TRACKED);
  }

  /** Distinct lines being counted now. */
  get tracked(): number {
    return this.#tracked.size;
  }

  /** pino's `hooks.logMethod`; child loggers inherit it. */
  hook(): (this: Logger, args: Parameters<LogFn>, method: LogFn, level: number) => void {
    const filter = this;
    return function (this: Logger, args, method, level) {
      if (filter.#admit(this, args, method, level)) method.apply(this, args);
    };
  }

  #admit(logger: Logger, args: readonly unknown[], method: LogFn, level: number): boolean {
    if (level < WARN || level >= FATAL) return true;
    const message = messageOf(args);
    if (message === undefined) return true;
    const bindings = (logger as unknown as Record<symbol, string | undefined>)[symbols.chindingsSym] ?? "";
    const key = `${level}\u0000${bindings}\u0000${message}`;
    const now = Date.now();
    const tracked = this.#tracked.get(key);
    if (tracked !== undefined && tracked.until > now) {
      tracked.repeated += 1;
      return false;
    }
    if (tracked !== undefined) this.#release(key, tracked);
    if (this.#tracked.size >= this.#maxTracked) {
      const [oldestKey, oldest] = this.#tracked.entries().next().value!;
      this.#release(oldestKey, oldest);
    }
    this.#tracked.set(key, { logger, method, message, until: now + this.#windowMs, repeated: 0 });
    this.#schedule();
    return true;
  }

  #release(key: string, tracked: Tracked): void {
    this.#tracked.delete(key);
    if (tracked.repeated === 0) return;
    const seconds = this.#windowMs / 1000;
    const times = tracked.repeated === 1 ? "time" : "times";
    tracked.method.call(tracked.logger, { repeated: tracked.repeated, windowSeconds: seconds }, `${tracked.message} (repeated ${tracked.repeated} more ${times} within ${seconds} s)`);
  }

  /** Logs the count of every window that has ended, and forgets those lines. */
  sweep(now: number = Date.now()): void {
    for (const [key, tracked] of this.#tracked) {
      if (tracked.until > now) break;
      this.#release(key, tracked);
    }
    this.#schedule();
  }

  /** Logs every count now, windows ended or not (before the process exits). */
  flush(): void {
    for (const [key, tracked] of this.#tracked) this.#release(key, tracked);
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    const first = this.#tracked.values().next().value;
    if (first === undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.sweep();
    }, Math.max(0, first.until - Date.now()));
    // Counting must never keep the process alive.
    this.#timer.unref();
  }
}
