import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SegmentLog, type RecordLocation } from "../../../src/spool/segment-log.js";
import { decodeRecord, encodeRecord } from "../../../src/spool/record-codec.js";
import { backoffDelay } from "../../../src/spool/dispatcher.js";
import { ExportGroup } from "../../../src/pipeline/export.js";

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "lor-segment-"));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

const open = (segmentBytes = 1024 * 1024) => SegmentLog.open({ directory, segmentBytes, fsync: true });
const payload = (text: string) => Buffer.from(text, "utf8");

async function payloads(log: SegmentLog, locations: RecordLocation[]): Promise<string[]> {
  return Promise.all(locations.map(async (location) => (await log.read(location)).toString("utf8")));
}

describe("segment log", () => {
  it("recovers every unacknowledged record after a crash, and none that were acknowledged", async () => {
    const { log } = await open();
    const locations = await Promise.all(["a", "b", "c", "d"].map((text) => log.append(payload(text))));
    log.acknowledge(locations[1]!);
    await log.flushAcknowledgements();
    // No close(): the process "dies" here.
    const { log: reopened, recovered } = await open();
    expect(recovered.corruption).toEqual([]);
    expect(await payloads(reopened, recovered.pending)).toEqual(["a", "c", "d"]);
    expect(reopened.pendingBytes).toBe(3 * (12 + 1));
    await reopened.close();
  });

  it("stores a record given in parts as one record, whose checksum covers every part", async () => {
    const { log } = await open();
    const parts = [payload("head|"), Buffer.alloc(0), payload("body-1|"), payload("body-2")];
    const [whole, split] = await Promise.all([log.append(payload("whole")), log.append(parts)]);
    expect(split.length).toBe("head|body-1|body-2".length);
    // No close(): recovery re-reads the frames and checks each CRC over the stored bytes.
    const { log: reopened, recovered } = await open();
    expect(recovered.corruption).toEqual([]);
    expect(recovered.pending).toEqual([whole, split]);
    expect(await payloads(reopened, recovered.pending)).toEqual(["whole", "head|body-1|body-2"]);
    await reopened.close();
  });

  it("commits concurrent appends together, each at its own offset", async () => {
    const { log } = await open();
    const locations = await Promise.all(Array.from({ length: 100 }, (_, index) => log.append(payload(`record-${index}`))));
    const offsets = locations.map((location) => location.offset);
    expect(new Set(offsets).size).toBe(100);
    expect(await payloads(log, [locations[0]!, locations[99]!])).toEqual(["record-0", "record-99"]);
    await log.close();
  });

  it("reports a truncated tail and keeps the records before it", async () => {
    const { log } = await open();
    const locations = await Promise.all(["first", "second", "third"].map((text) => log.append(payload(text))));
    await log.close();
    const [segment] = (await readdir(directory)).filter((name) => name.endsWith(".log"));
    await truncate(join(directory, segment!), locations[2]!.offset + 12 + 2);
    const { log: reopened, recovered } = await open();
    expect(await payloads(reopened, recovered.pending)).toEqual(["first", "second"]);
    expect(recovered.corruption).toEqual([{ segment: 1, offset: locations[2]!.offset, reason: "truncated record (5 bytes announced)" }]);
    await reopened.close();
  });

  it("skips a damaged record in the middle and keeps the good ones after it", async () => {
    const { log } = await open();
    const locations = await Promise.all(["first", "second", "third"].map((text) => log.append(payload(text))));
    await log.close();
    const [segment] = (await readdir(directory)).filter((name) => name.endsWith(".log"));
    const path = join(directory, segment!);
    const data = await readFile(path);
    const at = locations[1]!.offset + 12;
    data[at] = data[at]! ^ 0xff; // flipped bits in the second payload
    await writeFile(path, data);
    const { log: reopened, recovered } = await open();
    expect(await payloads(reopened, recovered.pending)).toEqual(["first", "third"]);
    expect(recovered.corruption).toEqual([{ segment: 1, offset: locations[1]!.offset, reason: "checksum mismatch" }]);
    await reopened.close();
  });

  it("finds the next record after a damaged record header", async () => {
    const { log } = await open();
    const locations = await Promise.all(["first", "second", "third"].map((text) => log.append(payload(text))));
    await log.close();
    const [segment] = (await readdir(directory)).filter((name) => name.endsWith(".log"));
    const path = join(directory, segment!);
    const data = await readFile(path);
    data.writeUInt32BE(0xdeadbeef, locations[1]!.offset); // marker gone
    await writeFile(path, data);
    const { recovered, log: reopened } = await open();
    expect(await payloads(reopened, recovered.pending)).toEqual(["first", "third"]);
    expect(recovered.corruption[0]).toMatchObject({ offset: locations[1]!.offset, reason: "bad record marker" });
    await reopened.close();
  });

  it("rotates segments and deletes a segment once all its records are acknowledged", async () => {
    const { log } = await open(64);
    const first = await log.append(payload("x".repeat(40)));
    const second = await log.append(payload("y".repeat(40)));
    expect(second.segment).toBe(first.segment + 1);
    log.acknowledge(first);
    await log.flushAcknowledgements();
    // Segment 3 is already prepared (created and synced, empty) because segment 2 is past half full.
    expect((await readdir(directory)).filter((name) => name.endsWith(".log"))).toEqual(["segment-000000000002.log", "segment-000000000003.log"]);
    expect((await stat(join(directory, "segment-000000000003.log"))).size).toBe(0);
    const third = await log.append(payload("z".repeat(40)));
    expect(third.segment).toBe(3);
    log.acknowledge(second);
    log.acknowledge(third);
    await log.close();
    expect((await readdir(directory)).filter((name) => name.endsWith(".log"))).toEqual([]);
    const { recovered } = await open(64);
    expect(recovered.pending).toEqual([]);
  });
});

describe("spool records", () => {
  it("round-trip the context and the exact object bytes, without credentials", () => {
    const body = Buffer.from('[{"id":"e1","body":{"name":"é \\u2028"}}]');
    const encoded = encodeRecord({
      context: {
        receiver: "otlp",
        transport: "http",
        source: "otel",
        authorization: undefined,
        sdkName: "python",
        sdkVersion: "3.1",
        ingestionVersion: "",
        scope: { projectId: "p", accessLevel: "project", publicKey: "pk" },
      },
      groups: [new ExportGroup("observation", "s1", "e1", "span-create", body), new ExportGroup("trace", "t1", "e2", "trace-create", Buffer.from("[]"))],
    });
    const decoded = decodeRecord(Buffer.concat(encoded));
    expect(decoded.context).toMatchObject({ source: "otel", sdkName: "python", scope: { projectId: "p" } });
    expect(decoded.groups.map((group) => [group.entityType, group.eventBodyId, group.firstEventId, group.firstEventType])).toEqual([
      ["observation", "s1", "e1", "span-create"],
      ["trace", "t1", "e2", "trace-create"],
    ]);
    expect(decoded.groups[0]!.body.equals(body)).toBe(true);
  });
});

describe("retry backoff", () => {
  const policy = { initialIntervalMs: 500, maxIntervalMs: 30_000, multiplier: 2, maxElapsedMs: 0 };

  it("grows exponentially to the maximum, with ±50 % jitter", () => {
    expect(backoffDelay(policy, 0, () => 0.5)).toBe(500);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(4000);
    expect(backoffDelay(policy, 20, () => 0.5)).toBe(30_000);
    expect(backoffDelay(policy, 3, () => 0)).toBe(2000);
    expect(backoffDelay(policy, 3, () => 0.999)).toBe(5996);
  });
});
