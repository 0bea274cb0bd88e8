/**
 * The bench's view of the Redis the daemon uses: queue depth under the run's key prefix,
 * `INFO commandstats` totals (minus the bench's own commands), and removal of every key the run
 * created.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { procAvailable } from "./procs.js";

export interface CommandStats {
  /** Sum of `calls` over all commands (Redis counts commands run inside Lua scripts too). */
  total: number;
  byCommand: Map<string, number>;
}

export class BenchRedis {
  readonly client: Redis;
  /** Commands this client sent, by name; subtracted from the server's counts. */
  readonly #ownByCommand = new Map<string, number>();

  #count(command: string, calls = 1): void {
    this.#ownByCommand.set(command, (this.#ownByCommand.get(command) ?? 0) + calls);
  }

  constructor(url: string) {
    this.client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
    this.client.on("error", () => {});
  }

  async connect(): Promise<void> {
    await this.client.connect();
    this.#count("info"); // ioredis' ready check
  }

  /** A snapshot of the bench's own command counts, to subtract from a server-side delta. */
  ownSnapshot(): Map<string, number> {
    return new Map(this.#ownByCommand);
  }

  /** The server's process id when it runs on this machine (for its CPU time), else undefined. */
  async serverPid(): Promise<number | undefined> {
    const text = await this.client.info("server");
    this.#count("info");
    const pid = Number(/^process_id:(\d+)/m.exec(text)?.[1]);
    return Number.isInteger(pid) && procAvailable(pid) ? pid : undefined;
  }

  async commandStats(): Promise<CommandStats> {
    const text = await this.client.info("commandstats");
    this.#count("info");
    const byCommand = new Map<string, number>();
    let total = 0;
    for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      const calls = Number(match[2]);
      byCommand.set(match[1]!, calls);
      total += calls;
    }
    return { total, byCommand };
  }

  /** Jobs on `<prefix>:ingestion-queue`: `wait` list (OTLP jobs have delay 0) plus the delayed set. */
  async queuedJobs(keyPrefix: string, queue = "ingestion-queue"): Promise<number> {
    const [[, waiting], [, delayed]] = (await this.client
      .pipeline()
      .llen(`${keyPrefix}:${queue}:wait`)
      .zcard(`${keyPrefix}:${queue}:delayed`)
      .exec()) as [[null, number], [null, number]];
    this.#count("llen");
    this.#count("zcard");
    return waiting + delayed;
  }

  /** Deletes every key starting with the prefix (queue keys and seen-trace marks). */
  async deletePrefix(keyPrefix: string): Promise<number> {
    let deleted = 0;
    let cursor = "0";
    do {
      const [next, keys] = await this.client.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 5000);
      this.#count("scan");
      cursor = next;
      if (keys.length > 0) {
        deleted += await this.client.unlink(...keys);
        this.#count("unlink");
      }
    } while (cursor !== "0");
    return deleted;
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** A key prefix no other run or test uses: `lor-bench-<hex>`. */
export function uniquePrefix(label: string): string {
  return `lor-bench-${label}-${randomBytes(4).toString("hex")}`;
}

/**
 * Commands a client sends itself. BullMQ enqueues with EVALSHA; the seen-trace marks are SET/DEL.
 * Every other command in the daemon's delta ran inside BullMQ's Lua scripts (Redis counts those
 * in commandstats too).
 */
const SENT_COMMANDS = new Set(["evalsha", "eval", "evalsha_ro", "eval_ro", "fcall", "set", "del", "unlink", "multi", "exec", "info", "client", "ping", "select", "hello", "script", "auth"]);

export interface CommandDelta {
  /** Every call the server counted, including those inside Lua scripts. */
  total: number;
  /** Commands clients sent (see SENT_COMMANDS); the rest ran inside scripts. */
  sent: number;
  byCommand: Map<string, number>;
}

/** Server-side calls between two snapshots, per command, minus what the bench itself sent in between. */
export function commandDelta(before: CommandStats, after: CommandStats, ownBefore: Map<string, number>, ownAfter: Map<string, number>): CommandDelta {
  const byCommand = new Map<string, number>();
  for (const [command, calls] of after.byCommand) {
    const own = (ownAfter.get(command) ?? 0) - (ownBefore.get(command) ?? 0);
    const delta = calls - (before.byCommand.get(command) ?? 0) - own;
    if (delta > 0) byCommand.set(command, delta);
  }
  let total = 0;
  let sent = 0;
  for (const [command, calls] of byCommand) {
    total += calls;
    if (SENT_COMMANDS.has(command)) sent += calls;
  }
  return { total, sent, byCommand };
}
