import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfigText } from "../../src/config/load.js";
import { pipelineYaml, TEST_KEYS } from "../support/daemon.js";
import { AckingClient } from "../support/delivery.js";
import { startStack, type TestStack } from "../support/stack.js";

/** Live reload swaps the processor chain of a running daemon without closing anything. */
let stack: TestStack;
let yaml: string;

beforeAll(async () => {
  stack = await startStack();
  yaml = pipelineYaml({ s3Endpoint: stack.s3.endpoint, keyPrefix: stack.redis.keyPrefix, spoolDirectory: stack.spoolDirectory });
});

afterAll(async () => {
  await stack?.stop();
});

const observations = async (spanIds: Iterable<string>) => {
  let found = 0;
  for (const spanId of spanIds) found += (await stack.s3.listKeys(`events/${TEST_KEYS.projectId}/observation/${spanId}/`)).length > 0 ? 1 : 0;
  return found;
};

describe("Service.reload", () => {
  it("applies a reordered chain with a new processor to the next request; nothing accepted before is lost", async () => {
    const client = new AckingClient(() => stack.daemon.url("otlp"));
    expect(await client.send(3)).toBe(200);
    const before = new Set(client.acked);

    const reordered = yaml
      .replace("  sort: {}\n", `  sort: {}\n  sample: { rates: { ${TEST_KEYS.projectId}: 0 } }\n`)
      .replace("processors: [validate, auth, sort, group]", "processors: [auth, sample, validate, group, sort]");
    const { restartNeeded } = await stack.daemon.service.reload(loadConfigText(reordered));
    expect(restartNeeded).toEqual([]);

    expect(await client.send(3)).toBe(200);
    const after = [...client.acked].filter((spanId) => !before.has(spanId));
    expect(after).toHaveLength(3);
    expect(await observations(before)).toBe(3);
    // Sampled out at rate 0 by the new chain: acknowledged, never stored.
    expect(await observations(after)).toBe(0);

    // And back: the original chain stores again.
    await stack.daemon.service.reload(loadConfigText(yaml));
    expect(await client.send(2)).toBe(200);
    const last = [...client.acked].filter((spanId) => !before.has(spanId) && !after.includes(spanId));
    expect(await observations(last)).toBe(2);
  });

  it("says which changes need a restart, and still applies the processors", async () => {
    const changed = yaml.replace("retry_after: 1s\n    max_attempts: 1", "retry_after: 2s\n    max_attempts: 1").replace("shutdown_timeout: 10s", "shutdown_timeout: 9s");
    const { restartNeeded } = await stack.daemon.service.reload(loadConfigText(changed));
    expect(restartNeeded).toEqual(["exporters", "service settings"]);
  });
});
