/**
 * Process plumbing shared by the benchmark: CPU pinning, TypeScript children with an IPC
 * request/answer channel, /proc readings, and a cleanup registry that runs on success, failure
 * and signals alike.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "..");

// --- cleanup ------------------------------------------------------------------------------------

type Cleanup = { name: string; run: () => Promise<void> | void; done?: Promise<void> };
const cleanups: Cleanup[] = [];
const children = new Set<ChildProcess>();

/** Runs a step once; a second caller (the scenario's own finally and an interrupt) waits for the same run. */
function invoke(entry: Cleanup): Promise<void> {
  entry.done ??= Promise.resolve().then(entry.run);
  return entry.done;
}

/** Registers an undo step; steps run last-registered first. Returns a function that runs it early. */
export function onCleanup(name: string, run: () => Promise<void> | void): () => Promise<void> {
  const entry: Cleanup = { name, run };
  cleanups.push(entry);
  return async () => {
    const index = cleanups.indexOf(entry);
    if (index !== -1) cleanups.splice(index, 1);
    await invoke(entry);
  };
}

export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const entry = cleanups.pop()!;
    try {
      await invoke(entry);
    } catch (error) {
      process.stderr.write(`bench: cleanup "${entry.name}" failed: ${(error as Error).message}\n`);
    }
  }
}

// Last resort if the process exits without running the async cleanups: no child outlives us.
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

// --- CPU pinning --------------------------------------------------------------------------------

const hasTaskset = (() => {
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** `taskset -c <cpu>` when it exists and the machine has that CPU; otherwise unpinned. */
export function pinning(cpu: number): { prefix: string[]; label: string } {
  if (!hasTaskset) return { prefix: [], label: "unpinned (no taskset)" };
  const cpus = Number(execFileSync("nproc", { encoding: "utf8" }).trim());
  if (cpu >= cpus) return { prefix: [], label: `unpinned (${cpus} CPU)` };
  return { prefix: ["taskset", "-c", String(cpu)], label: `taskset -c ${cpu}` };
}

/** Starts `command args` (optionally pinned); tracked so cleanup and exit can kill it. */
export function spawnTracked(prefix: string[], command: string, args: string[], options: Parameters<typeof spawn>[2]): ChildProcess {
  const [head, ...rest] = [...prefix, command, ...args];
  const child = spawn(head!, rest, options);
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

// --- TypeScript children with IPC ---------------------------------------------------------------

export interface Worker {
  child: ChildProcess;
  pid: number;
  /** Sends `{id, ...message}` and resolves with the child's answer of the same id. */
  ask<T>(message: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
  output(): string;
}

/**
 * Runs `bench/<file>` under tsx in its own process (pinned if asked) and waits for its `ready`
 * message. Children answer `{id, result}` or `{id, error}`.
 */
export async function startWorker(file: string, args: string[], cpu: number | undefined): Promise<Worker & { ready: Record<string, unknown> }> {
  const prefix = cpu === undefined ? [] : pinning(cpu).prefix;
  const child = spawnTracked(prefix, process.execPath, ["--import", "tsx", resolve(ROOT, "bench", file), ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const failAll = (error: Error) => {
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };
  child.on("message", (raw) => {
    const message = raw as { id?: number; result?: unknown; error?: string };
    if (message.id === undefined) return;
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error !== undefined) waiter.reject(new Error(`${file}: ${message.error}`));
    else waiter.resolve(message.result);
  });
  child.once("exit", (code, signal) => failAll(new Error(`${file} exited (${signal ?? code}):\n${output}`)));

  const ready = await new Promise<Record<string, unknown>>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${file} did not start within 30 s:\n${output}`)), 30_000);
    child.once("exit", () => {
      clearTimeout(timer);
      fail(new Error(`${file} exited before it was ready:\n${output}`));
    });
    child.on("message", (raw) => {
      const message = raw as { ready?: Record<string, unknown> };
      if (message.ready) {
        clearTimeout(timer);
        done(message.ready);
      }
    });
  });

  const worker: Worker & { ready: Record<string, unknown> } = {
    child,
    pid: child.pid!,
    ready,
    output: () => output,
    ask<T>(message: Record<string, unknown>, timeoutMs = 600_000): Promise<T> {
      const id = nextId++;
      return new Promise<T>((done, fail) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          fail(new Error(`${file}: no answer to ${JSON.stringify(message.cmd)} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            done(value as T);
          },
          reject: (error) => {
            clearTimeout(timer);
            fail(error);
          },
        });
        child.send({ id, ...message });
      });
    },
    async stop() {
      await stopProcess(child, 5_000);
    },
  };
  return worker;
}

/** The child side: answers the parent's `{id, cmd, ...}` messages with `handler`, exits with it. */
export function serveParent(handler: (message: Record<string, unknown>) => Promise<unknown>, ready: Record<string, unknown>): void {
  if (!process.send) throw new Error("this file runs as a child of bench/run.ts");
  process.on("message", (raw) => {
    const message = raw as Record<string, unknown> & { id: number };
    handler(message).then(
      (result) => process.send!({ id: message.id, result }),
      (error: unknown) => process.send!({ id: message.id, error: (error as Error).stack ?? String(error) }),
    );
  });
  // The parent is gone (crashed or killed): do not linger.
  process.on("disconnect", () => process.exit(0));
  process.send({ ready });
}

// --- /proc --------------------------------------------------------------------------------------

export const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** utime + stime of a process, in microseconds. */
export function processCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may contain spaces; fields after it are fixed. utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / CLOCK_TICKS;
}

/** A field of /proc/<pid>/status in bytes (VmHWM, VmRSS). */
export function processMemoryBytes(pid: number, field: "VmHWM" | "VmRSS"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** A process and its descendants, from /proc/<pid>/task/<tid>/children. */
export function processTree(pid: number): number[] {
  const members = [pid];
  for (let index = 0; index < members.length; index += 1) {
    const member = members[index]!;
    try {
      for (const task of readdirSync(`/proc/${member}/task`)) {
        const children = readFileSync(`/proc/${member}/task/${task}/children`, "utf8").trim();
        if (children) members.push(...children.split(/\s+/).map(Number));
      }
    } catch {
      // the process ended meanwhile
    }
  }
  return members;
}

/** Machine-wide CPU time from /proc/stat (all cores), in clock ticks: total and the hypervisor's steal. */
export function machineCpuTicks(): { total: number; steal: number; iowait: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const total = values.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return { total, steal: values[7] ?? 0, iowait: values[4] ?? 0 };
}

export function procAvailable(pid: number): boolean {
  return existsSync(`/proc/${pid}/stat`);
}

// --- misc ---------------------------------------------------------------------------------------

/** A port that was free a moment ago (the daemon binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Wall clock with sub-millisecond resolution, comparable across processes. */
export const wallMs = () => performance.timeOrigin + performance.now();
