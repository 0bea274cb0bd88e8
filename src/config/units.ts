import { z } from "zod";

/**
 * Zod building blocks for config values. Values that came through `${env:...}` are strings,
 * so numbers and booleans also accept their string spelling.
 */

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration such as `250ms`, `5s`, `1m`, or a number of milliseconds; parsed to milliseconds. */
export const durationMs = z.union([z.number(), z.string()]).transform((value, context) => {
  if (typeof value === "number") {
    if (Number.isFinite(value) && value >= 0) return value;
  } else {
    const match = DURATION.exec(value.trim());
    if (match) return Math.round(Number(match[1]) * DURATION_UNIT_MS[match[2]!]!);
    if (/^\d+$/.test(value.trim())) return Number(value.trim());
  }
  context.addIssue({ code: "custom", message: `expected a duration such as 500ms, 5s or 1m, got ${JSON.stringify(value)}` });
  return z.NEVER;
});

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$/i;
const SIZE_UNIT: Record<string, number> = {
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** A byte size such as `64MiB`, `4.5MiB`, `512KiB`, or a number of bytes; parsed to bytes. */
export const byteSize = z.union([z.number(), z.string()]).transform((value, context) => {
  if (typeof value === "number") {
    if (Number.isInteger(value) && value > 0) return value;
  } else {
    const match = SIZE.exec(value.trim());
    if (match) {
      const bytes = Math.floor(Number(match[1]) * SIZE_UNIT[(match[2] ?? "b").toLowerCase()]!);
      if (bytes > 0) return bytes;
    }
  }
  context.addIssue({ code: "custom", message: `expected a positive size such as 4.5MiB or 65536, got ${JSON.stringify(value)}` });
  return z.NEVER;
});

/** An integer, also written as a string. */
export function integer(options: { min?: number; max?: number } = {}) {
  return z
    .union([z.number(), z.string().regex(/^-?\d+$/, "expected an integer").transform(Number)])
    .pipe(
      z
        .number()
        .int()
        .min(options.min ?? Number.MIN_SAFE_INTEGER)
        .max(options.max ?? Number.MAX_SAFE_INTEGER),
    );
}

/** A boolean, also written as the string "true" or "false". */
export const flag = z.union([z.boolean(), z.enum(["true", "false"]).transform((value) => value === "true")]);

/** A number, also written as a string. */
export const numeric = z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/, "expected a number").transform(Number)]);

/** `host:port` to listen on; `[::1]:4317` for IPv6. Port 0 picks a free port (tests). */
export const endpoint = z.string().transform((value, context) => {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65535) {
    context.addIssue({ code: "custom", message: `expected host:port such as 127.0.0.1:4318, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  const host = match[1] ?? match[2] ?? "";
  return { host: host === "" ? "0.0.0.0" : host, port };
});

export type Endpoint = z.output<typeof endpoint>;

/** `grpc:` with nothing after it is YAML null; treat it as "enabled with defaults", as the Collector does. */
export function nullAsEmpty<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === null ? {} : value), schema);
}
