import { spawn, type ChildProcess } from "node:child_process";
import { afterAll } from "vitest";
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { TEST_KEYS } from "./daemon.js";
import { freePort, waitFor } from "./redis-server.js";

const CLI = resolve(import.meta.dirname, "../../dist/src/cli.js");

/** The daemon as users run it: `node dist/src/cli.js run --config <file>` in its own process. */
/**
 * Every daemon a test started, so a failed test cannot leave one running: they are killed when
 * the test file ends (a failed assertion skips the test's own stop) and when the process exits.
 */
const running = new Set<ChildProcess>();
function killRunning(): void {
  for (const child of running) {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }
  running.clear();
}
process.once("exit", killRunning);
afterAll(killRunning);

export class DaemonProcess {
  #child: ChildProcess | undefined;
  output = "";

  constructor(
    private readonly configFile: string,
    private readonly env: Record<string, string> = {},
  ) {}

  async start(): Promise<void> {
    const child = this.launch();
    await waitFor(() => this.output.includes('"msg":"daemon started"') || child.exitCode !== null, 20_000, "the daemon to start");
    if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}:\n${this.output}`);
  }

  /** Spawns the daemon without waiting for it to start. */
  launch(): ChildProcess {
    this.output = "";
    // Its own process group, so SIGKILL can take the primary and its workers at once, as a
    // container kill or an OOM kill of the pod would.
    const child = spawn(process.execPath, [CLI, "run", "--config", this.configFile], {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      env: { ...process.env, ...this.env },
    });
    this.#child = child;
    running.add(child);
    child.once("exit", () => running.delete(child));
    child.stdout!.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    return child;
  }

  /** The main process's id, while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Sends a signal without waiting (SIGHUP: reload). */
  signal(signal: NodeJS.Signals): void {
    this.#child?.kill(signal);
  }

  /** The first listening address of a receiver, from the "daemon started" log line. */
  address(scheme: "http" | "grpc" = "http"): string {
    return new RegExp(`"${scheme}://(127\\.0\\.0\\.1:\\d+)"`).exec(this.output)![1]!;
  }

  /**
   * Sends a signal and resolves with the exit code (null when killed by the signal). SIGTERM goes
   * to the daemon's main process, like Kubernetes does; SIGKILL to its whole process group.
   */
  async stop(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolveExit) => child.once("exit", (code) => resolveExit(code)));
    if (signal === "SIGKILL") process.kill(-child.pid!, "SIGKILL");
    else child.kill(signal);
    const code = await exited;
    // Workers of a killed primary must be gone before the next start takes over their spools.
    if (signal === "SIGKILL") await waitFor(() => !isGroupAlive(child.pid!), 10_000, "the killed workers to exit");
    return code;
  }
}

function isGroupAlive(groupId: number): boolean {
  try {
    process.kill(-groupId, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes the config of a daemon process with one events pipeline: OTLP/HTTP on a free port,
 * [validate, auth, group], then the blob exporter given (`blob`, its YAML block) and bullmq on
 * the local Redis under `keyPrefix`. `service` holds further lines of the service section
 * (workers, spool, telemetry), indented by two spaces. Returns the client URL.
 */
export async function writeEventsProcessConfig(file: string, options: { blob: { id: string; yaml: string }; keyPrefix: string; service: string }): Promise<string> {
  const port = await freePort();
  await writeFile(
    file,
    `receivers:
  otlp: { http: { endpoint: 127.0.0.1:${port} } }
processors:
  validate: {}
  auth: { keys: [{ public_key: ${TEST_KEYS.publicKey}, secret_key: ${TEST_KEYS.secretKey}, project_id: ${TEST_KEYS.projectId} }] }
  group: {}
exporters:
${options.blob.yaml}  bullmq: { redis: { url: redis://127.0.0.1:6379, key_prefix: ${options.keyPrefix} } }
service:
${options.service}  pipelines:
    events: { receivers: [otlp], processors: [validate, auth, group], exporters: [${options.blob.id}, bullmq] }
`,
  );
  return `http://127.0.0.1:${port}`;
}
