// Turning the cache on: the directory check, the warning that keeps logins working without it,
// and the scrypt cost the helper itself pays (the unit tests elsewhere use a cheap one).
import assert from "node:assert/strict";
import { cacheProblem, openCache } from "../../src/cache/open.ts";
import { CacheStore } from "../../src/cache/store.ts";
import { CURRENT_KDF } from "../../src/cache/verifier.ts";
import { createLogger } from "../../src/log.ts";
import { fakeNetAuth } from "../../testkit/fake_client.ts";

const DAY = 86400e3;

async function withDir(mode: number, fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "netauth-cache-" });
  try {
    await Deno.chmod(dir, mode);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("cacheProblem: the running user's private directory is fine; others say what is wrong", async () => {
  await withDir(0o700, async (dir) => {
    assert.equal(await cacheProblem(dir), undefined);
    assert.equal(await cacheProblem(`${dir}/missing`), "does not exist");
    await Deno.chmod(dir, 0o750);
    assert.equal(await cacheProblem(dir), "is open to group or others (mode 750; want 700)");
  });
});

Deno.test("an unusable directory turns the cache off with one warning, so logins still work", async () => {
  const lines: string[] = [];
  const settings = { dir: "/nonexistent-netauth-test/cache", maxAgeMs: DAY, tries: 5 };
  const decide = await openCache(settings, createLogger("WARN", (line) => lines.push(line)), Date.now() + 10_000);
  assert.equal(decide, undefined);
  assert.deepEqual(lines, [
    'level=warn msg="offline cache skipped: /nonexistent-netauth-test/cache does not exist" ' +
    "cache=/nonexistent-netauth-test/cache",
  ]);
});

Deno.test("the helper's cache remembers an online success with the production scrypt cost", async () => {
  assert.deepEqual(CURRENT_KDF, { name: "scrypt", N: 2 ** 15, r: 8, p: 1, keyLength: 32 });
  await withDir(0o700, async (dir) => {
    const quiet = createLogger("ERROR", () => {});
    const decide = await openCache({ dir, maxAgeMs: DAY, tries: 5 }, quiet, Date.now() + 10_000);
    assert.ok(decide, "a usable directory gives a cached decision");
    const request = { type: "auth" as const, entity: "alice", service: "sshd" };
    const client = fakeNetAuth({ secrets: { alice: "pw" } });
    const decision = await decide(request, new TextEncoder().encode("pw"), client, { requireGroups: [] });
    assert.deepEqual([decision.exit, decision.outcome, decision.source], [0, "authenticated", "netauth"]);
    assert.deepEqual((await new CacheStore(dir).read("alice"))?.kdf, CURRENT_KDF);
  });
});
