import { mkdir, open, readdir, readFile, rm, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";

/**
 * An append-only log split into segment files, the spool's storage.
 *
 * Each record is framed as MAGIC(4) | LENGTH(4) | CRC32(4) | payload, so a reader can tell a
 * complete record from a torn or damaged one and find the next good record after damage.
 * Appends are group-committed: concurrent appends share one write and one fdatasync, and none
 * resolves before its bytes are on disk. Acknowledgements go to a per-segment `.acks` file of
 * record offsets; they are flushed often but not fsynced, because losing the last few only means
 * exporting those records again (at-least-once). A segment whose records are all acknowledged
 * is deleted once the log has moved on to a newer segment.
 */
const MAGIC = 0x4c465350; // "LFSP"
const FRAME_HEADER_BYTES = 12;
const ACK_FLUSH_INTERVAL_MS = 100;

export interface RecordLocation {
  segment: number;
  offset: number;
  /** Payload length (without the frame header). */
  length: number;
}

export interface CorruptionReport {
  segment: number;
  offset: number;
  reason: string;
}

export interface RecoveredLog {
  /** Records not yet acknowledged, oldest first. */
  pending: RecordLocation[];
  corruption: CorruptionReport[];
}

export interface SegmentLogOptions {
  directory: string;
  segmentBytes: number;
  /** fdatasync every commit; off only for tests on throwaway folders or when durability is not wanted. */
  fsync: boolean;
}

interface PendingAppend {
  frame: { parts: Buffer[]; bytes: number };
  resolve: (location: RecordLocation) => void;
  reject: (error: Error) => void;
}

interface SegmentState {
  /** Records written to (or recovered from) the segment that are not acknowledged yet. */
  unacknowledged: number;
  bytes: number;
}

function segmentName(sequence: number): string {
  return `segment-${String(sequence).padStart(12, "0")}.log`;
}

function acksName(sequence: number): string {
  return `segment-${String(sequence).padStart(12, "0")}.acks`;
}

/**
 * The frame of a payload given in parts, as the parts to write: the record is never copied into
 * one buffer (a raw-path request is ~300 KB; every extra copy is memory V8 must collect).
 */
function frame(payload: readonly Buffer[]): { parts: Buffer[]; bytes: number } {
  let length = 0;
  let checksum = 0;
  for (const part of payload) {
    length += part.length;
    checksum = crc32(part, checksum);
  }
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(MAGIC, 0);
  header.writeUInt32BE(length, 4);
  header.writeUInt32BE(checksum, 8);
  return { parts: [header, ...payload], bytes: FRAME_HEADER_BYTES + length };
}

/** Parses the frame at `offset`; undefined with a reason when it is not a whole, intact record. */
function readFrame(data: Buffer, offset: number): { length: number } | { problem: string; truncated: boolean } {
  if (offset + FRAME_HEADER_BYTES > data.length) return { problem: "truncated record header", truncated: true };
  if (data.readUInt32BE(offset) !== MAGIC) return { problem: "bad record marker", truncated: false };
  const length = data.readUInt32BE(offset + 4);
  if (offset + FRAME_HEADER_BYTES + length > data.length) return { problem: `truncated record (${length} bytes announced)`, truncated: true };
  const payload = data.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length);
  if (crc32(payload) !== data.readUInt32BE(offset + 8)) return { problem: "checksum mismatch", truncated: false };
  return { length };
}

/** After damage, the next offset where an intact record starts, if any. */
function resynchronise(data: Buffer, from: number): number | undefined {
  const marker = Buffer.allocUnsafe(4);
  marker.writeUInt32BE(MAGIC, 0);
  for (let at = data.indexOf(marker, from); at !== -1; at = data.indexOf(marker, at + 1)) {
    if ("length" in readFrame(data, at)) return at;
  }
  return undefined;
}

export class SegmentLog {
  readonly #options: SegmentLogOptions;
  readonly #segments = new Map<number, SegmentState>();
  readonly #acksToWrite = new Map<number, number[]>();
  #active: { sequence: number; handle: FileHandle; size: number } | undefined;
  /**
   * The next segment, created (and its directory entry synced) while the active one is half full,
   * so a rotation never waits for file creation and a directory fsync: on a busy disk that fsync
   * takes as long as the journal commit it forces, and every append in the meantime would wait.
   */
  #prepared: Promise<{ sequence: number; handle: FileHandle }> | undefined;
  #nextSequence = 1;
  #queue: PendingAppend[] = [];
  #writing: Promise<void> | undefined;
  #ackTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Bytes of records that are written but not acknowledged (frame headers included). */
  #pendingBytes = 0;

