/**
 * sdk-log and dataset-run-item-create (contract §2.2, §2.4), public versus internal variant.
 */
import { describe, expect, it } from "vitest";
import { validateIngestionEvent } from "../../../src/processors/validate/schema.js";

const T = "2024-01-01T00:00:00.000Z";

function run(type: string, body: unknown, internal?: boolean) {
  return validateIngestionEvent({ id: "e1", timestamp: T, type, body }, internal === undefined ? undefined : { internal });
}

function issues(type: string, body: unknown, internal?: boolean): Array<Record<string, unknown>> {
  const result = run(type, body, internal);
  if (result.ok) throw new Error(`expected failure, got ${JSON.stringify(result.event)}`);
  return JSON.parse(result.error) as Array<Record<string, unknown>>;
}

describe("sdk-log", () => {
  it("is accepted with any JSON log and an optional id", () => {
    for (const log of [{ msg: "x", nested: [null, 1] }, [1], "text", 0, true]) {
      const result = run("sdk-log", { log, id: "l1", extra: 1 });
      expect(result.ok && JSON.stringify(result.event)).toBe(
        `{"id":"e1","timestamp":"${T}","type":"sdk-log","body":{"log":${JSON.stringify(log)},"id":"l1"}}`,
      );
    }
    const noId = run("sdk-log", { log: "x" });
    expect(noId.ok && JSON.stringify(noId.event.body)).toBe(`{"log":"x"}`);
  });

  it("requires a non-null log", () => {
    expect(issues("sdk-log", {})[0]).toMatchObject({ code: "invalid_union", path: ["body", "log"] });
    expect(issues("sdk-log", { log: null })[0]).toMatchObject({ code: "invalid_union", path: ["body", "log"] });
    expect(issues("sdk-log", { log: "x", id: 5 })[0]).toMatchObject({ path: ["body", "id"] });
  });

  it("is accepted by the internal variant too", () => {
    expect(run("sdk-log", { log: "x" }, true).ok).toBe(true);
  });
});

describe("dataset-run-item-create", () => {
  const item = {
    datasetVersion: "2024-01-01T00:00:00Z",
    datasetItemId: "i",
    runId: "r",
    datasetId: "d",
    createdAt: T,
    error: null,
    observationId: "o",
    traceId: "t",
    id: "dri1",
    environment: "prod",
    extra: 1,
  };

  it("always fails on the public schema, with its message", () => {
    expect(issues("dataset-run-item-create", item)).toEqual([
      { code: "custom", path: ["body"], message: "Dataset run item creation is only allowed for internal usage" },
    ]);
    expect(issues("dataset-run-item-create", item, false)[0]).toMatchObject({ path: ["body"] });
  });

  it("is accepted by the internal schema, in shape order, without environment", () => {
    const result = run("dataset-run-item-create", item, true);
    expect(result.ok && JSON.stringify(result.event)).toBe(
      `{"id":"e1","timestamp":"${T}","type":"dataset-run-item-create","body":{"id":"dri1","traceId":"t","observationId":"o",` +
        `"error":null,"createdAt":"${T}","datasetId":"d","runId":"r","datasetItemId":"i","datasetVersion":"2024-01-01T00:00:00Z"}}`,
    );
  });

  it("requires traceId, datasetId, runId and datasetItemId", () => {
    for (const key of ["traceId", "datasetId", "runId", "datasetItemId"]) {
      const body: Record<string, unknown> = { ...item };
      delete body[key];
      expect(issues("dataset-run-item-create", body, true)[0]).toMatchObject({ path: ["body", key] });
    }
    expect(issues("dataset-run-item-create", { ...item, createdAt: "yesterday" }, true)[0]).toMatchObject({
      path: ["body", "createdAt"],
    });
  });

  it("does not accept the underscore spelling as a type", () => {
    expect(issues("dataset_run_item-create", item, true)[0]).toMatchObject({ code: "invalid_union", path: ["type"] });
  });
});
