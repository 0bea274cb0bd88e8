import type { AnyValue, KeyValue } from "../../model/otlp.js";
import { MAX_NESTING_DEPTH } from "../../model/nesting.js";
import type { Redactor } from "./redactor.js";

/**
 * Redacts OTLP trace data (the `resourceSpans` array, src/model/otlp.ts) in place: the attributes
 * of resources, scopes, spans, span events and links (key rules on their keys, detectors and
 * patterns on their texts, JSON held in texts walked), span and event names, and status messages.
 * Ids, times, kinds and counts are structure, and are never touched. Byte values are left as
 * they are, and so are doubles and booleans unless a key rule names their key; an integer is
 * checked as its decimal text and becomes text when a rule matches it.
 *
 * The input is unchecked (no validate before redact): anything that is not the expected shape is
 * skipped, never trusted.
 */
export function redactResourceSpans(resourceSpans: readonly unknown[], redactor: Redactor): void {
  for (const resource of resourceSpans) {
    if (!isObject(resource)) continue;
    redactAttributesOf(resource.resource, redactor);
    for (const scopeSpans of listOf(resource.scopeSpans)) {
      if (!isObject(scopeSpans)) continue;
      redactAttributesOf(scopeSpans.scope, redactor);
      for (const span of listOf(scopeSpans.spans)) redactSpan(span, redactor);
    }
  }
}

function redactSpan(span: unknown, redactor: Redactor): void {
  if (!isObject(span)) return;
  redactTextField(span, "name", redactor);
  redactAttributesOf(span, redactor);
  for (const event of listOf(span.events)) {
    if (!isObject(event)) continue;
    redactTextField(event, "name", redactor);
    redactAttributesOf(event, redactor);
  }
  for (const link of listOf(span.links)) redactAttributesOf(link, redactor);
  if (isObject(span.status)) redactTextField(span.status, "message", redactor);
}

function redactTextField(holder: Record<string, unknown>, field: string, redactor: Redactor): void {
  const value = holder[field];
  if (typeof value === "string") holder[field] = redactor.text(value);
}

function redactAttributesOf(holder: unknown, redactor: Redactor): void {
  if (isObject(holder)) redactKeyValues(holder.attributes, redactor, 0);
}

function redactKeyValues(list: unknown, redactor: Redactor, depth: number): void {
  for (const entry of listOf(list)) {
    if (!isObject(entry)) continue;
    const keyValue = entry as KeyValue;
    // A key that is not text is read as its String() by Langfuse; match it the same way.
    const rule = entry.key === undefined || entry.key === null ? undefined : redactor.keyRule(String(entry.key));
    if (rule !== undefined) {
      if (keyValue.value !== undefined && keyValue.value !== null) keyValue.value = replaceAnyValue(keyValue.value, rule, redactor);
      continue;
    }
    redactAnyValue(keyValue.value, redactor, depth + 1);
  }
}

function redactAnyValue(value: unknown, redactor: Redactor, depth: number): void {
  if (!isObject(value)) return;
  const anyValue = value as AnyValue & Record<string, unknown>;
  if (depth >= MAX_NESTING_DEPTH) {
    // SpanBatch refuses spans this deep before any processor; this is the walk's own bound.
    for (const key of Object.keys(anyValue)) delete anyValue[key];
    anyValue.stringValue = redactor.tooDeep();
    return;
  }
  if (typeof anyValue.stringValue === "string") anyValue.stringValue = redactor.text(anyValue.stringValue, depth);
  else if (anyValue.intValue !== undefined && anyValue.intValue !== null) {
    // An integer is checked as its decimal text (a card number sent as a number); a match makes it text.
    const text = String(anyValue.intValue);
    const redacted = redactor.integer(text);
    if (redacted !== text) {
      delete anyValue.intValue;
      anyValue.stringValue = redacted;
    }
  }
  if (isObject(anyValue.arrayValue)) for (const item of listOf(anyValue.arrayValue.values)) redactAnyValue(item, redactor, depth + 1);
  if (isObject(anyValue.kvlistValue)) redactKeyValues(anyValue.kvlistValue.values, redactor, depth + 1);
}

/** A key rule's replacement of a whole AnyValue, as a string value. */
function replaceAnyValue(value: unknown, rule: string, redactor: Redactor): AnyValue {
  const text = isObject(value) && typeof value.stringValue === "string" && Object.keys(value).length === 1 ? value.stringValue : value;
  return { stringValue: String(redactor.replaceWhole(text, rule)) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function listOf(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}
