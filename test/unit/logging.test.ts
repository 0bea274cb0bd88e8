import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RepeatedLogFilter } from "../../src/log-repeats.js";
import { createLogger, flushRepeatedLogs } from "../../src/logging.js";

/** The lines a logger wrote, parsed. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("log flood protection", () => {
  it("writes the counts still in their window when the process is about to exit", () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: "info", format: "json" }, stream);
    for (let index = 0; index < 5; index += 1) logger.warn("Redis unreachable");
    expect(lines).toHaveLength(1);
    flushRepeatedLogs();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ repeated: 4, msg: "Redis unreachable (repeated 4 more times within 10 s)" });
  });

  it("logs 10,000 identical warnings as one line, then one line with the count when the window ends", () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: "info", format: "json" }, stream).child({ component: "exporter/file" });
    for (let index = 0; index < 10_000; index += 1) logger.warn({ err: new Error(`EMFILE: open '/data/${index}.json'`) }, "file export failed");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, msg: "file export failed", component: "exporter/file" });
    vi.advanceTimersByTime(10_000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ level: 40, component: "exporter/file", repeated: 9_999, msg: "file export failed (repeated 9999 more times within 10 s)" });
    // The window is over: the next one is logged in full again.
    logger.warn("file export failed");
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ msg: "file export failed" });
  });

  it("keeps different messages, levels and loggers apart, and never holds back info or debug lines", () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: "debug", format: "json" }, stream);
    const other = logger.child({ pipeline: "events/b" });
    for (let index = 0; index < 3; index += 1) {
      logger.error({ err: new Error("S3 403") }, "groups moved to the dead letters");
      logger.error("unexpected failure while handling an OTLP request");
      logger.warn("unexpected failure while handling an OTLP request");
      other.error("unexpected failure while handling an OTLP request");
      logger.info("request answered");
      logger.debug("request answered");
    }
    const messages = lines.map((line) => `${String(line.level)} ${String(line.pipeline ?? "-")} ${String(line.msg)}`);
    expect(messages.filter((message) => message.startsWith("50 - groups moved"))).toHaveLength(1);
    expect(messages.filter((message) => message === "50 - unexpected failure while handling an OTLP request")).toHaveLength(1);
    expect(messages.filter((message) => message === "40 - unexpected failure while handling an OTLP request")).toHaveLength(1);
    expect(messages.filter((message) => message === "50 events/b unexpected failure while handling an OTLP request")).toHaveLength(1);
    expect(messages.filter((message) => message.endsWith("request answered"))).toHaveLength(6);
    vi.advanceTimersByTime(10_000);
    const counts = lines.slice(-4).map((line) => [line.msg, line.repeated]);
    expect(counts).toEqual([
      ["groups moved to the dead letters (repeated 2 more times within 10 s)", 2],
      ["unexpected failure while handling an OTLP request (repeated 2 more times within 10 s)", 2],
      ["unexpected failure while handling an OTLP request (repeated 2 more times within 10 s)", 2],
      ["unexpected failure while handling an OTLP request (repeated 2 more times within 10 s)", 2],
    ]);
  });

  it("tracks a bounded number of distinct lines, logging the count of the oldest to make room", () => {
    const { lines, stream } = capture();
    const filter = new RepeatedLogFilter({ maxTracked: 3 });
    const logger = pino({ level: "info", hooks: { logMethod: filter.hook() } }, stream);
    logger.warn("first");
    logger.warn("first");
    // "distinct 2" finds the three places taken ("first", "distinct 0", "distinct 1"): "first" goes, with its count.
    for (let index = 0; index < 5_000; index += 1) logger.warn(`distinct ${index}`);
    expect(filter.tracked).toBe(3);
    expect(lines).toHaveLength(5_002);
    expect(lines[3]).toMatchObject({ msg: "first (repeated 1 more time within 10 s)", repeated: 1 });
    filter.flush();
    expect(filter.tracked).toBe(0);
  });
});
