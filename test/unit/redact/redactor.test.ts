import { describe, expect, it } from "vitest";
import { DETECTOR_NAMES, isPaymentCardNumber, passesLuhn } from "../../../src/processors/redact/detectors.js";
import { Redactor, type RedactionRules } from "../../../src/processors/redact/redactor.js";
import { NOT_SECRETS, SECRETS } from "./secrets.js";

const marker = { with: "marker", marker: "[REDACTED]" } as const;
const rules = (overrides: Partial<RedactionRules> = {}): RedactionRules => ({ detectors: [...DETECTOR_NAMES], patterns: [], keys: [], replacement: marker, ...overrides });

function counting(set: RedactionRules): { redactor: Redactor; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  return { redactor: new Redactor(set, (rule) => counts.set(rule, (counts.get(rule) ?? 0) + 1)), counts };
}

describe("built-in detectors", () => {
  for (const [name, samples] of Object.entries(SECRETS)) {
    it(`${name}: finds each sample inside text, and only that detector counts it`, () => {
      for (const secret of samples) {
        const { redactor, counts } = counting(rules());
        expect(redactor.text(`before ${secret} after`)).toBe("before [REDACTED] after");
        expect([...counts]).toEqual([[name, 1]]);
        // At the very start and end of a text, and inside quotes or brackets.
        expect(redactor.text(secret)).toBe("[REDACTED]");
        expect(redactor.text(`"${secret}"`)).toBe('"[REDACTED]"');
        expect(redactor.text(`(${secret})`)).toBe("([REDACTED])");
      }
    });
  }

  it("leaves text alone that only looks like a secret", () => {
    const { redactor, counts } = counting(rules());
    for (const text of NOT_SECRETS) expect(redactor.text(text), text).toBe(text);
    expect(counts.size).toBe(0);
  });

  it("the Luhn check and the issuers' lengths decide what is a card number", () => {
    expect(passesLuhn("4111111111111111")).toBe(true);
    expect(passesLuhn("4111111111111112")).toBe(false);
    expect(isPaymentCardNumber("4111-1111-1111-1111")).toBe(true);
    // Mixed separators, an unknown prefix, a length Visa does not use.
    expect(isPaymentCardNumber("4111-1111 1111-1111")).toBe(false);
    expect(isPaymentCardNumber("9111111111111119")).toBe(false);
    expect(isPaymentCardNumber("41111111111111")).toBe(false);
  });

  it("a card number next to more digit groups (a CVV, an expiry, a count) is still found; a fraction's digits are not a card", () => {
    const redactor = new Redactor(rules());
    expect(redactor.text("card 4111 1111 1111 1111 123")).toBe("card [REDACTED] 123");
    expect(redactor.text("4111-1111-1111-1111-12-25")).toBe("[REDACTED]-12-25");
    expect(redactor.text("qty 5 4111 1111 1111 1111")).toBe("qty 5 [REDACTED]");
    expect(redactor.text("score 0.4111111111111111 and -1.4440184941685127e-43")).toBe("score 0.4111111111111111 and -1.4440184941685127e-43");
    expect(redactor.text("id 12345678901234567890123")).toBe("id 12345678901234567890123");
  });

  it("in a long text, e-mail addresses are searched around each @ only, and found exactly as in short texts", () => {
    const redactor = new Redactor(rules({ detectors: ["email"] }));
    const addresses = ["a@b.co", `${"x".repeat(64)}@example.com`, `first.last@${"sub.".repeat(40)}example.org`, "not an address @ here", "ann@example.com"];
    const filler = (length: number) => "lorem ipsum ".repeat(Math.ceil(length / 12)).slice(0, length);
    const pieces = addresses.flatMap((address, index) => [filler(1500 + index * 37), address, index % 2 ? "@@" : " "]);
    const long = pieces.join(" ");
    expect(long.length).toBeGreaterThan(4096);
    expect(redactor.text(long)).toBe(pieces.map((piece) => redactor.text(piece)).join(" "));
    expect(redactor.text(long).match(/\[REDACTED\]/g)).toHaveLength(4);
    expect(redactor.mayChangeJson(JSON.stringify(long))).toBe(true);
    expect(redactor.mayChangeJson(JSON.stringify(filler(9000) + "@ nothing@"))).toBe(false);
  });

  it("an integer is checked as its decimal text; doubles and other integers stay numbers", () => {
    const redactor = new Redactor(rules());
    expect(redactor.value({ card: 4111111111111111, ts: 1700000000000, ratio: 0.4111111111111111 })).toEqual({ card: "[REDACTED]", ts: 1700000000000, ratio: 0.4111111111111111 });
    const custom = new Redactor(rules({ detectors: [], patterns: [{ name: "employee", regex: "^7\\d{5}$" }] }));
    expect(custom.value([712345, 812345])).toEqual(["[REDACTED]", 812345]);
  });

  it("a private key cut off before its END line is redacted to the end of the text", () => {
    const { redactor } = counting(rules({ detectors: ["private_key"] }));
    expect(redactor.text("key: -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC")).toBe("key: [REDACTED]");
  });

  it("only the listed detectors run", () => {
    const { redactor } = counting(rules({ detectors: ["email"] }));
    expect(redactor.text(`ann@example.com ${SECRETS.aws_access_key[0]}`)).toBe(`[REDACTED] ${SECRETS.aws_access_key[0]}`);
  });
});

