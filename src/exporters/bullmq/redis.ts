import { readFileSync } from "node:fs";
import { Redis, Cluster, type RedisOptions } from "ioredis";
import { z } from "zod";
import { durationMs, flag } from "../../config/units.js";

export const redisConfigSchema = z
  .strictObject({
    url: z
      .string()
      .regex(/^rediss?:\/\//, "expected a redis:// or rediss:// URL")
      .default("redis://127.0.0.1:6379")
      .describe("`redis://[user:password@]host:port[/db]`, or `rediss://` for TLS; user and password can also be given below."),
    key_prefix: z
      .string()
      .min(1)
      .optional()
      .describe("Langfuse's REDIS_KEY_PREFIX: BullMQ's prefix (default `bull`) and the raw prefix of the seen-trace and other keys."),
    username: z.string().min(1).optional().describe("Redis ACL user."),
    password: z.string().min(1).optional().describe("Redis password (from `${env:…}` or `${file:…}`)."),
    tls: z
      .strictObject({
        ca_file: z.string().min(1).optional().describe("CA certificates (PEM) to trust for the server."),
        cert_file: z.string().min(1).optional().describe("Client certificate (PEM), for mutual TLS."),
        key_file: z.string().min(1).optional().describe("The client certificate's key (PEM)."),
        servername: z.string().min(1).optional().describe("Server name to check the certificate against (SNI)."),
        reject_unauthorized: flag.default(true).describe("Refuse a server certificate that does not verify."),
      })
      .optional()
      .describe("TLS to Redis; a `rediss://` URL turns it on too."),
    sentinel: z
      .strictObject({
        nodes: z.array(z.string().regex(/^[^:]+:\d+$/, "expected host:port")).min(1).describe("The sentinels, `host:port`."),
        master_name: z.string().min(1).describe("The master's name in the sentinels."),
        username: z.string().min(1).optional().describe("User for the sentinels."),
        password: z.string().min(1).optional().describe("Password for the sentinels."),
        tls: flag.default(false).describe("Use TLS (with the `tls` settings) towards the sentinels too."),
      })
      .optional()
      .describe("Redis Sentinel: the daemon asks the sentinels for the current master and follows failovers. Not with `cluster_nodes`."),
    cluster_nodes: z
      .array(z.string().regex(/^[^:]+:\d+$/, "expected host:port"))
      .min(1)
      .optional()
      .describe("Redis Cluster seed nodes (`host:port`); turns on Langfuse's `{prefix:queue}` hash-tagged queue names and sharding."),
    connect_timeout: durationMs.default(5_000).describe("Longest wait for a connection."),
    command_timeout: durationMs.default(10_000).describe("A command that gets no answer in this time fails (and the request gets a retryable error)."),
    skip_version_check: flag.default(false).describe("Langfuse's LANGFUSE_BULLMQ_SKIP_REDIS_VERSION_CHECK."),
  })
  .strict()
  .refine((config) => !(config.sentinel && config.cluster_nodes), { message: "use either sentinel or cluster_nodes, not both", path: ["sentinel"] });

export type RedisConfig = z.output<typeof redisConfigSchema>;
export type RedisClient = Redis | Cluster;

/** Reconnect quickly at first, then every 5 s at most, forever: the daemon outlives Redis outages. */
function retryDelay(times: number): number {
  return Math.min(100 * 2 ** Math.min(times - 1, 6), 5_000);
}

/**
 * A producer connection. `enableOfflineQueue: false` makes commands fail at once while Redis is
 * away, so clients get a quick retryable answer instead of a request that hangs.
 */
function hostPort(node: string): { host: string; port: number } {
  const [host, port] = node.split(":");
  return { host: host!, port: Number(port) };
}

function tlsOptions(config: RedisConfig): RedisOptions["tls"] {
  const tls = config.tls;
  if (tls === undefined) return config.url.startsWith("rediss://") ? {} : undefined;
  return {
    ca: tls.ca_file ? readFileSync(tls.ca_file) : undefined,
    cert: tls.cert_file ? readFileSync(tls.cert_file) : undefined,
    key: tls.key_file ? readFileSync(tls.key_file) : undefined,
    servername: tls.servername,
    rejectUnauthorized: tls.reject_unauthorized,
  };
}

export function createRedisClient(config: RedisConfig, onError: (error: Error) => void): RedisClient {
  const options: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectTimeout: config.connect_timeout,
    commandTimeout: config.command_timeout,
    keepAlive: 10_000,
    retryStrategy: retryDelay,
    username: config.username,
    password: config.password,
    tls: tlsOptions(config),
  };
  let client: RedisClient;
  if (config.cluster_nodes !== undefined) {
    client = new Cluster(config.cluster_nodes.map(hostPort), {
      redisOptions: options,
      enableOfflineQueue: false,
      clusterRetryStrategy: retryDelay,
      dnsLookup: (address, callback) => callback(null, address),
    });
  } else if (config.sentinel !== undefined) {
    const sentinel = config.sentinel;
    client = new Redis({
      ...options,
      sentinels: sentinel.nodes.map(hostPort),
      name: sentinel.master_name,
      sentinelUsername: sentinel.username,
      sentinelPassword: sentinel.password,
      enableTLSForSentinelMode: sentinel.tls,
      sentinelTLS: sentinel.tls ? options.tls : undefined,
      sentinelRetryStrategy: retryDelay,
    });
  } else {
    client = new Redis(config.url, options);
  }
  client.on("error", onError);
  return client;
}

/** Whether commands can be sent right now. */
export function isReady(client: RedisClient): boolean {
  return client.status === "ready";
}
