import { ExportGroup, type ExportRequest } from "../../src/pipeline/export.js";

/** The context of an authenticated OTLP request of project `p1`; `overrides` replace single fields. */
export function exportContext(overrides: Partial<ExportRequest["context"]> = {}): ExportRequest["context"] {
  return {
    receiver: "otlp",
    transport: "http",
    source: "otel",
    authorization: undefined,
    sdkName: "unknown",
    sdkVersion: "unknown",
    ingestionVersion: "",
    scope: { projectId: "p1", accessLevel: "project", publicKey: "pk" },
    ...overrides,
  };
}

/** `count` groups of one span-create each, with body ids `span-0`, `span-1`, … */
export function spanGroups(count: number): ExportGroup[] {
  return Array.from({ length: count }, (_, index) =>
    ExportGroup.fromEvents("observation", `span-${index}`, [{ id: `event-${index}`, timestamp: "2024-01-01T00:00:00.000Z", type: "span-create", body: { id: `span-${index}` } }]),
  );
}
