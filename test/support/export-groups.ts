import { ExportGroup, type ExportRequest } from "../../src/pipeline/export.js";

/** The context of an OTLP request of project `p1`, as the exporters and the spool receive it. */
export function exportContext(): ExportRequest["context"] {
  return {
    receiver: "otlp",
    transport: "http",
    source: "otel",
    authorization: undefined,
    sdkName: "unknown",
    sdkVersion: "unknown",
    ingestionVersion: "",
    scope: { projectId: "p1", accessLevel: "project", publicKey: "pk" },
  };
}

/** `count` groups of one span-create each, with body ids `span-0`, `span-1`, … */
export function spanGroups(count: number): ExportGroup[] {
  return Array.from({ length: count }, (_, index) =>
    ExportGroup.fromEvents("observation", `span-${index}`, [{ id: `event-${index}`, timestamp: "2024-01-01T00:00:00.000Z", type: "span-create", body: { id: `span-${index}` } }]),
  );
}
