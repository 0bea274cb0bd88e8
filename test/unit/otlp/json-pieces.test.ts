import { describe, expect, it } from "vitest";
import { parseLatin1JsonInPieces, parseJsonInPiecesPaced } from "../../../src/otlp/json-pieces.js";

/** What the function must match: JSON.parse of the whole text read as Latin-1, or its refusal. */
function outcome(parse: () => unknown): { value: unknown } | { error: string } {
  try {
    return { value: parse() };
  } catch (error) {
    return { error: (error as Error).name };
  }
}

function export_(spans: string[]): string {
  return `[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"scope":{"name":"lib"},"spans":[${spans.join(",")}]}]}]`;
}

/** Raw texts; JSON.stringify escapes them, so the JSON holds \", \\ and escaped backslashes before quotes. */
const tricky = ['a "quoted" {brace} [bracket], \\ backslash', "ends in a backslash \\", 'escaped quote \\" then {"not":"a key"}', "unicode é ü 😀 and \u0001 and tab\t"];

describe("parseLatin1JsonInPieces", () => {
  it("gives JSON.parse's result for an OTLP export, splitting its spans, with strings full of quotes, brackets and backslashes", () => {
    const spans = Array.from({ length: 60 }, (_, index) =>
      JSON.stringify({ traceId: index.toString(16).padStart(32, "0"), name: "op", attributes: [{ key: "in", value: { stringValue: `${tricky[index % tricky.length]!} ${"x".repeat(300)}` } }] }),
    );
    const bytes = Buffer.from(export_(spans), "utf8");
    const expected = JSON.parse(bytes.toString("latin1"));
    // A small maxString forces the piecewise parse on a small text.
    expect(parseLatin1JsonInPieces(bytes, 64)).toEqual(expected);
    expect(parseLatin1JsonInPieces(bytes)).toEqual(expected);
  });

  it.each([
    ["an object in a key's place", export_(['{"a":1}', '{{"a":1}:2}'])],
    ["a missing comma between spans", export_(['{"a":1}{"b":2}'])],
    ["a leading comma", export_([',{"a":1}'])],
    ["a span cut short", export_(['{"a":[1}'])],
    ["brackets that do not match", export_(['{"a":1]'])],
    ["an unterminated string", export_(['{"a":"open}'])],
    ["trailing text", `${export_(['{"a":1}'])} x`],
    ["a raw control character in a string", export_(['{"a":"\u0001lor:0"}'])],
  ])("refuses what JSON.parse refuses: %s", (_case, text) => {
    const bytes = Buffer.from(text, "latin1");
    expect(outcome(() => JSON.parse(text))).toEqual({ error: "SyntaxError" });
    expect(outcome(() => parseLatin1JsonInPieces(bytes, 16))).toEqual({ error: "SyntaxError" });
  });

  it("parses data that spells its placeholder whole, so it cannot be mistaken for a piece", () => {
    const text = export_(['{"a":"\\u0001lor:0"}', '{"b":2}']);
    const bytes = Buffer.from(text, "latin1");
    expect(parseLatin1JsonInPieces(bytes, 16)).toEqual(JSON.parse(text));
  });

  it("keeps the last of repeated keys, as JSON.parse does, when the repeated key holds the spans", () => {
    const text = `[{"scopeSpans":[{"spans":[{"a":1}],"spans":[{"b":2},{"c":3}]}]}]`;
    expect(parseLatin1JsonInPieces(Buffer.from(text, "latin1"), 16)).toEqual(JSON.parse(text));
  });
});

describe("parseJsonInPiecesPaced", () => {
  it("gives JSON.parse's result of the UTF-8 text, pausing after every span and waiting for each pause", async () => {
    const spans = Array.from({ length: 60 }, (_, index) =>
      JSON.stringify({ traceId: index.toString(16).padStart(32, "0"), attributes: [{ key: "in", value: { stringValue: `${tricky[index % tricky.length]!} ${"é".repeat(200)}` } }] }),
    );
    const bytes = Buffer.from(export_(spans), "utf8");
    const order: string[] = [];
    const parsed = await parseJsonInPiecesPaced(
      bytes,
      "utf8",
      () => {
        order.push("pause");
        return Promise.resolve().then(() => void order.push("resumed"));
      },
      64,
    );
    expect(parsed).toEqual(JSON.parse(bytes.toString("utf8")));
    expect(await parseJsonInPiecesPaced(bytes, "latin1", () => undefined, 64)).toEqual(JSON.parse(bytes.toString("latin1")));
    expect(order).toEqual(Array.from({ length: 60 }, () => ["pause", "resumed"]).flat());
  });

  it("refuses what JSON.parse refuses", async () => {
    for (const text of [export_(['{"a":1}{"b":2}']), export_(['{"a":"open}']), `${export_(['{"a":1}'])} x`]) {
      for (const encoding of ["utf8", "latin1"] as const) {
        await expect(parseJsonInPiecesPaced(Buffer.from(text, "utf8"), encoding, () => undefined, 16)).rejects.toThrow(SyntaxError);
      }
    }
  });
});