  private constructor(options: SegmentLogOptions) {
    this.#options = options;
  }

  /** Opens (creating if needed) the log in its directory and recovers what was left unacknowledged. */
  static async open(options: SegmentLogOptions): Promise<{ log: SegmentLog; recovered: RecoveredLog }> {
    await mkdir(options.directory, { recursive: true });
    const log = new SegmentLog(options);
    const recovered = await log.#recover();
    return { log, recovered };
  }

  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  async #recover(): Promise<RecoveredLog> {
    const names = (await readdir(this.#options.directory)).filter((name) => /^segment-\d{12}\.log$/.test(name)).sort();
    const pending: RecordLocation[] = [];
    const corruption: CorruptionReport[] = [];
    for (const name of names) {
      const sequence = Number(name.slice(8, 20));
      this.#nextSequence = Math.max(this.#nextSequence, sequence + 1);
      const data = await readFile(join(this.#options.directory, name));
      const acknowledged = await this.#readAcks(sequence);
      const state: SegmentState = { unacknowledged: 0, bytes: data.length };
      let offset = 0;
      while (offset < data.length) {
        const parsed = readFrame(data, offset);
        if ("problem" in parsed) {
          corruption.push({ segment: sequence, offset, reason: parsed.problem });
          const next = parsed.truncated ? undefined : resynchronise(data, offset + 1);
          if (next === undefined) break;
          offset = next;
          continue;
        }
        if (!acknowledged.has(offset)) {
          pending.push({ segment: sequence, offset, length: parsed.length });
          state.unacknowledged += 1;
          this.#pendingBytes += FRAME_HEADER_BYTES + parsed.length;
        }
        offset += FRAME_HEADER_BYTES + parsed.length;
      }
      this.#segments.set(sequence, state);
    }
    // Fully acknowledged segments from before the restart can go now.
    for (const [sequence, state] of this.#segments) {
      if (state.unacknowledged === 0) await this.#deleteSegment(sequence);
    }
    return { pending, corruption };
  }

  async #readAcks(sequence: number): Promise<Set<number>> {
    let data: Buffer;
    try {
      data = await readFile(join(this.#options.directory, acksName(sequence)));
    } catch {
      return new Set();
    }
    const offsets = new Set<number>();
    // A torn last entry (fewer than 4 bytes) is ignored: that record is simply exported again.
    for (let at = 0; at + 4 <= data.length; at += 4) offsets.add(data.readUInt32BE(at));
    return offsets;
  }

  /**
   * Appends a record, given whole or in parts (written one after the other); resolves once it is
   * durable (written and, with fsync on, synced).
   */
  append(payload: Buffer | readonly Buffer[]): Promise<RecordLocation> {
    if (this.#closed) return Promise.reject(new Error("spool is closed"));
    return new Promise((resolve, reject) => {
      this.#queue.push({ frame: frame(Buffer.isBuffer(payload) ? [payload] : payload), resolve, reject });
      this.#writing ??= this.#drainQueue().finally(() => {
        this.#writing = undefined;
      });
    });
  }

  async #drainQueue(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      try {
        await this.#commit(batch);
      } catch (error) {
        for (const item of batch) item.reject(error as Error);
      }
    }
  }

