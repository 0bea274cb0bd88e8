/**
 * JSON.parse of bytes read as Latin-1 (or, paced, as UTF-8), without ever making one string longer
 * than `maxString`.
 *
 * Why: V8 puts every string over 128 KB in fresh large-object pages, and on small VMs those cost
 * more than the parse itself, many times what the same bytes cost in pieces under that size
 * (bench/results/2026-11-26.md; joining pieces does not help: JSON.parse flattens them first). So
 * the objects that are elements of arrays `pieceDepth` levels down (an OTLP export's spans) are
 * parsed one by one, and the rest (the skeleton) with a placeholder string in each one's place,
 * put back by a reviver.
 *
 * The result is JSON.parse's, and so is the verdict: each piece is a whole value in a value slot
 * (an array element after `[` or `,`) and the placeholder is a value too, so the text parses
 * exactly when the skeleton and every piece parse. A piece found wrongly (the scan is wrong only
 * on text that is not JSON) fails its own parse. Placeholders cannot collide with the data: a
 * string holding one can only be written with the escape `\u0001lor:`, and a body that contains
 * it is parsed whole.
 */
const PLACEHOLDER_PREFIX = "\u0001lor:";
const PLACEHOLDER_ESCAPED = Buffer.from("\\u0001lor:", "latin1");
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The index just past the string that starts at `start` (a quote), or -1 when it never ends. */
function stringEnd(bytes: Buffer, start: number): number {
  let at = start + 1;
  for (;;) {
    at = bytes.indexOf(QUOTE, at);
    if (at === -1) return -1;
    let backslashes = 0;
    while (bytes[at - 1 - backslashes] === BACKSLASH) backslashes += 1;
    if ((backslashes & 1) === 0) return at + 1;
    at += 1;
  }
}

/** The index just past the value that opens at `start` (`{` or `[`), counting brackets of both kinds; -1 when it never closes. */
function valueEnd(bytes: Buffer, start: number): number {
  let level = 0;
  let at = start;
  while (at < bytes.length) {
    const byte = bytes[at]!;
    if (byte === QUOTE) {
      at = stringEnd(bytes, at);
      if (at === -1) return -1;
      continue;
    }
    if (byte === 0x7b || byte === 0x5b) level += 1;
    else if ((byte === 0x7d || byte === 0x5d) && --level === 0) return at + 1;
    at += 1;
  }
  return -1;
}

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

export function parseLatin1JsonInPieces(bytes: Buffer, maxString = 120 * 1024, pieceDepth = 6): unknown {
  const steps = parseInPieces(bytes, "latin1", maxString, pieceDepth);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * The same parse, of the text read as Latin-1 or UTF-8 (when the strings are read), with
 * `afterPiece` called after each piece; when it returns a promise, the parse waits for it. A very
 * large export is thus parsed span by span with turns of the event loop in between, instead of in
 * one call that holds it. Piece boundaries are ASCII bytes, so no UTF-8 sequence is ever cut.
 */
export async function parseJsonInPiecesPaced(
  bytes: Buffer,
  encoding: "latin1" | "utf8",
  afterPiece: () => Promise<void> | undefined,
  maxString = 120 * 1024,
  pieceDepth = 6,
): Promise<unknown> {
  const steps = parseInPieces(bytes, encoding, maxString, pieceDepth);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    const pause = afterPiece();
    if (pause) await pause;
  }
}

/** The parse, pausing (yielding) after each piece; returns the value. */
function* parseInPieces(bytes: Buffer, encoding: "latin1" | "utf8", maxString: number, pieceDepth: number): Generator<void, unknown> {
  const whole = () => JSON.parse(bytes.toString(encoding)) as unknown;
  if (bytes.length <= maxString || bytes.indexOf(PLACEHOLDER_ESCAPED) !== -1) return whole();
  const pieces: unknown[] = [];
  const skeleton: string[] = [];
  let copied = 0;
  let depth = 0;
  /** Bit d set when the container opened at depth d is an array (depths under 31 only). */
  let arrays = 0;
  let previous = 0;
  let at = 0;
  while (at < bytes.length) {
    const byte = bytes[at]!;
    if (byte === QUOTE) {
      at = stringEnd(bytes, at);
      if (at === -1) return whole();
      previous = QUOTE;
      continue;
    }
    if (byte === 0x7b && depth === pieceDepth - 1 && depth < 31 && (arrays >>> depth) & 1 && (previous === 0x5b || previous === 0x2c)) {
      const end = valueEnd(bytes, at);
      if (end === -1) return whole();
      skeleton.push(bytes.toString(encoding, copied, at), JSON.stringify(PLACEHOLDER_PREFIX + pieces.length));
      pieces.push(JSON.parse(bytes.toString(encoding, at, end)));
      copied = end;
      at = end;
      previous = 0x7d;
      yield;
      continue;
    }
    if (byte === 0x7b || byte === 0x5b) {
      depth += 1;
      if (depth < 31) arrays = byte === 0x5b ? arrays | (1 << depth) : arrays & ~(1 << depth);
    } else if (byte === 0x7d || byte === 0x5d) depth -= 1;
    if (!isWhitespace(byte)) previous = byte;
    at += 1;
  }
  if (pieces.length === 0) return whole();
  skeleton.push(bytes.toString(encoding, copied, bytes.length));
  return JSON.parse(skeleton.join(""), (_key, value: unknown) =>
    typeof value === "string" && value.startsWith(PLACEHOLDER_PREFIX) ? pieces[Number(value.slice(PLACEHOLDER_PREFIX.length))] : value,
  );
}
