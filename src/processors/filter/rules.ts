import type { AttributeConditionConfig, FilterConfig, FilterRuleConfig, TextMatcherConfig } from "./config.js";
import { PRESETS } from "./presets.js";

export type SpanStatus = "unset" | "ok" | "error";

/**
 * What a rule reads of one span or native observation. Everything is read on demand: most rules
 * look at one or two fields, and a span's attributes are only indexed when a rule asks.
 */
export interface FilterSubject {
  readonly name: string | undefined;
  readonly scopeName: string | undefined;
  readonly status: SpanStatus;
  observationType(): string | undefined;
  /** Undefined when the key is absent; the value as text (null for arrays, maps and bytes) otherwise. */
  attribute(key: string): string | null | undefined;
  resourceAttribute(key: string): string | null | undefined;
  attributeKeys(): Iterable<string>;
  /** Native ingestion comes from Langfuse's SDKs or API: every preset keeps it. */
  readonly native: boolean;
}

export interface CompiledRule {
  readonly name: string;
  readonly level: "span" | "trace";
  matches(subject: FilterSubject): boolean;
}

export interface CompiledFilter {
  keep: CompiledRule[];
  drop: CompiledRule[];
  orphans: FilterConfig["orphans"];
}

export function compileFilter(config: FilterConfig): CompiledFilter {
  return {
    keep: config.keep.map((rule, index) => compileRule(rule, `keep_${index}`)),
    drop: config.drop.map((rule, index) => compileRule(rule, `drop_${index}`)),
    orphans: config.orphans,
  };
}

function compileRule(rule: FilterRuleConfig, defaultName: string): CompiledRule {
  const tests: Array<(subject: FilterSubject) => boolean> = [];
  if (rule.preset !== undefined) {
    const preset = PRESETS[rule.preset];
    tests.push((subject) => subject.native || preset(subject.scopeName, () => subject.attributeKeys()));
  }
  if (rule.span_name !== undefined) {
    const matches = textTest(rule.span_name);
    tests.push((subject) => matches(subject.name));
  }
  if (rule.scope_name !== undefined) {
    const matches = textTest(rule.scope_name);
    tests.push((subject) => matches(subject.scopeName));
  }
  if (rule.observation_type !== undefined) {
    const types = new Set<string>(rule.observation_type);
    tests.push((subject) => types.has(subject.observationType() ?? ""));
  }
  if (rule.status !== undefined) {
    const statuses = new Set<string>(rule.status);
    tests.push((subject) => statuses.has(subject.status));
  }
  for (const [key, condition] of Object.entries(rule.attributes ?? {})) {
    const holds = conditionTest(condition);
    tests.push((subject) => holds(subject.attribute(key)));
  }
  for (const [key, condition] of Object.entries(rule.resource_attributes ?? {})) {
    const holds = conditionTest(condition);
    tests.push((subject) => holds(subject.resourceAttribute(key)));
  }
  return { name: rule.name ?? defaultName, level: rule.level, matches: (subject) => tests.every((test) => test(subject)) };
}

function textTest(matchers: TextMatcherConfig[]): (text: string | undefined) => boolean {
  const tests = matchers.map((matcher): ((text: string) => boolean) => {
    if (typeof matcher === "string") return (text) => text === matcher;
    if ("prefix" in matcher) return (text) => text.startsWith(matcher.prefix);
    const regex = new RegExp(matcher.regex, matcher.flags);
    return (text) => regex.test(text);
  });
  return (text) => text !== undefined && tests.some((test) => test(text));
}

function conditionTest(condition: AttributeConditionConfig): (value: string | null | undefined) => boolean {
  if (typeof condition !== "object") {
    const expected = String(condition);
    return (value) => value === expected;
  }
  if ("exists" in condition) return (value) => (value !== undefined) === condition.exists;
  if ("equals" in condition) {
    const expected = String(condition.equals);
    return (value) => value === expected;
  }
  const regex = new RegExp(condition.regex, condition.flags);
  return (value) => typeof value === "string" && regex.test(value);
}