describe("patterns and keys", () => {
  it("a pattern replaces its whole match, or only its first capture group", () => {
    const { redactor, counts } = counting(rules({ detectors: [], patterns: [{ name: "employee", regex: "EMP-\\d{6}" }, { name: "password", regex: "password=(\\S+)", flags: "i" }] }));
    expect(redactor.text("EMP-123456 logged in with Password=hunter2 today")).toBe("[REDACTED] logged in with Password=[REDACTED] today");
    expect(Object.fromEntries(counts)).toEqual({ employee: 1, password: 1 });
  });

  it("key globs match whole keys, ignoring case, and replace whatever the key holds", () => {
    const { redactor, counts } = counting(rules({ detectors: [], keys: ["*password*", "authorization", "card.?"] }));
    const input = { user: { Password: "x", db_password_hash: 42, nested: { AUTHORIZATION: { scheme: "Bearer", token: "t" } } }, card: { a: 1 }, "card.1": [1, 2], passwords: null };
    expect(redactor.value(input)).toEqual({
      user: { Password: "[REDACTED]", db_password_hash: "[REDACTED]", nested: { AUTHORIZATION: "[REDACTED]" } },
      card: { a: 1 },
      "card.1": "[REDACTED]",
      passwords: null,
    });
    expect(Object.fromEntries(counts)).toEqual({ "key:*password*": 2, "key:authorization": 1, "key:card.?": 1 });
  });

  it("walks JSON held in text, finds keys and secrets inside it, and writes valid JSON back", () => {
    const { redactor } = counting(rules({ keys: ["api_key"] }));
    const prompt = JSON.stringify({ messages: [{ role: "user", content: "mail me at\nann@example.com" }], api_key: "k-1", other: "é" });
    const redacted = redactor.text(prompt);
    expect(JSON.parse(redacted)).toEqual({ messages: [{ role: "user", content: "mail me at\n[REDACTED]" }], api_key: "[REDACTED]", other: "é" });
    // A secret hidden behind \u escapes is found in the decoded text.
    expect(JSON.parse(redactor.text('{"to":"ann\\u0040example.com"}'))).toEqual({ to: "[REDACTED]" });
    // JSON with nothing to redact is returned as it was, spacing included.
    const untouched = '{ "a": [1, 2],  "b": "text" }';
    expect(redactor.text(untouched)).toBe(untouched);
  });

  it("text that only looks like JSON is redacted as text", () => {
    const { redactor } = counting(rules());
    expect(redactor.text("{not json: ann@example.com}")).toBe("{not json: [REDACTED]}");
  });

  it("never changes its argument; unchanged values come back as the same object", () => {
    const { redactor } = counting(rules({ keys: ["secret"] }));
    const input = { a: { secret: "s" }, b: { keep: "me" } };
    const output = redactor.value(input) as typeof input;
    expect(input.a.secret).toBe("s");
    expect(output.b).toBe(input.b);
    const clean = { x: ["nothing", { to: "see" }] };
    expect(redactor.value(clean)).toBe(clean);
  });

  it("keeps __proto__ an own key, never a prototype", () => {
    const { redactor } = counting(rules());
    const input = JSON.parse('{"__proto__": {"mail": "ann@example.com"}}') as Record<string, unknown>;
    const output = redactor.value(input) as Record<string, unknown>;
    expect(Object.getPrototypeOf(output)).toBe(Object.prototype);
    expect(JSON.stringify(output)).toBe('{"__proto__":{"mail":"[REDACTED]"}}');
  });

  it("replaces a value nested too deep to walk", () => {
    const { redactor, counts } = counting(rules());
    let deep: unknown = "ann@example.com";
    for (let level = 0; level < 300; level += 1) deep = [deep];
    const output = redactor.value(deep);
    expect(JSON.stringify(output)).toContain('"[REDACTED]"');
    expect(JSON.stringify(output).length).toBeLessThan(300);
    expect(counts.get("too_deep")).toBe(1);
  });
});

describe("replacement", () => {
  const hashing = rules({ keys: ["user"], replacement: { with: "hash", marker: "[REDACTED]", key: "k".repeat(32) } });

  it("a keyed hash gives the same pseudonym for the same value, another for another value or key", () => {
    const { redactor } = counting(hashing);
    const first = redactor.text("from ann@example.com");
    expect(first).toMatch(/^from \[HASH:[0-9a-f]{16}\]$/);
    expect(redactor.text("to ann@example.com")).toBe(first.replace("from", "to"));
    expect(redactor.text("from bob@example.com")).not.toBe(first);
    const other = new Redactor({ ...hashing, replacement: { with: "hash", marker: "[REDACTED]", key: "x".repeat(32) } });
    expect(other.text("from ann@example.com")).not.toBe(first);
  });

  it("redacting twice gives what redacting once gave, with markers and with hashes", () => {
    for (const set of [rules({ keys: ["user"], patterns: [{ name: "pw", regex: "pw=(\\S+)" }] }), { ...hashing, patterns: [{ name: "pw", regex: "pw=(\\S+)" }] }]) {
      const { redactor } = counting(set);
      const input = { user: "ann", text: `pw=hunter2 ${SECRETS.jwt[0]} ann@example.com`, json: JSON.stringify({ user: 7, mail: "bob@example.com" }) };
      const once = redactor.value(input);
      expect(redactor.value(once)).toEqual(once);
    }
  });
});
