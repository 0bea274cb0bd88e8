import { createHmac } from "node:crypto";
import { MAX_NESTING_DEPTH } from "../../model/nesting.js";
import { detector, type Detector, type DetectorName } from "./detectors.js";

/**
 * One set of redaction rules, compiled, and the walk that applies it to values: free text, JSON
 * held in text, and objects (input, output, metadata).
 *
 * - Detectors and patterns replace what they match inside a text; a pattern with a capture group
 *   replaces only the group (`password=(\S+)` keeps `password=`).
 * - Key rules replace the whole value under a matching key, whatever it holds.
 * - A replacement is a fixed marker, or a keyed hash of what it replaces (the same input gives the
 *   same pseudonym, so users can still group by it). Either is left alone by a second pass, so
 *   redacting twice gives what redacting once gave.
 *
 * Text that looks like JSON (`{…}`, `[…]` or a JSON string `"…"`) is parsed and walked, so keys
 * inside it are found, secrets behind its escapes too, and a replacement never breaks its escapes;
 * it is written back (compact) only when something in it was replaced. Anything nested deeper than
 * MAX_NESTING_DEPTH is replaced whole: what cannot be walked is not stored.
 */
export interface Replacement {
  readonly with: "marker" | "hash";
  readonly marker: string;
  /** The hash key (with: hash). */
  readonly key?: string;
}

export interface RedactionRules {
  readonly detectors: readonly DetectorName[];
  readonly patterns: ReadonlyArray<{ name: string; regex: string; flags?: string }>;
  readonly keys: readonly string[];
  readonly replacement: Replacement;
}

/** Called once per replacement, with the rule that made it (for the per-rule counters). */
export type RedactionCounter = (rule: string) => void;

interface TextRule {
  readonly name: string;
  readonly pattern: RegExp;
  /** Where in a match the secret is (detectors.ts); without it, the whole match. */
  readonly locate?: (match: string) => readonly [number, number] | undefined;
  /** Replace the first capture group, not the whole match. */
  readonly group: boolean;
  /** A text without any of these holds no match (Detector.hints). */
  readonly hints?: readonly string[] | undefined;
  /** Where in a long text matches can be (Detector.anchor). */
  readonly anchor?: Detector["anchor"];
}

/** Texts shorter than this are searched whole even when the rule has an anchor. */
const ANCHORED_SEARCH_FROM = 4096;

/**
 * The matches of a rule in a text, as matchAll gives them (`index`, `[0]`). A rule with an anchor
 * searches a long text only in windows around the anchor's occurrences, each window starting one
 * character early so the pattern's lookbehind reads what precedes it.
 */
function* matchesOf(rule: TextRule, text: string): IterableIterator<{ index: number; 0: string }> {
  const anchor = rule.anchor;
  rule.pattern.lastIndex = 0;
  if (anchor === undefined || text.length < ANCHORED_SEARCH_FROM) {
    for (const match of text.matchAll(rule.pattern)) yield { index: match.index, 0: match[0] };
    return;
  }
  let searchedTo = 0;
  for (let at = text.indexOf(anchor.literal); at !== -1; at = text.indexOf(anchor.literal, at + 1)) {
    if (at < searchedTo) continue;
    const start = Math.max(searchedTo, at - anchor.before - 1);
    const end = Math.min(text.length, at + anchor.literal.length + anchor.after);
    const window = text.slice(start, end);
    rule.pattern.lastIndex = 0;
    let last = start;
    for (const match of window.matchAll(rule.pattern)) {
      // Only matches around this occurrence; later ones get windows of their own.
      if (match.index + start > at) break;
      yield { index: match.index + start, 0: match[0] };
      last = match.index + start + match[0].length;
    }
    searchedTo = Math.max(last, at + 1);
  }
}

const HASH_OUTPUT = /^\[HASH:[0-9a-f]{16}\]$/;
const HASH_LENGTH = "[HASH:]".length + 16;
/** A JSON escape of a control character (\n, \t, \r, \b, \f), at any depth of JSON held in JSON text. */
const ESCAPED_CONTROL = /\\+[bfnrt]/;
const ESCAPED_CONTROL_ALL = new RegExp(ESCAPED_CONTROL.source, "g");
/** The shortest text a detector can match ("a@b.co"); custom patterns run on any text. */
const SHORTEST_DETECTABLE = 6;
/** Rule name under which values too deep to walk are counted. */
export const TOO_DEEP_RULE = "too_deep";

