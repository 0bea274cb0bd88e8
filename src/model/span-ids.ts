/** Span and trace ids in the forms OTLP clients send them, read the way Langfuse's worker reads them. */

/**
 * A span id as Langfuse's worker reads it: strings unchanged (OTLP/JSON hex), byte forms (a
 * Node Buffer serialised as `{type: "Buffer", data}`, a byte array) as lower-case hex.
 * Undefined for anything else.
 */
export function spanIdText(id: unknown): string | undefined {
  if (typeof id === "string") return id;
  if (id instanceof Uint8Array) return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("hex");
  const bytes = Array.isArray(id) ? id : isBufferJson(id) ? id.data : undefined;
  if (bytes === undefined || !bytes.every((byte) => Number.isInteger(byte) && byte >= 0 && byte <= 255)) return undefined;
  return Buffer.from(bytes as number[]).toString("hex");
}

export function isBufferJson(value: unknown): value is { type: "Buffer"; data: unknown[] } {
  return typeof value === "object" && value !== null && (value as { type?: unknown }).type === "Buffer" && Array.isArray((value as { data?: unknown }).data);
}
