import { describe, expect, it } from "vitest";
import { sep } from "node:path";
import { keyToRelativePath } from "../../src/exporters/file/factory.js";
import { eventObjectKey } from "../../src/model/blob-keys.js";

/** Ids that mean something to a file system cannot leave the file exporter's directory. */
describe("file exporter paths", () => {
  it("escapes . and .. segments that the S3 key rule leaves alone", () => {
    const key = eventObjectKey("events/", "p1", "trace", "..", ".").objectKey;
    expect(key).toBe("events/p1/trace/../..json");
    const path = keyToRelativePath(key);
    expect(path.split(sep)).toEqual(["events", "p1", "trace", "%2E%2E", "..json"]);
    expect(path.split(sep)).not.toContain("..");
  });

  it("maps distinct keys to distinct paths, also for ids that look like escapes", () => {
    const ids = ["..", "%2E%2E", ".", "%2E", "%", "%25", "a"];
    const paths = ids.map((id) => keyToRelativePath(eventObjectKey("", "p", "trace", id, "e").objectKey));
    expect(new Set(paths).size).toBe(ids.length);
  });

  it("keeps slashes and backslashes from ids out of the path (safe segments replace them)", () => {
    const key = eventObjectKey("", "p1", "observation", "../../etc/passwd", "a\\b").objectKey;
    const segments = keyToRelativePath(key).split(sep);
    expect(segments).toHaveLength(4);
    expect(segments.every((segment) => segment !== ".." && segment !== "." && segment !== "")).toBe(true);
  });
});