export class Redactor {
  readonly #detectors: readonly TextRule[];
  /** The detectors an escape's letter before a token hides from a scan of raw JSON text (detectors.ts). */
  readonly #hiddenAfterEscape: readonly TextRule[];
  readonly #patterns: readonly TextRule[];
  readonly #keys: ReadonlyArray<{ rule: string; pattern: RegExp }>;
  readonly #replacement: Replacement;
  /** The key globs' longest literal parts: a text without any of them holds none of the keys. */
  readonly #keyHints: readonly string[];

  constructor(
    rules: RedactionRules,
    private readonly count: RedactionCounter = () => {},
  ) {
    const detectors = rules.detectors.map(detector);
    this.#detectors = detectors.map(textRuleOf);
    this.#hiddenAfterEscape = detectors.filter((found) => found.hiddenAfterEscape).map(textRuleOf);
    this.#patterns = rules.patterns.map(({ name, regex, flags }) => {
      const pattern = new RegExp(regex, globalFlags(flags));
      return { name, pattern, group: capturingGroups(pattern) > 0 };
    });
    this.#keys = rules.keys.map((glob) => ({ rule: `key:${glob}`, pattern: globPattern(glob) }));
    this.#keyHints = rules.keys.map((glob) => longestLiteral(glob).toLowerCase());
    this.#replacement = rules.replacement;
  }

  /** Whether this set redacts anything at all. */
  get empty(): boolean {
    return this.#detectors.length === 0 && this.#patterns.length === 0 && this.#keys.length === 0;
  }

  /** The key rule a key matches (its name for the counters), if any. Keys are matched whole, ignoring case. */
  keyRule(key: string): string | undefined {
    for (const { rule, pattern } of this.#keys) if (pattern.test(key)) return rule;
    return undefined;
  }

  /** What a key rule puts in place of a value: the marker, or the hash of the value's text. */
  replaceWhole(value: unknown, rule: string): unknown {
    if (value === null || value === undefined) return value;
    if (typeof value === "string" && this.#isOutput(value)) return value;
    this.count(rule);
    return this.#replacementFor(typeof value === "string" ? value : safeJsonText(value));
  }

  /** What takes the place of a value nested too deep to walk: the marker, counted under TOO_DEEP_RULE. */
  tooDeep(): string {
    this.count(TOO_DEEP_RULE);
    return this.#replacement.marker;
  }

  /**
   * A text with every detector and pattern match replaced; JSON held in the text is walked. The
   * same string when nothing was replaced.
   */
  text(value: string, depth = 0): string {
    if (looksLikeJson(value)) {
      // Nothing in the raw text can match: nothing in the parsed one can either.
      if (!this.#mayRedactJson(value)) return value;
      const parsed = parseJson(value);
      if (parsed !== NOT_JSON) {
        const walked = this.value(parsed, depth + 1);
        return walked === parsed ? value : safeJsonText(walked);
      }
    }
    return this.#plainText(value);
  }

  /**
   * An integer's decimal text with every detector and pattern match replaced (a card number sent
   * as a number is still one); the same string when nothing was. Doubles are never checked: their
   * digits are a measurement's, and a fraction's digits would read as a card number.
   */
  integer(text: string): string {
    return this.#plainText(text);
  }

  /**
   * A JSON value (object, array, string, number…) with everything redacted: keys matched by key
   * rules, texts by detectors and patterns. Returns the same value (===) when nothing changed;
   * otherwise a changed copy of the parts that changed. Never modifies its argument.
   */
  value(value: unknown, depth = 0): unknown {
    if (typeof value === "string") return this.text(value, depth);
    if (typeof value === "number" && Number.isInteger(value)) {
      const text = String(value);
      const redacted = this.integer(text);
      return redacted === text ? value : redacted;
    }
    if (typeof value !== "object" || value === null) return value;
    if (depth >= MAX_NESTING_DEPTH) return this.tooDeep();
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      for (let index = 0; index < value.length; index += 1) {
        const item: unknown = value[index];
        const redacted = this.value(item, depth + 1);
        if (redacted !== item) (copy ??= value.slice())[index] = redacted;
      }
      return copy ?? value;
    }
    // Buffers' JSON ({type: "Buffer", data}) and other objects are walked alike: only keys and texts matter.
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key];
      const rule = this.keyRule(key);
      const redacted = rule === undefined ? this.value(item, depth + 1) : this.replaceWhole(item, rule);
      if (redacted !== item) {
        copy ??= { ...(value as Record<string, unknown>) };
        // Own data property, even for "__proto__" (the spread above copies it as one).
        Object.defineProperty(copy, key, { value: redacted, enumerable: true, writable: true, configurable: true });
      }
    }
    return copy ?? value;
  }

  /**
   * Whether what the rules look for is plain ASCII (no patterns of the user's, ASCII key globs), so
   * UTF-8 text can be scanned as Latin-1 (each byte one character) with the same result.
   */
  get asciiOnly(): boolean {
    return this.#patterns.length === 0 && this.#keyHints.every((hint) => /^[\x00-\x7f]*$/.test(hint));
  }

  /**
   * Whether redacting the values in a JSON text could change anything: a detector or pattern
   * matches the raw text, or a key's literal part appears in it, or it holds escapes that could
   * hide either. False means the text, and everything parsed from it, is left as it is.
   */
  mayChangeJson(text: string): boolean {
    return this.#mayRedactJson(text);
  }

  #mayRedactJson(text: string): boolean {
    if (this.#keyHints.length > 0) {
      const lower = text.toLowerCase();
      if (this.#keyHints.some((hint) => lower.includes(hint))) return true;
    }
    // Escapes decode to other characters: \u ones can hide anything, and a user's pattern may
    // look for what \n, \t or \" decode to. The detectors' shapes hold none of those.
    if (text.includes(this.#patterns.length > 0 ? "\\" : "\\u")) return true;
    if (text.length >= SHORTEST_DETECTABLE) {
      for (const rule of this.#detectors) if (matches(rule, text)) return true;
      // But the letter of an escape (the n of \n, at any depth of JSON in JSON) stands where the
      // decoded text has a control character, just before a token, and most detectors' lookbehinds
      // read it as part of the token. Scan again with such escapes as spaces; a token that starts
      // with the letter itself follows a backslash in the raw text, and the first scan sees it.
      if (this.#hiddenAfterEscape.length > 0 && ESCAPED_CONTROL.test(text)) {
        const unescaped = text.replace(ESCAPED_CONTROL_ALL, (escape) => " ".repeat(escape.length));
        for (const rule of this.#hiddenAfterEscape) if (matches(rule, unescaped)) return true;
      }
    }
    for (const rule of this.#patterns) if (matches(rule, text)) return true;
    return false;
  }

  /**
   * The stored JSON text of OTLP spans (`resourceSpans`, as the transcoder writes it) with every
   * detector match replaced in place, when that is what walking its objects would give: no
   * patterns of the user's (their anchors and lookarounds would read the raw text differently),
   * nothing a key rule could select, no \u escape, and every match inside a value that the walk
   * redacts (`stringValue`, a span's or event's `name`, a status `message`) and free of escapes,
   * quotes and non-ASCII bytes. Matches in ids, keys and scope names are left, as the walk leaves
   * them. Undefined otherwise (nothing counted): the caller walks the objects.
   *
   * `text` is the Latin-1 view of the UTF-8 bytes (one character per byte), so a replacement
   * keeps every other byte as it was. JSON held in a text is redacted where it stands, not parsed
   * and rewritten; a match standing where a number of such JSON would (after `:`, `[` or `,`) is
   * left to the walk, which writes it as text.
   */
  redactSpansJsonText(text: string): string | undefined {
    // Latin-1 text holds what ASCII rules look for exactly as the UTF-8 does (asciiOnly).
    if (!this.asciiOnly || text.includes("\\u")) return undefined;
    if (this.#keyHints.length > 0) {
      const lower = text.toLowerCase();
      if (this.#keyHints.some((hint) => lower.includes(hint))) return undefined;
    }
    const found: string[] = [];
    let current = text;
    let view = escapesAsSpaces(current);
    for (const rule of this.#detectors) {
      const next = this.#replaceInJsonText(rule, current, view, found);
      if (next === undefined) return undefined;
      [current, view] = next;
    }
    for (const rule of found) this.count(rule);
    return current;
  }

  /**
   * `view` is `text` with escapes of control characters as spaces (escapesAsSpaces); returns both
   * after the rule's replacements (which never touch an escape, so the view takes them as they are).
   */
  #replaceInJsonText(rule: TextRule, text: string, view: string, found: string[]): [string, string] | undefined {
    if (!mayMatch(rule, text)) return [text, view];
    let result = "";
    let resultView = "";
    let copied = 0;
    let replaced = false;
    for (const match of matchesOf(rule, view)) {
      let [start, end] = [0, match[0].length];
      if (rule.locate) {
        const located = rule.locate(match[0]);
        if (located === undefined) continue;
        [start, end] = located;
      }
      const at = match.index + start;
      const to = match.index + end;
      const secret = text.slice(at, to);
      if (!SAFE_IN_JSON_STRING.test(secret) || oddBackslashesBefore(text, at)) return undefined;
      const context = jsonStringContext(text, at);
      if (context === "number") return undefined;
      if (context === "left") continue;
      if (this.#insidePseudonym(text, at, to - at) || this.#isOutput(secret)) continue;
      found.push(rule.name);
      const replacement = this.#replacementFor(secret);
      result += text.slice(copied, at) + replacement;
      resultView += view.slice(copied, at) + replacement;
      copied = to;
      replaced = true;
    }
    return replaced ? [result + text.slice(copied), resultView + view.slice(copied)] : [text, view];
  }

  #plainText(value: string): string {
    let text = value;
    if (text.length >= SHORTEST_DETECTABLE) for (const rule of this.#detectors) text = this.#replaceMatches(rule, text);
    for (const rule of this.#patterns) text = this.#replaceMatches(rule, text);
    return text;
  }

  #replaceMatches(rule: TextRule, text: string): string {
    if (!mayMatch(rule, text)) return text;
    rule.pattern.lastIndex = 0;
    return text.replace(rule.pattern, (match: string, ...rest: unknown[]) => {
      const offset = rest.find((item) => typeof item === "number") as number;
      let [start, end] = [0, match.length];
      if (rule.locate) {
        const found = rule.locate(match);
        if (found === undefined) return match;
        [start, end] = found;
      }
      // Inside a pseudonym (its 16 hex digits can be all digits, and read as a card number).
      if (this.#insidePseudonym(text, offset + start, end - start)) return match;
      if (rule.locate) return match.slice(0, start) + this.#replaceFound(rule.name, match.slice(start, end)) + match.slice(end);
      if (!rule.group) return this.#replaceFound(rule.name, match);
      const group = rest[0];
      if (typeof group !== "string" || group === "") return match;
      const at = match.indexOf(group);
      return match.slice(0, at) + this.#replaceFound(rule.name, group) + match.slice(at + group.length);
    });
  }

  #replaceFound(rule: string, found: string): string {
    if (this.#isOutput(found)) return found;
    this.count(rule);
    return this.#replacementFor(found);
  }

  /**
   * Whether text[offset, offset + length) lies within a pseudonym (with: hash). A marker needs no
   * such check: the config refuses one that the rules would redact.
   */
  #insidePseudonym(text: string, offset: number, length: number): boolean {
    if (this.#replacement.with !== "hash") return false;
    const hashAt = text.lastIndexOf("[HASH:", offset);
    return hashAt >= 0 && hashAt + HASH_LENGTH >= offset + length && HASH_OUTPUT.test(text.slice(hashAt, hashAt + HASH_LENGTH));
  }

  #isOutput(text: string): boolean {
    return text === this.#replacement.marker || (this.#replacement.with === "hash" && HASH_OUTPUT.test(text));
  }

  #replacementFor(original: string): string {
    const replacement = this.#replacement;
    if (replacement.with === "marker") return replacement.marker;
    const digest = createHmac("sha256", replacement.key ?? "").update(original).digest("hex");
    return `[HASH:${digest.slice(0, 16)}]`;
  }
}

/** Escapes of control characters as spaces, so a token right after one starts where it does in the decoded text. */
function escapesAsSpaces(text: string): string {
  return ESCAPED_CONTROL.test(text) ? text.replace(ESCAPED_CONTROL_ALL, (escape) => " ".repeat(escape.length)) : text;
}

/** Printable ASCII but `"` and `\`: what may be cut out of a JSON string and replaced as it is. */
const SAFE_IN_JSON_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function oddBackslashesBefore(text: string, at: number): boolean {
  let count = 0;
  while (at - count - 1 >= 0 && text.charCodeAt(at - count - 1) === 0x5c) count += 1;
  return count % 2 === 1;
}

/** Keys of OTLP/JSON whose string values the walk redacts (otlp.ts). */
const REDACTED_VALUE_KEYS = ['"stringValue":"', '"name":"', '"message":"'];

/**
 * What the text at `at` is, in the transcoder's OTLP/JSON: inside a string value the walk redacts
 * ("redact"), inside something it leaves ("left": ids, keys, a scope's name), or where JSON held in
 * a text would have a number, or an intValue's digits ("number": the walk rewrites those as text).
 */
function jsonStringContext(text: string, at: number): "redact" | "left" | "number" {
  let quote = at - 1;
  while (quote >= 0 && (text.charCodeAt(quote) !== 0x22 || oddBackslashesBefore(text, quote))) quote -= 1;
  if (quote < 0) return "left";
  const key = REDACTED_VALUE_KEYS.find((candidate) => text.startsWith(candidate, quote + 1 - candidate.length));
  if (key === undefined) return text.startsWith('"intValue":"', quote + 1 - 12) ? "number" : "left";
  if (key === '"name":"' && text.startsWith('"scope":{', quote + 1 - key.length - 9)) return "left";
  // Inside a text: a match right after `:`, `[` or `,` (spaces aside) is a number of JSON held in it.
  let before = at - 1;
  while (before > quote && text.charCodeAt(before) === 0x20) before -= 1;
  const previous = text[before];
  return before > quote && (previous === ":" || previous === "[" || previous === ",") ? "number" : "redact";
}

function textRuleOf(detector: Detector): TextRule {
  return { name: detector.name, pattern: detector.pattern, locate: detector.locate, group: false, hints: detector.hints, anchor: detector.anchor };
}

/** False when the text holds none of the rule's hints, so its pattern cannot match it. */
function mayMatch(rule: TextRule, text: string): boolean {
  const hints = rule.hints;
  if (hints === undefined) return true;
  for (const hint of hints) if (text.includes(hint)) return true;
  return false;
}

function matches(rule: TextRule, text: string): boolean {
  if (!mayMatch(rule, text)) return false;
  rule.pattern.lastIndex = 0;
  if (!rule.locate && rule.anchor === undefined) return rule.pattern.test(text);
  for (const match of matchesOf(rule, text)) if (!rule.locate || rule.locate(match[0])) return true;
  return false;
}

/** User flags plus `g` (every match), without `y`, which would stop at the first gap. */
function globalFlags(flags: string | undefined): string {
  return [...new Set(`${flags ?? ""}g`.replace(/y/g, ""))].join("");
}

function capturingGroups(pattern: RegExp): number {
  return new RegExp(`${pattern.source}|`).exec("")!.length - 1;
}

/** A key glob (`*` any run, `?` one character) as an anchored, case-insensitive pattern. */
export function globPattern(glob: string): RegExp {
  const source = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[\\s\\S]*").replace(/\?/g, "[\\s\\S]");
  return new RegExp(`^${source}$`, "i");
}

function longestLiteral(glob: string): string {
  return glob.split(/[*?]/).reduce((longest, part) => (part.length > longest.length ? part : longest), "");
}

function looksLikeJson(text: string): boolean {
  let start = 0;
  while (start < text.length && text.charCodeAt(start) <= 32) start += 1;
  let end = text.length - 1;
  while (end > start && text.charCodeAt(end) <= 32) end -= 1;
  const first = text[start];
  const last = text[end];
  // A JSON string too: Langfuse's SDKs send a text input as JSON (`"line\nmore"`), and what its
  // escapes decode to is what Langfuse stores.
  return (first === "{" && last === "}") || (first === "[" && last === "]") || (first === '"' && last === '"' && end > start);
}

const NOT_JSON = Symbol("not JSON");

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

/** JSON text of a value that may nest too deep to serialise (the walk bounds what it builds, not what it got). */
function safeJsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
