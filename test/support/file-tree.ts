import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll } from "vitest";

/**
 * Folders shaped like parts of the system the daemon reads (a container's /sys/fs/cgroup, /proc),
 * each made fresh and removed when the test file ends.
 */
const folders: string[] = [];
afterAll(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** A temporary folder holding these files (paths relative to it). */
export function fileTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "lor-tree-"));
  folders.push(root);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), content);
  }
  return root;
}