  async #commit(batch: PendingAppend[]): Promise<void> {
    const size = batch.reduce((total, item) => total + item.frame.bytes, 0);
    let active = this.#active;
    if (active === undefined || (active.size > 0 && active.size + size > this.#options.segmentBytes)) {
      active = await this.#rotate();
    }
    const start = active.size;
    await active.handle.writev(batch.flatMap((item) => item.frame.parts), start);
    if (this.#options.fsync) await active.handle.datasync();
    active.size += size;
    if (active.size > this.#options.segmentBytes / 2) this.#prepareNext().catch(() => {});
    const state = this.#segments.get(active.sequence)!;
    state.bytes = active.size;
    let offset = start;
    for (const item of batch) {
      state.unacknowledged += 1;
      this.#pendingBytes += item.frame.bytes;
      item.resolve({ segment: active.sequence, offset, length: item.frame.bytes - FRAME_HEADER_BYTES });
      offset += item.frame.bytes;
    }
  }

  async #rotate(): Promise<{ sequence: number; handle: FileHandle; size: number }> {
    const previous = this.#active;
    const prepared = this.#prepareNext();
    // Taken whatever the outcome: after a failure the next rotation prepares afresh.
    this.#prepared = undefined;
    const { sequence, handle } = await prepared;
    this.#segments.set(sequence, { unacknowledged: 0, bytes: 0 });
    this.#active = { sequence, handle, size: 0 };
    if (previous) {
      await previous.handle.close();
      if (this.#segments.get(previous.sequence)?.unacknowledged === 0) await this.#deleteSegment(previous.sequence);
    }
    return this.#active;
  }

  #prepareNext(): Promise<{ sequence: number; handle: FileHandle }> {
    this.#prepared ??= (async () => {
      const sequence = this.#nextSequence++;
      const path = join(this.#options.directory, segmentName(sequence));
      const handle = await open(path, "wx");
      try {
        if (this.#options.fsync) await syncDirectory(this.#options.directory);
      } catch (error) {
        await handle.close();
        await rm(path, { force: true });
        throw error;
      }
      return { sequence, handle };
    })();
    return this.#prepared;
  }

  /** Reads a record's payload back, checking its frame. */
  async read(location: RecordLocation): Promise<Buffer> {
    const handle = await open(join(this.#options.directory, segmentName(location.segment)), "r");
    try {
      const data = Buffer.allocUnsafe(FRAME_HEADER_BYTES + location.length);
      await handle.read(data, 0, data.length, location.offset);
      const parsed = readFrame(data, 0);
      if ("problem" in parsed) throw new Error(`spool record ${location.segment}:${location.offset}: ${parsed.problem}`);
      return data.subarray(FRAME_HEADER_BYTES);
    } finally {
      await handle.close();
    }
  }

  /** Marks a record exported (or dead-lettered). */
  acknowledge(location: RecordLocation): void {
    const state = this.#segments.get(location.segment);
    if (state === undefined) return;
    state.unacknowledged -= 1;
    this.#pendingBytes -= FRAME_HEADER_BYTES + location.length;
    const list = this.#acksToWrite.get(location.segment) ?? [];
    list.push(location.offset);
    this.#acksToWrite.set(location.segment, list);
    this.#ackTimer ??= setTimeout(() => {
      this.#ackTimer = undefined;
      void this.flushAcknowledgements().catch(() => {});
    }, ACK_FLUSH_INTERVAL_MS);
  }

  /** Writes pending acknowledgements and deletes segments that are done with. */
  async flushAcknowledgements(): Promise<void> {
    const entries = [...this.#acksToWrite];
    this.#acksToWrite.clear();
    for (const [sequence, offsets] of entries) {
      const state = this.#segments.get(sequence);
      if (state === undefined) continue;
      if (state.unacknowledged === 0 && sequence !== this.#active?.sequence) {
        await this.#deleteSegment(sequence);
        continue;
      }
      const data = Buffer.allocUnsafe(offsets.length * 4);
      offsets.forEach((offset, index) => data.writeUInt32BE(offset, index * 4));
      const handle = await open(join(this.#options.directory, acksName(sequence)), "a");
      try {
        await handle.write(data);
      } finally {
        await handle.close();
      }
    }
  }

  async #deleteSegment(sequence: number): Promise<void> {
    this.#segments.delete(sequence);
    await rm(join(this.#options.directory, segmentName(sequence)), { force: true });
    await rm(join(this.#options.directory, acksName(sequence)), { force: true });
  }

  /** Finishes pending appends, writes acknowledgements and closes the active segment. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writing;
    if (this.#ackTimer) clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    await this.flushAcknowledgements();
    const active = this.#active;
    this.#active = undefined;
    if (active) {
      await active.handle.close();
      if (this.#segments.get(active.sequence)?.unacknowledged === 0) await this.#deleteSegment(active.sequence);
    }
    // A segment prepared but never used is empty: remove it (recovery would, too).
    const prepared = this.#prepared;
    this.#prepared = undefined;
    if (prepared) {
      await prepared.then(
        async ({ sequence, handle }) => {
          await handle.close();
          await rm(join(this.#options.directory, segmentName(sequence)), { force: true });
        },
        () => {},
      );
    }
  }

  /** Size on disk of every segment, for metrics and the capacity check. */
  async diskBytes(): Promise<number> {
    let total = 0;
    for (const sequence of this.#segments.keys()) {
      total += await stat(join(this.#options.directory, segmentName(sequence))).then(
        (info) => info.size,
        () => 0,
      );
    }
    return total;
  }
}

/** A new file only survives a crash once its directory entry is synced too. */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
