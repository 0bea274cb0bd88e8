import { describe, expect, it } from "vitest";
import { BearerAuthorizer, EntraTokenError, STORAGE_SCOPE, type TokenSource } from "../../../src/exporters/azure/auth.js";

/** A credential that hands out numbered tokens valid for an hour, or fails when told to. */
function countingCredential(clock: { now: number }) {
  const calls: string[] = [];
  let failWith: Error | undefined;
  let gate: Promise<void> = Promise.resolve();
  const credential: TokenSource = {
    async getToken(scope) {
      calls.push(scope);
      await gate;
      if (failWith) throw failWith;
      return { token: `token-${calls.length}`, expiresOnTimestamp: clock.now + 3_600_000, refreshAfterTimestamp: clock.now + 1_800_000 };
    },
  };
  return {
    credential,
    calls,
    fail: (error: Error | undefined) => (failWith = error),
    hold: () => {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      return () => release();
    },
  };
}

const request = () => ({ method: "PUT", path: "/c/b.json", headers: {} as Record<string, string> });

describe("Entra ID bearer tokens", () => {
  it("asks for Azure Storage's scope once and reuses the token, also for PUTs that start together", async () => {
    const clock = { now: 1_000_000 };
    const source = countingCredential(clock);
    const authorizer = new BearerAuthorizer(source.credential, () => clock.now);
    const requests = Array.from({ length: 5 }, request);
    await Promise.all(requests.map((each) => authorizer.authorize(each)));
    expect(source.calls).toEqual([STORAGE_SCOPE]);
    for (const each of requests) expect(each.headers.authorization).toBe("Bearer token-1");
  });

  it("renews in the background once due, serving the current token meanwhile, and waits only when it expires", async () => {
    const clock = { now: 1_000_000 };
    const source = countingCredential(clock);
    const authorizer = new BearerAuthorizer(source.credential, () => clock.now);
    expect(await authorizer.token()).toBe("token-1");
    clock.now += 1_800_000; // the credential's refresh time
    const release = source.hold();
    expect(await authorizer.token()).toBe("token-1");
    expect(source.calls).toHaveLength(2);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(await authorizer.token()).toBe("token-2");
    // A failed background renewal leaves the valid token in use, and the next PUT tries again.
    clock.now += 1_800_000;
    source.fail(new Error("AAD down"));
    expect(await authorizer.token()).toBe("token-2");
    await new Promise((resolve) => setImmediate(resolve));
    source.fail(undefined);
    expect(await authorizer.token()).toBe("token-2");
    await new Promise((resolve) => setImmediate(resolve));
    expect(await authorizer.token()).toBe("token-4");
    // Past expiry (less 30 s), a PUT waits for a new token.
    clock.now += 3_600_000;
    source.fail(Object.assign(new Error("no token file"), { name: "CredentialUnavailableError" }));
    const error = await authorizer.token().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EntraTokenError);
    expect((error as EntraTokenError).credentialError.name).toBe("CredentialUnavailableError");
  });
});
