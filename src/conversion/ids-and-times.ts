/**
 * Mapping spec §2: span ids and span times.
 */
import { longParts } from "./attributes.js";

export type IdResult = { ok: true; id: string } | { ok: false; reason: "absent" | "empty" | "not_an_id" };

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * A string id is used verbatim (OTLP/JSON senders' hex, or base64 from a misbehaving exporter,
 * exactly as Langfuse keeps it). Byte forms — Buffer/Uint8Array, a number array, or the
 * `{type:"Buffer",data:[…]}` shape a Buffer takes after a JSON round trip — become lower-case hex.
 */
export function renderId(value: unknown): IdResult {
  if (value === undefined || value === null) return { ok: false, reason: "absent" };
  if (typeof value === "string") return value === "" ? { ok: false, reason: "empty" } : { ok: true, id: value };
  if (value instanceof Uint8Array) return bytesToHex(value);
  if (Array.isArray(value)) return bytesToHex(value);
  if (typeof value === "object") {
    const v = value as Record<string, unknown>;
    if (v.type === "Buffer" && Array.isArray(v.data)) return bytesToHex(v.data);
  }
  return { ok: false, reason: "not_an_id" };
}

function bytesToHex(bytes: ArrayLike<unknown>): IdResult {
  if (bytes.length === 0) return { ok: false, reason: "empty" };
  let hex = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (typeof b !== "number" || !Number.isFinite(b)) return { ok: false, reason: "not_an_id" };
    // `& 0xff` is what Buffer.from(array) does with out-of-range numbers.
    hex += HEX[b & 0xff];
  }
  return { ok: true, id: hex };
}

/** Largest absolute millisecond value a JS Date accepts. */
const MAX_DATE_MS = 8.64e15;
const NANOS_PER_MILLI = 1_000_000n;
const DECIMAL = /^[+-]?\d+$/;

/**
 * Unix nanoseconds → milliseconds, truncating sub-millisecond digits. Decimal strings are divided
 * exactly via BigInt (OTLP/JSON and protobuf int64 arrive as strings); plain numbers have already
 * lost precision, so dividing them as floats loses nothing more. Anything else is "missing".
 */
export function unixNanosToMillis(raw: unknown): number | undefined {
  let ms: number | undefined;
  if (typeof raw === "string") {
    const text = raw.trim();
    if (!DECIMAL.test(text)) return undefined;
    ms = Number(BigInt(text) / NANOS_PER_MILLI);
  } else if (typeof raw === "number") {
    if (!Number.isFinite(raw)) return undefined;
    ms = Math.trunc(raw / 1e6);
  } else if (typeof raw === "bigint") {
    ms = Number(raw / NANOS_PER_MILLI);
  } else {
    const long = longParts(raw);
    if (long === undefined) return undefined;
    const high = long.unsigned ? BigInt(long.high >>> 0) : BigInt(long.high | 0);
    ms = Number(((high << 32n) + BigInt(long.low >>> 0)) / NANOS_PER_MILLI);
  }
  return Math.abs(ms) <= MAX_DATE_MS ? ms : undefined;
}

export interface SpanTimes {
  startMs: number;
  endMs: number;
}

/** A missing start borrows the end and vice versa; with neither, the span happened "now". */
export function resolveSpanTimes(startRaw: unknown, endRaw: unknown, nowMs: number): SpanTimes {
  const start = unixNanosToMillis(startRaw);
  const end = unixNanosToMillis(endRaw);
  return { startMs: start ?? end ?? nowMs, endMs: end ?? start ?? nowMs };
}

export function isoFromMillis(ms: number): string {
  return new Date(ms).toISOString();
}
