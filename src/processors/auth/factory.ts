import { z } from "zod";
import { isScoresAccessEvent, type IngestionEvent } from "../../model/events.js";
import type { ComponentSettings } from "../../pipeline/component.js";
import { defineProcessor } from "../../pipeline/define-processor.js";
import type { EventBatch } from "../../pipeline/batch.js";
import type { SpanBatch } from "../../pipeline/span-batch.js";
import { ForbiddenError, UnauthenticatedError } from "../../pipeline/errors.js";
import { CREDENTIAL_CHECKS, type ProjectScope, type RequestContext } from "../../pipeline/payload.js";
import { digestsEqual, keyFingerprint, parseAuthorization, secretKeyDigest } from "./credentials.js";
import { LangfuseKeyStore, langfuseDbSchema } from "./langfuse-db.js";

/** A project id becomes a segment of object keys and Redis keys, so it must be a safe path segment. */
const projectId = z
  .string()
  .min(1)
  .max(256)
  .refine((value) => !/[\x00-\x1f/\\]/.test(value) && value !== "." && value !== "..", {
    message: "project_id must not contain '/', '\\' or control characters, and must not be '.' or '..'",
  });

const keySchema = z
  .strictObject({
    public_key: z.string().min(1).describe("The key pair's public key; each one listed once."),
    secret_key: z.string().min(1).optional().describe("The secret key (from `${env:…}` or `${file:…}`); give it or `secret_key_sha256`, not both."),
    secret_key_sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, "expected 64 hex characters")
      .optional()
      .describe("Hex sha256 of the secret key (see `salt`), so no plain secret sits in the file."),
    project_id: projectId.describe("The Langfuse project the key writes to; a segment of object and Redis keys, so without `/`, `\\` or control characters, and not `.` or `..`."),
    org_id: z.string().min(1).optional().describe("The project's organization id, written into the jobs' `authCheck.scope`."),
  })
  .refine((key) => (key.secret_key === undefined) !== (key.secret_key_sha256 === undefined), {
    message: "give exactly one of secret_key and secret_key_sha256",
  });

export const authConfigSchema = z
  .strictObject({
    salt: z
      .string()
      .min(1)
      .optional()
      .describe(
        "With a salt, `secret_key_sha256` is Langfuse's own fast hash (the `fast_hashed_secret_key` column of Langfuse's `api_keys` table, made with the instance's SALT); without, the plain sha256 of the secret.",
      ),
    keys: z.array(keySchema).default([]).describe("Key pairs and the project each writes to; at least one, unless `langfuse_db` is set."),
    langfuse_db: langfuseDbSchema.optional().describe("Also accept the keys in Langfuse's own database, checked after the keys listed here."),
  })
  .superRefine((config, context) => {
    if (config.keys.length === 0 && config.langfuse_db === undefined) {
      context.addIssue({ code: "custom", path: ["keys"], message: "list at least one key, or use langfuse_db" });
    }
    const seen = new Set<string>();
    config.keys.forEach((key, index) => {
      if (seen.has(key.public_key)) {
        context.addIssue({ code: "custom", path: ["keys", index, "public_key"], message: `public key ${key.public_key} is listed twice` });
      }
      seen.add(key.public_key);
    });
  })
  .describe(
    "Resolves the request's credentials to a project (the keys listed, then, with `langfuse_db`, Langfuse's own database), refuses the whole request when they are wrong (401), then authorises each event by access level (Bearer keys: scores only; refused with 403 on OTLP). Secrets are compared in constant time as digests and never logged.",
  );

export type AuthConfig = z.output<typeof authConfigSchema>;

interface KnownKey {
  scope: Omit<ProjectScope, "accessLevel">;
  digest: Buffer;
}

/** Only the digests are kept in memory; plain secrets from the config are hashed at start. */
class Authenticator {
  readonly #keys = new Map<string, KnownKey>();
  readonly #salt: string | undefined;
  readonly #settings: ComponentSettings;
  /** Compared against when the public key is unknown, so both paths cost the same. */
  readonly #decoy: Buffer;
  readonly #database: LangfuseKeyStore | undefined;

  constructor(settings: ComponentSettings, config: AuthConfig) {
    this.#settings = settings;
    this.#salt = config.salt;
    this.#decoy = secretKeyDigest("decoy", config.salt);
    this.#database = config.langfuse_db ? new LangfuseKeyStore(config.langfuse_db, settings.logger) : undefined;
    for (const key of config.keys) {
      const digest = key.secret_key !== undefined ? secretKeyDigest(key.secret_key, config.salt) : Buffer.from(key.secret_key_sha256!, "hex");
      const scope: KnownKey["scope"] = { projectId: key.project_id, publicKey: key.public_key };
      if (key.org_id !== undefined) scope.orgId = key.org_id;
      this.#keys.set(key.public_key, { scope, digest });
    }
  }

