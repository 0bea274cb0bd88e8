import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { Redis, type RedisOptions } from "ioredis";

/** A free TCP port on 127.0.0.1, picked by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns true; fails after `timeoutMs`. A condition wait, not a sleep. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 15_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A readiness probe: connects once with `options` and runs `check` (default PING). Any failure
 * counts as "not yet".
 */
export function answers(options: RedisOptions, check: (client: Redis) => Promise<boolean> = async (client) => (await client.ping()) === "PONG") {
  return async (): Promise<boolean> => {
    const client = new Redis({ ...options, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => {});
    try {
      await client.connect();
      return await check(client);
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  };
}

/** A private redis-server on its own port, which a test can stop and start again. */
export class RedisServerProcess {
  #process: ChildProcess | undefined;

  /**
   * `args` replace the default listening arguments (for TLS or sentinel mode); `ready` says when
   * the server answers (default: a plain PING on `port`).
   */
  constructor(
    readonly port: number,
    private readonly options: { args?: string[]; ready?: () => Promise<boolean> } = {},
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = this.options.args ?? ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"];
    this.#process = spawn("redis-server", args, { stdio: "ignore" });
    await waitFor(
      this.options.ready ?? answers({ host: "127.0.0.1", port: this.port }),
      10_000,
      `redis-server on port ${this.port}`,
    );
  }

  async stop(): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    this.#process = undefined;
  }
}
