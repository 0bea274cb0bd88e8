import bcrypt from "bcryptjs";
import { Redis } from "ioredis";
import pg from "pg";
import type { Logger } from "pino";
import { z } from "zod";
import { durationMs, integer } from "../../config/units.js";
import { RetryableError, UnauthenticatedError } from "../../pipeline/errors.js";
import type { ProjectScope } from "../../pipeline/payload.js";
import { langfuseSecretKeyHash } from "./credentials.js";

/**
 * Keys from Langfuse's own database, checked the way Langfuse's web container checks them: the
 * fast hash (sha256 of the secret and the instance's SALT) looked up in `api_keys`, with the
 * bcrypt hash as fallback (then the fast hash is filled in), org-level keys refused, and results
 * cached in Langfuse's Redis under Langfuse's own key names (`api-key:<hash>`, 300 s, sliding;
 * unknown keys cached as "api-key-non-existent"), so the daemon keeps working from the cache while
 * Postgres is briefly down.
 */
export const langfuseDbSchema = z
  .strictObject({
    url: z.string().regex(/^postgres(ql)?:\/\//, "expected a postgres:// URL").describe("Langfuse's DATABASE_URL."),
    salt: z.string().min(1).describe("Langfuse's SALT."),
    cache_redis_url: z
      .string()
      .regex(/^rediss?:\/\//, "expected a redis:// URL")
      .optional()
      .describe("Langfuse's Redis (REDIS_CONNECTION_STRING) for the shared key cache; without it, Postgres is asked every time."),
    cache_key_prefix: z.string().default("").describe("Langfuse's REDIS_KEY_PREFIX, prepended raw to the cache keys."),
    cache_ttl: durationMs.default(300_000).describe("LANGFUSE_CACHE_API_KEY_TTL_SECONDS: how long a key stays cached (sliding)."),
    pool_size: integer({ min: 1, max: 100 }).default(4).describe("Postgres connections."),
    query_timeout: durationMs.default(5_000).describe("Longest wait for one Postgres query."),
  })
  .describe(
    "Keys are checked as Langfuse checks them (fast hash, bcrypt fallback that then stores the fast hash, organization keys refused) and cached under Langfuse's `api-key:<hash>` keys (unknown keys cached as non-existent); cached keys keep working while Postgres is down, an uncached key then gets 503.",
  );

export type LangfuseDbConfig = z.output<typeof langfuseDbSchema>;

const NON_EXISTENT = "api-key-non-existent";

interface KeyRow {
  id: string;
  note: string | null;
  public_key: string;
  hashed_secret_key: string;
  fast_hashed_secret_key: string | null;
  display_secret_key: string | null;
  created_at: Date | null;
  last_used_at: Date | null;
  expires_at: Date | null;
  is_in_app_agent_key: boolean | null;
  project_id: string | null;
  organization_id: string | null;
  scope: string | null;
  org_id: string | null;
}

/** The cached JSON, in the shape Langfuse's web container writes and reads. */
interface CachedKey {
  id: string;
  note: string | null;
  publicKey: string;
  displaySecretKey: string | null;
  createdAt: string | null;
  lastUsedAt: string | null;
  expiresAt: string | null;
  fastHashedSecretKey: string | null;
  hashedSecretKey: string;
  projectId: string | null;
  orgId: string | null;
  plan: string;
  scope: "PROJECT" | "ORGANIZATION";
  isIngestionSuspended: boolean;
  isInAppAgentKey: boolean;
}

const KEY_COLUMNS = `k.id, k.note, k.public_key, k.hashed_secret_key, k.fast_hashed_secret_key, k.display_secret_key, k.created_at,
  k.last_used_at, k.expires_at, k.is_in_app_agent_key, k.project_id, k.organization_id, k.scope::text AS scope,
  COALESCE(p.org_id, k.organization_id) AS org_id`;

function toCached(row: KeyRow): CachedKey {
  return {
    id: row.id,
    note: row.note,
    publicKey: row.public_key,
    displaySecretKey: row.display_secret_key,
    createdAt: row.created_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    expiresAt: row.expires_at?.toISOString() ?? null,
    fastHashedSecretKey: row.fast_hashed_secret_key,
    hashedSecretKey: row.hashed_secret_key,
    projectId: row.project_id,
    orgId: row.org_id,
    plan: "oss",
    scope: row.scope === "ORGANIZATION" ? "ORGANIZATION" : "PROJECT",
    isIngestionSuspended: false,
    isInAppAgentKey: row.is_in_app_agent_key ?? false,
  };
}

function scopeOf(key: CachedKey, accessLevel: ProjectScope["accessLevel"]): ProjectScope {
  if (key.projectId === null || key.scope === "ORGANIZATION") {
    throw new UnauthenticatedError("Missing projectId in scope. Are you using an organization key?");
  }
  const scope: ProjectScope = { projectId: key.projectId, accessLevel, publicKey: key.publicKey };
  if (key.orgId) scope.orgId = key.orgId;
  return scope;
}

export class LangfuseKeyStore {
  readonly #config: LangfuseDbConfig;
  readonly #logger: Logger;
  #pool: pg.Pool | undefined;
  #redis: Redis | undefined;

  constructor(config: LangfuseDbConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
  }

  start(): void {
    this.#pool = new pg.Pool({ connectionString: this.#config.url, max: this.#config.pool_size, query_timeout: this.#config.query_timeout, connectionTimeoutMillis: this.#config.query_timeout });
    this.#pool.on("error", (error) => this.#logger.warn({ err: { message: error.message } }, "Langfuse database connection problem"));
    if (this.#config.cache_redis_url) {
      this.#redis = new Redis(this.#config.cache_redis_url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
      this.#redis.on("error", () => {});
      this.#redis.connect().catch(() => {});
    }
  }

  async shutdown(): Promise<void> {
    await this.#pool?.end().catch(() => {});
    this.#redis?.disconnect();
  }

  #cacheKey(hash: string): string {
    return `${this.#config.cache_key_prefix}api-key:${hash}`;
  }

  /** Cache read; errors and unreadable values count as a miss (Langfuse fails open the same way). */
  async #cached(hash: string): Promise<CachedKey | typeof NON_EXISTENT | undefined> {
    if (this.#redis?.status !== "ready") return undefined;
    try {
      const text = await this.#redis.getex(this.#cacheKey(hash), "EX", Math.round(this.#config.cache_ttl / 1000));
      if (text === null) return undefined;
      const value = JSON.parse(text) as unknown;
      if (value === NON_EXISTENT) return NON_EXISTENT;
      if (value && typeof value === "object" && typeof (value as CachedKey).publicKey === "string" && "projectId" in value) return value as CachedKey;
      await this.#redis.del(this.#cacheKey(hash));
      return undefined;
    } catch {
      return undefined;
    }
  }

  async #cache(hash: string, value: CachedKey | typeof NON_EXISTENT): Promise<void> {
    if (this.#redis?.status !== "ready") return;
    await this.#redis.set(this.#cacheKey(hash), JSON.stringify(value), "EX", Math.round(this.#config.cache_ttl / 1000)).catch(() => {});
  }

  async #query(text: string, values: unknown[]): Promise<KeyRow[]> {
    try {
      return (await this.#pool!.query<KeyRow>(text, values)).rows;
    } catch (error) {
      throw new RetryableError(`cannot check the key against Langfuse's database now: ${(error as Error).message}`, 2_000, { cause: error });
    }
  }

  /** `Basic pk:sk` → the key's project scope; throws UnauthenticatedError, or RetryableError while the database is unreachable. */
  async verifyKeyPair(publicKey: string, secretKey: string): Promise<ProjectScope> {
    const hash = langfuseSecretKeyHash(secretKey, this.#config.salt);
    const cached = await this.#cached(hash);
    if (cached === NON_EXISTENT) throw new UnauthenticatedError("Invalid credentials");
    let key = cached;
    if (key === undefined) {
      const [row] = await this.#query(`SELECT ${KEY_COLUMNS} FROM api_keys k LEFT JOIN projects p ON p.id = k.project_id WHERE k.fast_hashed_secret_key = $1`, [hash]);
      if (row) {
        key = toCached(row);
      } else {
        // Keys made before the fast hash existed: bcrypt, found by the public key, then upgraded.
        const [legacy] = await this.#query(`SELECT ${KEY_COLUMNS} FROM api_keys k LEFT JOIN projects p ON p.id = k.project_id WHERE k.public_key = $1`, [publicKey]);
        if (legacy === undefined) {
          await this.#cache(hash, NON_EXISTENT);
          throw new UnauthenticatedError("Invalid credentials");
        }
        if (!(await bcrypt.compare(secretKey, legacy.hashed_secret_key))) throw new UnauthenticatedError("Invalid credentials");
        await this.#query("UPDATE api_keys SET fast_hashed_secret_key = $1 WHERE id = $2", [hash, legacy.id]);
        key = toCached({ ...legacy, fast_hashed_secret_key: hash });
      }
      await this.#cache(hash, key);
    }
    // Langfuse resolves by the secret alone; the public key must match too here.
    if (key.publicKey !== publicKey) throw new UnauthenticatedError("Invalid credentials");
    return scopeOf(key, "project");
  }

  /** `Bearer pk`: Langfuse's scores-only access, looked up without the cache (as Langfuse does). */
  async verifyPublicKey(publicKey: string): Promise<ProjectScope> {
    const [row] = await this.#query(`SELECT ${KEY_COLUMNS} FROM api_keys k LEFT JOIN projects p ON p.id = k.project_id WHERE k.public_key = $1`, [publicKey]);
    if (row === undefined) throw new UnauthenticatedError("Invalid public key");
    const key = toCached(row);
    if (key.scope === "ORGANIZATION") throw new UnauthenticatedError("Unauthorized: Cannot use organization key with bearer auth");
    return scopeOf(key, "scores");
  }
}
