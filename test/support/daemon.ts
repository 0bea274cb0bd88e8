import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino, type Logger } from "pino";
import { loadConfigText } from "../../src/config/load.js";
import { Service } from "../../src/service.js";
import type { ConversionOptions } from "../../src/conversion/convert.js";

export const TEST_KEYS = { publicKey: "pk-lf-test", secretKey: "sk-lf-test", projectId: "project-test" };

export function basicAuth(publicKey = TEST_KEYS.publicKey, secretKey = TEST_KEYS.secretKey): string {
  return `Basic ${Buffer.from(`${publicKey}:${secretKey}`).toString("base64")}`;
}

/** A quiet logger for tests; set LOG_LEVEL=debug to see the daemon's logs. */
export function testLogger(): Logger {
  return pino({ level: process.env.LOG_LEVEL ?? "silent" });
}

/** Starts the daemon in-process from YAML (ports 0), and gives its listening addresses. */
export async function startDaemon(yaml: string, options: { env?: Record<string, string>; conversion?: ConversionOptions; logger?: Logger } = {}) {
  const config = loadConfigText(yaml, { env: { ...process.env, ...options.env } });
  const service = new Service(config, { logger: options.logger ?? testLogger(), conversion: options.conversion });
  await service.start();
  const addresses = (receiver: string) => service.receivers.get(receiver)!.addresses();
  const url = (receiver: string, scheme: "http" | "grpc" = "http") => {
    const address = addresses(receiver).find((item) => item.startsWith(`${scheme}://`));
    if (!address) throw new Error(`${receiver} has no ${scheme} listener`);
    return address;
  };
  return { service, addresses, url, stop: () => service.shutdown() };
}

export type TestDaemon = Awaited<ReturnType<typeof startDaemon>>;

/** The standard pipeline YAML for tests: every receiver on a free port, S3 + BullMQ out. */
export function pipelineYaml(options: {
  /** The s3 exporter's endpoint; not needed when `blob` replaces the s3 exporter. */
  s3Endpoint?: string;
  /** Another blob exporter in place of s3: its id, and its YAML block under `exporters:`. */
  blob?: { id: string; yaml: string };
  keyPrefix: string;
  processors?: string[];
  extraProcessors?: string;
  bucket?: string;
  prefix?: string;
  /** Spool folder; `false` turns the spool off (answers only after the export itself). */
  spoolDirectory?: string | false;
}): string {
  const processors = options.processors ?? ["validate", "auth", "sort", "group"];
  return `
receivers:
  otlp:
    grpc: { endpoint: 127.0.0.1:0 }
    http: { endpoint: 127.0.0.1:0 }
  langfuse:
    endpoint: 127.0.0.1:0
processors:
  validate: {}
  auth:
    keys:
      - public_key: ${TEST_KEYS.publicKey}
        secret_key: ${TEST_KEYS.secretKey}
        project_id: ${TEST_KEYS.projectId}
        org_id: org-test
      - public_key: pk-lf-other
        secret_key: sk-lf-other
        project_id: project-other
  sort: {}
  group: {}
${options.extraProcessors ?? ""}
exporters:
${options.blob?.yaml ?? `  s3:
    bucket: ${options.bucket ?? "langfuse"}
    prefix: ${options.prefix ?? "events/"}
    endpoint: ${options.s3Endpoint}
    region: us-east-1
    force_path_style: true
    access_key_id: S3RVER
    secret_access_key: S3RVER
    retry_after: 1s
    max_attempts: 1
`}  bullmq:
    redis:
      url: ${process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379"}
      key_prefix: ${options.keyPrefix}
    retry_after: 1s
service:
  shutdown_timeout: 10s
  telemetry: { health: { endpoint: 127.0.0.1:0 }, metrics: { endpoint: 127.0.0.1:0 } }
  spool:
${options.spoolDirectory === false ? "    enabled: false" : `    directory: ${options.spoolDirectory ?? join(tmpdir(), `lor-spool-${randomBytes(6).toString("hex")}`)}
    fsync: false
    retry: { initial_interval: 50ms, max_interval: 500ms }`}
  pipelines:
    events:
      receivers: [otlp, langfuse]
      processors: [${processors.join(", ")}]
      exporters: [${options.blob?.id ?? "s3"}, bullmq]
`;
}
