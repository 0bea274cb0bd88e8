import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateBucketCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { basicAuth, TEST_KEYS } from "../support/daemon.js";
import { startStack, type TestStack } from "../support/stack.js";

/** One daemon, several projects: each key's data goes to its team's bucket, jobs point there. */
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack({
    configure: (yaml) => {
      const s3Block = /  s3:\n(    .*\n)+/.exec(yaml)![0];
      const teamA = s3Block.replace("  s3:\n", "  s3/team-a:\n").replace("    bucket: langfuse\n", `    bucket: langfuse\n    projects: [${TEST_KEYS.projectId}]\n`);
      const teamB = s3Block.replace("  s3:\n", "  s3/team-b:\n").replace("    bucket: langfuse\n", "    bucket: team-b\n    projects: [project-other]\n");
      return yaml.replace(s3Block, teamA + teamB).replace("exporters: [s3, bullmq]", "exporters: [s3/team-a, s3/team-b, bullmq]");
    },
  });
  await stack.s3.client.send(new CreateBucketCommand({ Bucket: "team-b" }));
});

afterAll(async () => {
  await stack?.stop();
});

async function ingest(publicKey: string, secretKey: string, traceId: string) {
  const response = await fetch(`${stack.daemon.url("langfuse")}/api/public/ingestion`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: basicAuth(publicKey, secretKey) },
    body: JSON.stringify({ batch: [{ id: `e-${traceId}`, type: "trace-create", timestamp: "2026-01-01T00:00:00Z", body: { id: traceId } }] }),
  });
  expect(response.status).toBe(207);
}

async function keysIn(bucket: string): Promise<string[]> {
  await stack.exported();
  const listing = await stack.s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listing.Contents ?? []).map((item) => item.Key!).sort();
}

describe("routing by project", () => {
  it("writes each project's objects to its own bucket and points the jobs there", async () => {
    await ingest(TEST_KEYS.publicKey, TEST_KEYS.secretKey, "route-a");
    await ingest("pk-lf-other", "sk-lf-other", "route-b");
    expect(await keysIn("langfuse")).toEqual([`events/${TEST_KEYS.projectId}/trace/route-a/e-route-a.json`]);
    expect(await keysIn("team-b")).toEqual(["events/project-other/trace/route-b/e-route-b.json"]);
    const jobs = await stack.redis.jobs();
    expect(jobs.map((job) => [job.data.payload.authCheck.scope.projectId, job.data.payload.data.bucketPrefix]).sort()).toEqual([
      ["project-other", "events/project-other/trace/route-b/"],
      [TEST_KEYS.projectId, `events/${TEST_KEYS.projectId}/trace/route-a/`],
    ]);
  });
});
