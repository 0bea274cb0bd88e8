import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Parsing and checking of the credentials Langfuse clients send:
 * `Authorization: Basic base64(publicKey:secretKey)` for full project access, or
 * `Authorization: Bearer publicKey` for Langfuse's scores-only access.
 */
export type PresentedCredentials =
  | { scheme: "basic"; publicKey: string; secretKey: string }
  | { scheme: "bearer"; publicKey: string };

export type CredentialsParse = { ok: true; credentials: PresentedCredentials } | { ok: false; reason: string };

export function parseAuthorization(header: string | undefined): CredentialsParse {
  if (header === undefined || header.trim() === "") return { ok: false, reason: "No authorization header" };
  // `OTEL_EXPORTER_OTLP_HEADERS=Authorization=Basic%20...` is a common way to configure exporters;
  // some SDKs forward it without decoding the percent escapes.
  const text = /^(basic|bearer)%20/i.test(header) ? safeDecodeURIComponent(header) : header;
  const space = text.indexOf(" ");
  const scheme = (space === -1 ? text : text.slice(0, space)).toLowerCase();
  const value = space === -1 ? "" : text.slice(space + 1).trim();
  if (scheme === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    const publicKey = colon === -1 ? "" : decoded.slice(0, colon);
    const secretKey = colon === -1 ? "" : decoded.slice(colon + 1);
    if (publicKey === "" || secretKey === "") return { ok: false, reason: "Invalid authorization header" };
    return { ok: true, credentials: { scheme: "basic", publicKey, secretKey } };
  }
  if (scheme === "bearer" && value !== "") return { ok: true, credentials: { scheme: "bearer", publicKey: value } };
  return { ok: false, reason: "Invalid authorization header" };
}

function safeDecodeURIComponent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * Langfuse's "fast hash" of a secret key, the value of `api_keys.fast_hashed_secret_key`:
 * sha256 over the secret key followed by the hex sha256 of the instance's SALT.
 */
export function langfuseSecretKeyHash(secretKey: string, salt: string): string {
  return sha256Hex(secretKey + sha256Hex(salt));
}

/** The digest a secret is stored and compared as: Langfuse's fast hash with a salt, plain sha256 without. */
export function secretKeyDigest(secretKey: string, salt: string | undefined): Buffer {
  return Buffer.from(salt === undefined ? sha256Hex(secretKey) : langfuseSecretKeyHash(secretKey, salt), "hex");
}

/**
 * What may be logged of a presented key that is not a known public key: the start of its sha256
 * (enough to match it against a key the operator has, useless for guessing one), and whether it
 * looks like a secret key, the usual mistake.
 */
export function keyFingerprint(key: string): string {
  const kind = /^sk-/i.test(key) ? "a secret key" : "unknown key";
  return `${kind}, sha256 ${sha256Hex(key).slice(0, 12)}…`;
}

/** Constant-time comparison of two digests of equal length. */
export function digestsEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
