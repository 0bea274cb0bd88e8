/**
 * Summarises a V8 CPU profile of the daemon (from `BENCH_CPU_PROF_DIR=dir npm run bench`):
 * self time grouped by area, then the top functions.
 *
 *   npx tsx bench/profile.ts <file.cpuprofile> [top]
 *
 * Two views: self time by area (Node's HTTP, socket and crypto internals get their own lines), and
 * time by owner: each sample goes to the nearest caller that belongs to a daemon stage (S3 PUT,
 * BullMQ, conversion...). Async hops cut stacks, so some work lands in "unattributed".
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: Array<ProfileNode & { children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

function area(frame: ProfileNode["callFrame"]): string {
  const url = frame.url;
  if (url === "") return frame.functionName === "(idle)" ? "idle" : frame.functionName === "(garbage collector)" ? "garbage collector" : `native ${frame.functionName || "(anonymous)"}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `package ${pkg[1]}`;
  const daemon = /dist\/src\/(.+?)(?:\/[^/]+)?\.js$/.exec(url) ?? /dist\/src\/([^/]+)/.exec(url);
  if (daemon) return `daemon src/${daemon[1]}`;
  if (url.startsWith("node:")) return `node ${url.slice(5).replace(/^internal\//, "").split("/")[0]}`;
  return url;
}

/** Daemon stages, matched against a frame's URL (and function), nearest caller first. */
const OWNERS: Array<[string, (frame: ProfileNode["callFrame"]) => boolean]> = [
  ["garbage collector", (frame) => frame.functionName === "(garbage collector)"],
  ["S3 PUT (writer, signing, HTTP client)", (frame) => /dist\/src\/exporters\/s3\/|node_modules\/undici\/|node:_http_client|node:_http_agent|@aws-sdk|@smithy/.test(frame.url)],
  ["BullMQ + ioredis (jobs, seen-trace marks)", (frame) => /node_modules\/(bullmq|ioredis)\/|dist\/src\/exporters\/bullmq\//.test(frame.url)],
  ["spool (encode, write, fsync, dispatch)", (frame) => /dist\/src\/spool\//.test(frame.url)],
  ["group bodies (JSON.stringify of events)", (frame) => /dist\/src\/pipeline\/export\.js/.test(frame.url)],
  ["validate (zod schema)", (frame) => /dist\/src\/processors\/validate\/|node_modules\/zod\//.test(frame.url)],
  ["redact (detectors, walk of spans and events)", (frame) => /dist\/src\/processors\/redact\//.test(frame.url)],
  ["filter (rules, decision)", (frame) => /dist\/src\/processors\/filter\//.test(frame.url)],
  ["span batch (objects, filterSpans' parse, JSON.stringify)", (frame) => /dist\/src\/pipeline\/span-batch\.js/.test(frame.url)],
  ["auth, sort, group", (frame) => /dist\/src\/processors\//.test(frame.url)],
  ["conversion (OTel span → Langfuse events)", (frame) => /dist\/src\/conversion\//.test(frame.url)],
  ["OTLP decode (protobufjs, ids, JSON.parse)", (frame) => /dist\/src\/otlp\/|node_modules\/(protobufjs|long|@protobufjs)\//.test(frame.url)],
  ["receivers (HTTP/gRPC server, body read)", (frame) => /dist\/src\/receivers\/|node:_http_server|node_modules\/@grpc\//.test(frame.url)],
  ["pipeline, other", (frame) => /dist\/src\//.test(frame.url)],
];

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: tsx bench/profile.ts <file.cpuprofile> [top]\n");
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const selfTime = new Map<number, number>();
let total = 0;
profile.samples.forEach((id, index) => {
  const delta = profile.timeDeltas[index] ?? 0;
  selfTime.set(id, (selfTime.get(id) ?? 0) + delta);
  total += delta;
});

const byArea = new Map<string, number>();
const byFunction = new Map<string, number>();
let idle = 0;
for (const [id, time] of selfTime) {
  const frame = nodes.get(id)!.callFrame;
  const name = area(frame);
  if (name === "idle") idle += time;
  byArea.set(name, (byArea.get(name) ?? 0) + time);
  const where = frame.url.replace(/.*node_modules\//, "").replace(/.*dist\/src\//, "src/");
  const key = `${frame.functionName || "(anonymous)"} ${where}${where ? `:${frame.lineNumber + 1}` : ""}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + time);
}

const parents = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
const byOwner = new Map<string, number>();
for (const [id, time] of selfTime) {
  if (nodes.get(id)!.callFrame.functionName === "(idle)") continue;
  let owner = "unattributed (Node internals, timers, microtasks)";
  for (let current: number | undefined = id; current !== undefined; current = parents.get(current)) {
    const match = OWNERS.find(([, test]) => test(nodes.get(current!)!.callFrame));
    if (match) {
      owner = match[0];
      break;
    }
  }
  byOwner.set(owner, (byOwner.get(owner) ?? 0) + time);
}

const busy = total - idle;
const share = (time: number) => `${((time / busy) * 100).toFixed(1).padStart(5)} %`;
process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (shares below are of busy time)\n\nby area (self time)\n`);
for (const [name, time] of [...byArea].filter(([name]) => name !== "idle").sort((a, b) => b[1] - a[1]).slice(0, top)) {
  process.stdout.write(`${share(time)}  ${name}\n`);
}
process.stdout.write(`\nby owner (nearest daemon stage on the stack)\n`);
for (const [name, time] of [...byOwner].sort((a, b) => b[1] - a[1])) process.stdout.write(`${share(time)}  ${name}\n`);
process.stdout.write(`\ntop functions (self time)\n`);
for (const [name, time] of [...byFunction].filter(([name]) => !name.startsWith("(idle)")).sort((a, b) => b[1] - a[1]).slice(0, top)) {
  process.stdout.write(`${share(time)}  ${name}\n`);
}
