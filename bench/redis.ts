/**
 * The bench's view of the Redis the daemon uses: queue depth under the run's key prefix,
 * `INFO commandstats` totals (minus the bench's own commands), and removal of every key the run
 * created.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";

export interface CommandStats {
  /** Sum of `calls` over all commands (Redis counts commands run inside Lua scripts too). */
  total: number;
  byCommand: Map<string, number>;
}

export class BenchRedis {
  readonly client: Redis;
  /** Commands this client sent; subtracted from the server's totals. */
  #own = 0;

  constructor(url: string) {
    this.client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
    this.client.on("error", () => {});
  }

  async connect(): Promise<void> {
    await this.client.connect();
    this.#own += 1; // ioredis' ready check (INFO)
  }

  get ownCommands(): number {
    return this.#own;
  }

  async commandStats(): Promise<CommandStats> {
    const text = await this.client.info("commandstats");
    this.#own += 1;
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
  async queuedJobs(keyPrefix: string): Promise<number> {
    const [[, waiting], [, delayed]] = (await this.client
      .pipeline()
      .llen(`${keyPrefix}:ingestion-queue:wait`)
      .zcard(`${keyPrefix}:ingestion-queue:delayed`)
      .exec()) as [[null, number], [null, number]];
    this.#own += 2;
    return waiting + delayed;
  }

  /** Deletes every key starting with the prefix (queue keys and seen-trace marks). */
  async deletePrefix(keyPrefix: string): Promise<number> {
    let deleted = 0;
    let cursor = "0";
    do {
      const [next, keys] = await this.client.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 5000);
      this.#own += 1;
      cursor = next;
      if (keys.length > 0) {
        deleted += await this.client.unlink(...keys);
        this.#own += 1;
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

/** Server-side calls between two snapshots, per command, minus `ownCalls` of the bench itself. */
export function commandDelta(before: CommandStats, after: CommandStats, ownCalls: number): { total: number; byCommand: Map<string, number> } {
  const byCommand = new Map<string, number>();
  for (const [command, calls] of after.byCommand) {
    const delta = calls - (before.byCommand.get(command) ?? 0);
    if (delta > 0) byCommand.set(command, delta);
  }
  return { total: after.total - before.total - ownCalls, byCommand };
}
