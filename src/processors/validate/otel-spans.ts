import { InvalidDataError } from "../../pipeline/errors.js";
import { isBufferJson } from "../../model/span-ids.js";

/**
 * Langfuse's check of a raw OTLP export before it stores it for the worker: every span needs a
 * trace and span id in a form the worker can read, and the lists the worker walks must be lists.
 * Any problem rejects the whole export, as Langfuse does, because the worker would otherwise fail
 * on the stored object and retry it until it gives up. Id contents (hex, length) are not checked.
 */

function isId(value: unknown): boolean {
  return typeof value === "string" || value instanceof Uint8Array || Array.isArray(value) || isBufferJson(value);
}

function idProblem(value: unknown): "absent" | "not_an_id" | undefined {
  if (value === undefined || value === null) return "absent";
  return isId(value) ? undefined : "not_an_id";
}

/** A field that, when present, must be an array. */
function notAnArray(holder: unknown, field: string): boolean {
  if (typeof holder !== "object" || holder === null) return false;
  const value = (holder as Record<string, unknown>)[field];
  return value !== undefined && value !== null && !Array.isArray(value);
}

function field(holder: unknown, name: string): unknown {
  return typeof holder === "object" && holder !== null ? (holder as Record<string, unknown>)[name] : undefined;
}

/** Throws InvalidDataError (400) naming every kind of problem, the span counts and the instrumentation scopes. */
export function checkOtelExport(resourceSpans: readonly unknown[]): void {
  const problems = new Map<string, number>();
  const note = (problem: string) => problems.set(problem, (problems.get(problem) ?? 0) + 1);
  const scopes = new Set<string>();
  let total = 0;
  let invalid = 0;
  for (const resource of resourceSpans) {
    if (typeof resource !== "object" || resource === null || Array.isArray(resource)) {
      note("resourceSpans[]:not_an_object");
      continue;
    }
    if (notAnArray(field(resource, "resource"), "attributes")) note("resource.attributes:not_an_array");
    if (notAnArray(resource, "scopeSpans")) note("scopeSpans:not_an_array");
    const scopeList = field(resource, "scopeSpans");
    for (const scope of Array.isArray(scopeList) ? scopeList : []) {
      const name = field(field(scope, "scope"), "name");
      if (typeof name === "string" && name !== "") scopes.add(name);
      if (notAnArray(field(scope, "scope"), "attributes")) note("scope.attributes:not_an_array");
      if (notAnArray(scope, "spans")) note("spans:not_an_array");
      const spans = field(scope, "spans");
      for (const span of Array.isArray(spans) ? spans : []) {
        total += 1;
        const found: string[] = [];
        if (typeof span !== "object" || span === null || Array.isArray(span)) found.push("span:not_an_object");
        else {
          const traceId = idProblem(field(span, "traceId"));
          if (traceId) found.push(`traceId:${traceId}`);
          const spanId = idProblem(field(span, "spanId"));
          if (spanId) found.push(`spanId:${spanId}`);
          const parent = field(span, "parentSpanId");
          if (parent && !isId(parent)) found.push("parentSpanId:not_an_id");
          if (notAnArray(span, "attributes")) found.push("attributes:not_an_array");
          if (notAnArray(span, "events")) found.push("events:not_an_array");
          const events = field(span, "events");
          if (Array.isArray(events) && events.some((event) => notAnArray(event, "attributes"))) found.push("events.attributes:not_an_array");
        }
        if (found.length > 0) invalid += 1;
        for (const problem of found) note(problem);
      }
    }
  }
  if (problems.size === 0) return;
  const list = [...problems].map(([problem, count]) => `${problem} x${count}`).join(", ");
  const hint = [...problems.keys()].some((problem) => problem.endsWith(":absent"))
    ? " Every span needs a traceId and a spanId; an exporter of OpenTelemetry logs or metrics pointed at the traces endpoint sends none."
    : "";
  throw new InvalidDataError(
    `Invalid OTLP trace export: ${invalid} of ${total} span(s) cannot be processed (${list}).${hint} ` +
      `The entire export was rejected and no spans were ingested. Instrumentation scopes: ${scopes.size > 0 ? [...scopes].join(", ") : "none"}.`,
  );
}
