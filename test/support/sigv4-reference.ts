import { createHash, createHmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";

function toBytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === "string") return data;
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** node:crypto as the hash of the AWS SDK's SignatureV4, the reference our own signer is checked against. */
export class NodeSha256 {
  readonly #hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret === undefined ? createHash("sha256") : createHmac("sha256", toBytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
  reset(): void {}
}

/** A request as an S3-compatible server received it. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * What the AWS SDK's signer computes for the request as the server received it, over the headers
 * the request says it signed: equal to its Authorization exactly when our signer signed what was sent.
 */
export async function expectedAuthorization(received: ReceivedRequest, credentials: { accessKeyId: string; secretAccessKey: string }, region: string): Promise<string> {
  const signedNames = /SignedHeaders=([^,]+)/.exec(received.headers.authorization!)![1]!.split(";");
  const headers = Object.fromEntries(signedNames.map((name) => [name, received.headers[name] ?? "<missing>"]));
  const stamp = received.headers["x-amz-date"]!;
  const date = new Date(`${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`);
  const signer = new SignatureV4({ credentials, region, service: "s3", sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
  const signed = await signer.sign(
    { method: received.method, protocol: "http:", hostname: headers.host!, path: received.path, headers, query: {}, body: received.body },
    { signingDate: date },
  );
  return signed.headers.authorization!;
}