  async start(): Promise<void> {
    this.#database?.start();
  }

  async shutdown(): Promise<void> {
    await this.#database?.shutdown();
  }

  async authenticate(context: RequestContext): Promise<void> {
    const check = this.#authenticate(context.authorization);
    (context[CREDENTIAL_CHECKS] ??= new Map()).set(this, check);
    const scope = await check;
    // OTLP spans are never scores: a Bearer key is refused for them (an otel pipeline only carries OTLP).
    if (context.source === "otel") requireKeyPair(scope);
  }

  /** Resolves the batch's project; with a Bearer (scores-only) key, every other event is refused with 401. */
  async authoriseEvents(batch: EventBatch): Promise<void> {
    const scope = await this.#checkOf(batch.context);
    if (batch.context.source === "otel") requireKeyPair(scope);
    batch.context.scope = scope;
    if (scope.accessLevel === "scores") {
      batch.retain((record) => {
        if (isScoresAccessEvent((record.event as IngestionEvent | null)?.type as string)) return true;
        batch.reject(record, 401, "Authentication error", "Access Scope Denied");
        return false;
      });
    }
  }

  /** Resolves the batch's project; spans are never scores, so a Bearer key is refused (403). */
  async authoriseSpans(batch: SpanBatch): Promise<void> {
    const scope = await this.#checkOf(batch.context);
    requireKeyPair(scope);
    batch.context.scope = scope;
  }

  /** The check made before the body was read, or a new one (pipeline tests and direct callers skip that step). */
  #checkOf(context: RequestContext): Promise<ProjectScope> {
    return context[CREDENTIAL_CHECKS]?.get(this) ?? this.#authenticate(context.authorization);
  }

  async #authenticate(header: string | undefined): Promise<ProjectScope> {
    const parsed = parseAuthorization(header);
    if (!parsed.ok) throw new UnauthenticatedError(parsed.reason);
    const { credentials } = parsed;
    const known = this.#keys.get(credentials.publicKey);
    if (known === undefined && this.#database) {
      try {
        return credentials.scheme === "bearer"
          ? await this.#database.verifyPublicKey(credentials.publicKey)
          : await this.#database.verifyKeyPair(credentials.publicKey, credentials.secretKey);
      } catch (error) {
        if (error instanceof UnauthenticatedError) throw this.#refuse(error.message, credentials.publicKey);
        throw error;
      }
    }
    if (credentials.scheme === "bearer") {
      if (known === undefined) throw this.#refuse("Invalid public key", credentials.publicKey);
      return { ...known.scope, accessLevel: "scores" };
    }
    const digest = secretKeyDigest(credentials.secretKey, this.#salt);
    const matches = digestsEqual(digest, known?.digest ?? this.#decoy);
    if (known === undefined || !matches) throw this.#refuse("Invalid credentials", credentials.publicKey);
    return { ...known.scope, accessLevel: "project" };
  }

  #refuse(reason: string, presented: string): UnauthenticatedError {
    // A configured public key is an identifier and tells operators which client is misconfigured.
    // Anything else may be a secret sent in the wrong place (`Bearer sk-…`, a swapped pair): only
    // a fingerprint of it is logged, which matches the key without revealing it.
    const key = this.#keys.has(presented) ? { publicKey: presented } : { presentedKey: keyFingerprint(presented) };
    this.#settings.logger.warn({ ...key, reason }, "request refused: credentials not accepted");
    return new UnauthenticatedError(`${reason}. Confirm that the client is configured with a key pair this daemon knows.`);
  }
}

/** Langfuse's OTel endpoint only takes full key pairs: spans are never scores. */
function requireKeyPair(scope: ProjectScope): void {
  if (scope.accessLevel !== "project") throw new ForbiddenError("Access denied - insufficient permissions for this endpoint");
}

export const authProcessorFactory = defineProcessor({
  type: "auth",
  configSchema: authConfigSchema,
  provides: ["project_scope"],
  // It reads credentials only: an OTLP request may meet it as spans or as events.
  beforeConversion: "allowed",
  setup: (settings, config) => new Authenticator(settings, config),
  start: (auth) => auth.start(),
  shutdown: (auth) => auth.shutdown(),
  authenticate: (context, auth) => auth.authenticate(context),
  events: (batch, auth) => auth.authoriseEvents(batch),
  spans: (batch, auth) => auth.authoriseSpans(batch),
});
