import { describe, expect, it } from "vitest";
import { SignatureV4 } from "@smithy/signature-v4";
import { NodeSha256 } from "../../support/sigv4-reference.js";
import { encodeKeyPath, sha256Hex, SigV4Signer } from "../../../src/exporters/s3/sigv4.js";

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };

async function referenceAuthorization(host: string, path: string, headers: Record<string, string>, body: Buffer, date: Date, sessionToken?: string) {
  const signer = new SignatureV4({
    credentials: { ...credentials, sessionToken },
    region: "eu-central-1",
    service: "s3",
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    { method: "PUT", protocol: "https:", hostname: host, path, headers: { ...headers, host }, query: {}, body },
    { signingDate: date },
  );
  return signed.headers;
}

describe("SigV4 for S3 PUTs", () => {
  it.each([
    ["a plain key", "events/p1/trace/t1/e1.json", undefined],
    ["a key with spaces, plus, unicode and sub-delimiters", "events/p 1/observation/a+b é!'()*/e_1.json", undefined],
    ["temporary credentials", "events/p1/score/s1/e1.json", "session-token-value"],
  ])("signs %s exactly as the AWS SDK does", async (_name, key, sessionToken) => {
    const body = Buffer.from('[{"id":"e1"}]');
    const date = new Date("2026-11-25T10:20:30.000Z");
    const host = "bucket.s3.eu-central-1.amazonaws.com";
    const path = `/${encodeKeyPath(key)}`;
    const headers = {
      "content-length": String(body.length),
      "content-type": "application/json",
      "x-amz-content-sha256": sha256Hex(body),
      "x-amz-server-side-encryption": "aws:kms",
    };
    const ours = new SigV4Signer("eu-central-1").sign({ method: "PUT", host, path, headers, payloadHash: headers["x-amz-content-sha256"] }, { ...credentials, sessionToken }, date);
    const reference = await referenceAuthorization(host, path, headers, body, date, sessionToken);
    expect(ours.authorization).toBe(reference.authorization);
    expect(ours["x-amz-date"]).toBe("20261125T102030Z");
  });

  it("trims and folds whitespace in header values as the AWS SDK does, and dates each signature by its own second", async () => {
    const body = Buffer.from("[]");
    const host = "s3.example.internal:9000";
    const path = "/bucket/events/p1/trace/t1/e1.json";
    const headers = {
      "content-length": String(body.length),
      "content-type": "application/json",
      "x-amz-content-sha256": sha256Hex(body),
      "x-amz-server-side-encryption-aws-kms-key-id": "  arn:aws:kms:key   with\tspaces ",
    };
    const signer = new SigV4Signer("eu-central-1");
    for (const date of [new Date("2026-11-25T23:59:59.900Z"), new Date("2026-11-26T00:00:00.100Z"), new Date("2026-11-26T00:00:00.999Z")]) {
      const ours = signer.sign({ method: "PUT", host, path, headers, payloadHash: headers["x-amz-content-sha256"] }, credentials, date);
      const reference = await referenceAuthorization(host, path, headers, body, date);
      expect(ours.authorization).toBe(reference.authorization);
    }
  });

  it("encodes keys the way S3 expects: unreserved characters and / stay", () => {
    expect(encodeKeyPath("a/b c/d+e/é/~._-/!'()*")).toBe("a/b%20c/d%2Be/%C3%A9/~._-/%21%27%28%29%2A");
  });
});
