import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { z } from "zod";
import { flag } from "../../config/units.js";
import type { ComponentSettings, EventsExporter, ExporterFactory } from "../../pipeline/component.js";
import { RetryableError } from "../../pipeline/errors.js";
import type { ExportFailure, ExportRequest } from "../../pipeline/export.js";
import { blobLayoutFields } from "../blob-settings.js";

export const fileConfigSchema = z.strictObject({
  /** Root folder; objects land at `<directory>/<key>`, with the same keys the s3 exporter writes. */
  directory: z.string().min(1),
  ...blobLayoutFields,
  /** fsync each file and its folder before reporting success. */
  fsync: flag.default(true),
});

export type FileConfig = z.output<typeof fileConfigSchema>;

/**
 * Object keys may contain segments that mean something to a file system but nothing to S3
 * (`.` and `..`, from ids the safe-segment rule leaves alone, or an empty one from `//` in a
 * prefix). They are percent-escaped, and so is `%` itself, so the mapping stays one-to-one: no id
 * can leave the directory or land on another id's file.
 */
export function keyToRelativePath(key: string): string {
  return key
    .split("/")
    .map((raw) => {
      const segment = raw.replaceAll("%", "%25");
      if (segment === "") return "%00";
      return segment === "." || segment === ".." ? segment.replaceAll(".", "%2E") : segment;
    })
    .join(sep);
}

async function writeAtomically(path: string, body: Buffer, durable: boolean): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(temporary, "w");
  try {
    await handle.writeFile(body);
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  if (durable) {
    const folder = await open(dirname(path), "r");
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  }
}

class FileExporter implements EventsExporter {
  readonly role = "blob";
  readonly #root: string;

  constructor(
    private readonly settings: ComponentSettings,
    private readonly config: FileConfig,
  ) {
    this.#root = resolve(config.directory);
  }

  async start(): Promise<void> {
    await mkdir(this.#root, { recursive: true });
  }

  async shutdown(): Promise<void> {}

  async exportGroups(request: ExportRequest): Promise<ExportFailure[]> {
    const { projectId } = request.context.scope;
    const failures: ExportFailure[] = [];
    await Promise.all(
      request.groups.map(async (group) => {
        const key = group.objectKey(this.config.prefix, projectId, this.config.max_segment_bytes);
        const path = join(this.#root, keyToRelativePath(key.objectKey));
        try {
          if (!path.startsWith(this.#root + sep)) throw new Error(`key ${JSON.stringify(key.objectKey)} leaves the directory`);
          await writeAtomically(path, group.body, this.config.fsync);
          group.blob = { bucketPrefix: key.bucketPrefix, fileKey: key.fileKey };
        } catch (error) {
          this.settings.logger.warn({ err: error }, "file export failed");
          failures.push({ group, error: new RetryableError(`file export failed: ${(error as Error).message}`, 1000, { cause: error }) });
        }
      }),
    );
    return failures;
  }
}

export const fileExporterFactory: ExporterFactory<typeof fileConfigSchema> = {
  kind: "exporter",
  type: "file",
  role: "blob",
  configSchema: fileConfigSchema,
  create: (settings, config) => new FileExporter(settings, config),
};
