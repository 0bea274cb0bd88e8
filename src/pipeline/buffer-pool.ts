/**
 * Reusable buffers for the large byte blocks a request passes through: its OTLP protobuf body, and
 * on the raw path the JSON text that is stored (spooled, then PUT to S3).
 *
 * Why: V8 counts every new buffer's memory as external memory and starts a full collection each
 * time enough of it was allocated. On the raw path at full load that was a full collection every
 * few hundred milliseconds, a real share of the core, all of it for buffers that live a few
 * milliseconds. Reusing the body buffers cut full collections and CPU per span; the stored JSON
 * was most of the rest (paired bench runs in bench/results/2026-11-26.md).
 *
 * The danger is a buffer handed out again while something still reads it: another request's data
 * would be read or stored in its place. So a buffer comes back only through `give`, which callers
 * use only once every reader has finished (after the answer is sent on success; after the spool
 * record is acknowledged), and `give` zero-fills it: a late reader sees zeros, which fail to decode,
 * never another client's data. A buffer that is never given back is simply left to the GC.
 */
export interface BufferPoolLimits {
  /** Smaller blocks are not pooled (a body this small arrives in one socket read and is never joined). */
  minBytes: number;
  /** Larger blocks are allocated as before and not kept. */
  maxBytes: number;
  /** Most memory kept in free buffers. */
  maxFreeBytes: number;
  /** Free buffers are dropped once the pool has not been used for this long (a burst is over). */
  idleMs?: number;
}

const DEFAULT_IDLE_MS = 5_000;

/** Capacities are rounded up to this, so bodies of nearly the same size share buffers. */
const GRANULE = 64 * 1024;

export class BufferPool {
  readonly #limits: BufferPoolLimits;
  /**
   * The memory of every buffer now lent out, so `give` refuses anything else (a Buffer from Node's
   * shared slab, one read from disk, one already given back).
   */
  readonly #lent = new WeakSet<ArrayBufferLike>();
  readonly #free: Buffer[] = [];
  #freeBytes = 0;
  #lastUse = 0;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(limits: BufferPoolLimits) {
    this.#limits = limits;
  }

  /** Whether `take(size)` gives a pooled buffer. */
  serves(size: number): boolean {
    return Number.isInteger(size) && size >= this.#limits.minBytes && size <= this.#limits.maxBytes;
  }

  /** A buffer of exactly `size` bytes (contents undefined), or undefined when `size` is outside the pooled range. */
  take(size: number): Buffer | undefined {
    if (!this.serves(size)) return undefined;
    this.#lastUse = Date.now();
    let best = -1;
    for (let index = 0; index < this.#free.length; index += 1) {
      const length = this.#free[index]!.length;
      if (length >= size && (best === -1 || length < this.#free[best]!.length)) best = index;
    }
    if (best !== -1) {
      const [whole] = this.#free.splice(best, 1);
      this.#freeBytes -= whole!.length;
      this.#lent.add(whole!.buffer);
      return whole!.subarray(0, size);
    }
    const whole = Buffer.allocUnsafeSlow(Math.ceil(size / GRANULE) * GRANULE);
    this.#lent.add(whole.buffer);
    return whole.subarray(0, size);
  }

  /**
   * Takes back a buffer from `take` once nothing reads it; anything else is ignored. Zero-filled at
   * once. When the free list is full, the smallest buffers make room or the buffer is left to the GC.
   */
  give(buffer: Buffer): void {
    const memory = buffer.buffer;
    if (!this.#lent.delete(memory)) return;
    const whole = Buffer.from(memory, 0, memory.byteLength);
    whole.fill(0);
    if (whole.length > this.#limits.maxFreeBytes) return;
    this.#free.sort((a, b) => a.length - b.length);
    while (this.#freeBytes + whole.length > this.#limits.maxFreeBytes) {
      if (this.#free[0]!.length >= whole.length) return;
      this.#freeBytes -= this.#free.shift()!.length;
    }
    this.#free.push(whole);
    this.#freeBytes += whole.length;
    this.#lastUse = Date.now();
    this.#armIdleRelease();
  }

  /**
   * Drops every free buffer when the pool has been idle for `idleMs` at `now`: their memory goes
   * back to the system once collected, instead of staying at the burst's high-water mark. Returns
   * whether it did. The pool calls it from a timer; tests call it with their own clock.
   */
  releaseIfIdle(now = Date.now()): boolean {
    if (this.#free.length === 0 || now - this.#lastUse < (this.#limits.idleMs ?? DEFAULT_IDLE_MS)) return false;
    this.#free.length = 0;
    this.#freeBytes = 0;
    return true;
  }

  #armIdleRelease(): void {
    if (this.#idleTimer !== undefined) return;
    const idleMs = this.#limits.idleMs ?? DEFAULT_IDLE_MS;
    const check = () => {
      this.#idleTimer = undefined;
      if (this.releaseIfIdle() || this.#free.length === 0) return;
      this.#idleTimer = setTimeout(check, Math.max(this.#lastUse + idleMs - Date.now(), 10));
      this.#idleTimer.unref();
    };
    this.#idleTimer = setTimeout(check, idleMs);
    this.#idleTimer.unref();
  }

  get freeBytes(): number {
    return this.#freeBytes;
  }
}

/**
 * The daemon's pools, owned by the pipeline core: the service makes one set and hands it to the
 * receivers (in their settings) and to the pipelines; nothing reaches them as a global.
 */
export interface BufferPools {
  /**
   * OTLP/HTTP protobuf bodies: 64 KB to 8 MB (an SDK batch of a few hundred LLM spans is 0.5-2
   * MB), at most 16 MB kept, enough for the requests that one process works on at once.
   */
  readonly otlpBodies: BufferPool;
  /**
   * The raw path's stored JSON: the transcoder's output (about 1.3-1.4x the protobuf body), and
   * OTLP/JSON bodies, which the raw path stores as received. A buffer lives until the request's
   * data is exported: the export group that holds it gives it back (ExportGroup.releaseBody) from
   * the spool (once its record is acknowledged, or written to disk and not kept in memory) and
   * after a direct export. A body that no pipeline stores (the events path decodes it) is left to
   * the GC. Other buffers given to it are ignored.
   */
  readonly storedJson: BufferPool;
}

export function createBufferPools(): BufferPools {
  return {
    otlpBodies: new BufferPool({ minBytes: GRANULE, maxBytes: 8 * 1024 * 1024, maxFreeBytes: 16 * 1024 * 1024 }),
    storedJson: new BufferPool({ minBytes: GRANULE, maxBytes: 16 * 1024 * 1024, maxFreeBytes: 16 * 1024 * 1024 }),
  };
}
