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
 * Text that looks like JSON (`{…}` or `[…]`) is parsed and walked, so keys inside it are found and
 * a replacement never breaks its escapes; it is written back (compact) only when something in it
 * was replaced. Anything nested deeper than MAX_NESTING_DEPTH is replaced whole: what cannot be
 * walked is not stored.
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
  readonly accept?: (match: string) => boolean;
  /** Replace the first capture group, not the whole match. */
  readonly group: boolean;
}

const HASH_OUTPUT = /^\[HASH:[0-9a-f]{16}\]$/;
/** The shortest text a detector can match ("a@b.co"); custom patterns run on any text. */
const SHORTEST_DETECTABLE = 6;
/** Rule name under which values too deep to walk are counted. */
export const TOO_DEEP_RULE = "too_deep";

export class Redactor {
  readonly #detectors: readonly TextRule[];
  readonly #patterns: readonly TextRule[];
  readonly #keys: ReadonlyArray<{ rule: string; pattern: RegExp }>;
  readonly #replacement: Replacement;
  /** The key globs' longest literal parts: a text without any of them holds none of the keys. */
  readonly #keyHints: readonly string[];

  constructor(
    rules: RedactionRules,
    private readonly count: RedactionCounter = () => {},
  ) {
    this.#detectors = rules.detectors.map((name) => textRuleOf(detector(name)));
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
   * A JSON value (object, array, string, number…) with everything redacted: keys matched by key
   * rules, texts by detectors and patterns. Returns the same value (===) when nothing changed;
   * otherwise a changed copy of the parts that changed. Never modifies its argument.
   */
  value(value: unknown, depth = 0): unknown {
    if (typeof value === "string") return this.text(value, depth);
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
    for (const rule of text.length >= SHORTEST_DETECTABLE ? this.#detectors : []) if (matches(rule, text)) return true;
    for (const rule of this.#patterns) if (matches(rule, text)) return true;
    return false;
  }

  #plainText(value: string): string {
    let text = value;
    if (text.length >= SHORTEST_DETECTABLE) for (const rule of this.#detectors) text = this.#replaceMatches(rule, text);
    for (const rule of this.#patterns) text = this.#replaceMatches(rule, text);
    return text;
  }

  #replaceMatches(rule: TextRule, text: string): string {
    rule.pattern.lastIndex = 0;
    return text.replace(rule.pattern, (match: string, ...rest: unknown[]) => {
      if (rule.accept && !rule.accept(match)) return match;
      if (!rule.group) return this.#replaceFound(rule.name, match);
      const group = rest[0];
      if (typeof group !== "string" || group === "") return match;
      const offset = match.indexOf(group);
      return match.slice(0, offset) + this.#replaceFound(rule.name, group) + match.slice(offset + group.length);
    });
  }

  #replaceFound(rule: string, found: string): string {
    if (this.#isOutput(found)) return found;
    this.count(rule);
    return this.#replacementFor(found);
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

function textRuleOf(detector: Detector): TextRule {
  return { name: detector.name, pattern: detector.pattern, accept: detector.accept, group: false };
}

function matches(rule: TextRule, text: string): boolean {
  rule.pattern.lastIndex = 0;
  if (!rule.accept) return rule.pattern.test(text);
  for (const match of text.matchAll(rule.pattern)) if (rule.accept(match[0])) return true;
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
  return (first === "{" && last === "}") || (first === "[" && last === "]");
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
