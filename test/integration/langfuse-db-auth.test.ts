import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import bcrypt from "bcryptjs";
import pg from "pg";
import { langfuseSecretKeyHash } from "../../src/processors/auth/credentials.js";
import { basicAuth, TEST_KEYS } from "../support/daemon.js";
import { REDIS_URL } from "../support/redis.js";
import { startStack, type TestStack } from "../support/stack.js";

/**
 * Keys checked against a database with the shape of Langfuse's `api_keys` table, on the real
 * PostgreSQL of this machine (a throwaway database), with Langfuse's key cache on Redis.
 */
const PG = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432";
const SALT = "test-salt";
const database = `lor_test_${randomBytes(4).toString("hex")}`;
const keys = {
  fast: { publicKey: "pk-lf-fast", secretKey: "sk-lf-fast" },
  legacy: { publicKey: "pk-lf-legacy", secretKey: "sk-lf-legacy" },
  org: { publicKey: "pk-lf-org", secretKey: "sk-lf-org" },
  unused: { publicKey: "pk-lf-unused", secretKey: "sk-lf-unused" },
};
let admin: pg.Client;
let db: pg.Client;
let stack: TestStack;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: `${PG}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  db = new pg.Client({ connectionString: `${PG}/${database}` });
  // The outage test ends this connection on purpose.
  db.on("error", () => {});
  await db.connect();
  await db.query(`
    CREATE TYPE "ApiKeyScope" AS ENUM ('PROJECT', 'ORGANIZATION');
    CREATE TABLE projects (id text PRIMARY KEY, org_id text NOT NULL, name text);
    CREATE TABLE api_keys (
      id text PRIMARY KEY, created_at timestamp DEFAULT now(), note text, public_key text UNIQUE NOT NULL,
      hashed_secret_key text UNIQUE NOT NULL, fast_hashed_secret_key text UNIQUE, display_secret_key text,
      last_used_at timestamp, expires_at timestamp, is_in_app_agent_key boolean DEFAULT false,
      project_id text REFERENCES projects(id), organization_id text, scope "ApiKeyScope" NOT NULL DEFAULT 'PROJECT');
    INSERT INTO projects VALUES ('db-project', 'db-org', 'from the database');`);
  const insert = async (id: string, key: { publicKey: string; secretKey: string }, fast: boolean, project: string | null, scope = "PROJECT") =>
    db.query(
      `INSERT INTO api_keys (id, public_key, hashed_secret_key, fast_hashed_secret_key, display_secret_key, project_id, organization_id, scope)
       VALUES ($1, $2, $3, $4, 'sk-lf-...', $5, $6, $7)`,
      [id, key.publicKey, await bcrypt.hash(key.secretKey, 4), fast ? langfuseSecretKeyHash(key.secretKey, SALT) : null, project, project ? null : "db-org", scope],
    );
  await insert("k1", keys.fast, true, "db-project");
  await insert("k2", keys.legacy, false, "db-project");
  await insert("k3", keys.org, true, null, "ORGANIZATION");
  await insert("k4", keys.unused, true, "db-project");

  stack = await startStack({
    configure: (yaml) =>
      yaml.replace(
        "  auth:\n    keys:\n",
        `  auth:\n    langfuse_db: { url: "${PG}/${database}", salt: ${SALT}, cache_redis_url: "${REDIS_URL}", cache_key_prefix: "lor-cache-${database}:", query_timeout: 2s }\n    keys:\n`,
      ),
  });
});

afterAll(async () => {
  const cacheKeys = await stack?.redis.client.keys(`lor-cache-${database}:*`);
  if (cacheKeys?.length) await stack.redis.client.del(...cacheKeys);
  await stack?.stop();
  await db?.end().catch(() => {});
  await admin?.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin?.end();
});

async function ingest(key: { publicKey: string; secretKey: string }, traceId: string) {
  const response = await fetch(`${stack.daemon.url("langfuse")}/api/public/ingestion`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: basicAuth(key.publicKey, key.secretKey) },
    body: JSON.stringify({ batch: [{ id: `e-${traceId}`, type: "trace-create", timestamp: "2026-01-01T00:00:00Z", body: { id: traceId } }] }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const cacheKey = (secretKey: string) => `lor-cache-${database}:api-key:${langfuseSecretKeyHash(secretKey, SALT)}`;

describe("auth against Langfuse's database", () => {
  it("accepts a key by its fast hash, writes to the key's project and caches it the way Langfuse does", async () => {
    expect((await ingest(keys.fast, "db-trace-1")).status).toBe(207);
    expect(await stack.s3.listKeys("events/db-project/trace/db-trace-1/")).toHaveLength(1);
    const cached = JSON.parse((await stack.redis.client.get(cacheKey(keys.fast.secretKey)))!) as Record<string, unknown>;
    expect(cached).toMatchObject({ publicKey: keys.fast.publicKey, projectId: "db-project", orgId: "db-org", scope: "PROJECT" });
    const ttl = await stack.redis.client.ttl(cacheKey(keys.fast.secretKey));
    expect(ttl).toBeGreaterThan(290);
    expect(ttl).toBeLessThanOrEqual(300);
  });

  it("falls back to bcrypt for keys without a fast hash, then stores the fast hash", async () => {
    expect((await ingest(keys.legacy, "db-trace-2")).status).toBe(207);
    const { rows } = await db.query("SELECT fast_hashed_secret_key FROM api_keys WHERE id = 'k2'");
    expect(rows[0].fast_hashed_secret_key).toBe(langfuseSecretKeyHash(keys.legacy.secretKey, SALT));
  });

  it("refuses wrong secrets, unknown keys (cached as non-existent) and organization keys", async () => {
    expect((await ingest({ publicKey: keys.fast.publicKey, secretKey: "sk-lf-wrong" }, "x")).status).toBe(401);
    expect((await ingest({ publicKey: "pk-lf-nobody", secretKey: "sk-lf-nobody" }, "x")).status).toBe(401);
    expect(JSON.parse((await stack.redis.client.get(cacheKey("sk-lf-nobody")))!)).toBe("api-key-non-existent");
    const org = await ingest(keys.org, "x");
    expect(org.status).toBe(401);
    expect(org.body.message).toMatch(/^Missing projectId in scope. Are you using an organization key\?/);
    // The keys in the config keep working next to the database.
    expect((await ingest({ publicKey: TEST_KEYS.publicKey, secretKey: TEST_KEYS.secretKey }, "db-trace-3")).status).toBe(207);
  });

  it("keeps accepting cached keys while Postgres is unreachable, and answers 503 for keys it cannot check", async () => {
    await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [database]);
    try {
      expect((await ingest(keys.fast, "db-trace-4")).status).toBe(207);
      const unchecked = await ingest(keys.unused, "db-trace-5");
      expect(unchecked.status).toBe(503);
      expect(unchecked.body.message).toMatch(/cannot check the key against Langfuse's database/);
    } finally {
      await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
    }
    expect((await ingest(keys.unused, "db-trace-6")).status).toBe(207);
  });
});
