import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";

export const S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/** s3rver over real HTTP on a free port, with one bucket, in a throwaway folder. */
export async function startS3(bucket = "langfuse") {
  const directory = await mkdtemp(join(tmpdir(), "lor-s3-"));
  const server = new S3rver({ port: 0, address: "127.0.0.1", directory, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
  const address = (await server.run()) as AddressInfo;
  const endpoint = `http://127.0.0.1:${address.port}`;
  const client = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: S3_CREDENTIALS });

  async function listKeys(prefix = ""): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const item of page.Contents ?? []) keys.push(item.Key!);
      token = page.NextContinuationToken;
    } while (token);
    return keys.sort();
  }

  async function getObject(key: string): Promise<{ body: string; contentType: string | undefined }> {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return { body: await object.Body!.transformToString("utf8"), contentType: object.ContentType };
  }

  async function getJson<T = unknown>(key: string): Promise<T> {
    return JSON.parse((await getObject(key)).body) as T;
  }

  async function stop(): Promise<void> {
    client.destroy();
    await server.close();
    await rm(directory, { recursive: true, force: true });
  }

  /** `directory`: where s3rver keeps the objects on disk, for tests that read every stored byte. */
  return { endpoint, bucket, directory, client, listKeys, getObject, getJson, stop };
}

export type TestS3 = Awaited<ReturnType<typeof startS3>>;
