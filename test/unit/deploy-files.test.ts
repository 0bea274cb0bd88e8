import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { loadConfigText } from "../../src/config/load.js";

/**
 * Docker cannot run here, so the packaging files are checked the way a reviewer would: the
 * manifests parse, carry what Kubernetes needs, embed pipeline configs the daemon accepts, and
 * agree with them (probe ports and paths, grace period longer than the shutdown deadline).
 */
const ROOT = resolve(import.meta.dirname, "../..");
const MANIFESTS = join(ROOT, "deploy/kubernetes");
const ENV = {
  LANGFUSE_PUBLIC_KEY: "pk",
  LANGFUSE_SECRET_KEY: "sk",
  LANGFUSE_PROJECT_ID: "p",
  S3_BUCKET: "langfuse",
  S3_ENDPOINT: "http://minio:9000",
  S3_ACCESS_KEY_ID: "a",
  S3_SECRET_ACCESS_KEY: "b",
  REDIS_URL: "redis://redis:6379",
};

type Doc = Record<string, any>;

function documents(file: string): Doc[] {
  const parsed = parseAllDocuments(readFileSync(join(MANIFESTS, file), "utf8"));
  for (const document of parsed) expect(document.errors, file).toEqual([]);
  return parsed.map((document) => document.toJS() as Doc);
}

/** A Kubernetes quantity: CPUs ("2", "500m") or bytes ("512Mi", "1Gi"). */
function quantity(text: string | number): number {
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(String(text));
  expect(match, `quantity ${text}`).not.toBeNull();
  const scale = { m: 1 / 1000, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[match![2] as "m" | "Ki" | "Mi" | "Gi"] ?? 1;
  return Number(match![1]) * scale;
}

describe.each(readdirSync(MANIFESTS).filter((name) => name.endsWith(".yaml")))("deploy/kubernetes/%s", (file) => {
  const docs = documents(file);
  /** The pipeline config of the ConfigMap and the daemon's container. */
  const daemon = () => {
    const configMap = docs.find((doc) => doc.kind === "ConfigMap")!;
    const config = loadConfigText(configMap.data["pipeline.yaml"], { env: ENV });
    const pod = docs.find((doc) => doc.kind === "Deployment")!.spec.template.spec;
    const container = [...(pod.initContainers ?? []), ...pod.containers].find((candidate: Doc) => candidate.name === "langfuse-otel-receiver");
    return { config, pod, container };
  };

  it("is made of complete Kubernetes objects", () => {
    expect(docs.length).toBeGreaterThan(1);
    for (const doc of docs) {
      expect(doc.apiVersion, file).toEqual(expect.any(String));
      expect(doc.kind, file).toEqual(expect.any(String));
      expect(doc.metadata?.name, file).toEqual(expect.any(String));
    }
  });

  it("embeds a pipeline config the daemon accepts, and probes what it serves", () => {
    const { config, pod, container } = daemon();
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.shutdownTimeoutMs);
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true });
    expect(config.health.endpoint).toEqual({ host: "0.0.0.0", port: 13133 });
    expect(container.readinessProbe?.httpGet?.path ?? container.startupProbe?.httpGet?.path).toBe("/readyz");
    expect(container.livenessProbe.httpGet.path).toBe("/livez");
    // The spool must live on a mounted volume when the root filesystem is read-only.
    const spoolMount = container.volumeMounts.find((mount: Doc) => config.spool.directory.startsWith(mount.mountPath));
    expect(spoolMount, "a volume holds the spool").toBeDefined();
    expect(spoolMount.readOnly ?? false).toBe(false);
  });

  it("states its worker count, one per CPU of the CPU limit (one without a limit), and a memory_limit under the container's", () => {
    const { config, container } = daemon();
    // Every worker costs memory, so the count must not depend on the node the pod lands on.
    expect(config.workers).toEqual(expect.any(Number));
    const cpuLimit = container.resources?.limits?.cpu;
    expect(config.workers).toBe(cpuLimit === undefined ? 1 : Math.ceil(quantity(cpuLimit)));
    // memory_limit covers every process of the daemon; it must leave the container room to refuse before it is killed.
    const memoryLimit = quantity(container.resources.limits.memory);
    expect(config.memoryLimitBytes).toBeGreaterThan(0);
    expect(config.memoryLimitBytes).toBeLessThanOrEqual(0.85 * memoryLimit);
  });
});

describe("Dockerfile", () => {
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");

  it("builds in two stages on Node 24 and runs as a non-root user under tini, with a health check", () => {
    expect(dockerfile.match(/^FROM node:24-[\w-]+/gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["tini", "--", "node", "--single-threaded-gc", "dist\/src\/cli\.js"\]$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*13133\/livez/m);
    expect(dockerfile).toMatch(/^VOLUME \/app\/data$/m);
  });

  it("runs node with the same memory and GC flags as npm start, and this Node accepts them", () => {
    const start = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start;
    const image = [/NODE_OPTIONS=(--max-semi-space-size=\d+)/.exec(dockerfile)![1]!, ...(/"node", ((?:"--[^"]+", )*)"dist/.exec(dockerfile)![1]!.match(/--[^"]+/g) ?? [])];
    expect(image).toEqual(["--max-semi-space-size=32", "--single-threaded-gc"]);
    expect(start).toContain(`node ${image.join(" ")} dist/src/cli.js run`);
    // Node refuses an option it does not know (the misspelt one below), so a clean run proves both are known.
    const child = spawnSync(process.execPath, [...image, "-e", "0"], { encoding: "utf8" });
    expect(child.status).toBe(0);
    expect(child.stderr).toBe("");
    const unknown = spawnSync(process.execPath, ["--single-threaded-gcx", "-e", "0"], { encoding: "utf8" });
    expect(unknown.status !== 0 || unknown.stderr !== "").toBe(true);
  });
});
