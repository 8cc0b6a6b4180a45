import assert from "node:assert/strict";
import { decideWithCache as decideWithBytes, type OfflineCache } from "../../src/cache/offline.ts";
import type { Logger } from "../../src/log.ts";
import type { PolicyOptions } from "../../src/policy.ts";
import { CacheStore } from "../../src/cache/store.ts";
import { createLogger } from "../../src/log.ts";
import { TEST_KDF } from "../../testkit/cheap_kdf.ts";
import { VerifierMemo } from "../../src/cache/verifier_memo.ts";
import { KDF_SLOTS, withKdfSlot } from "../../src/cache/kdf_pool.ts";
import { fakeNetAuth } from "../../testkit/fake_client.ts";
import type { NetAuthClient } from "../../src/netauth/client.ts";
import type { PamRequest } from "../../src/pam_request.ts";

const DAY = 86400e3;
/** How an offline answer of 9 begins: the online failure it stands in for. */
const DOWN = "NetAuth unavailable: UNAVAILABLE: connection refused; ";

/** The helper hands the cache the secret's bytes; these tests speak in strings. */
const decideWithCache = (
  request: PamRequest,
  secret: string | undefined,
  client: NetAuthClient,
  policy: PolicyOptions,
  cache: OfflineCache,
  logger: Logger,
) =>
  decideWithBytes({
    request,
    secret: secret === undefined ? undefined : new TextEncoder().encode(secret),
    client,
    policy,
    cache,
    logger,
  });

/** NetAuth with one entity, alice, whose password, groups, lock and reachability the test changes. */
function netauth(state: { up: boolean; password: string; groups: string[]; locked?: boolean }): NetAuthClient {
  return fakeNetAuth({
    get secrets() {
      return { alice: state.password };
    },
    get locked() {
      return state.locked ? ["alice"] : [];
    },
    get groups() {
      return { alice: state.groups };
    },
    get failWith() {
      return state.up ? undefined : "unavailable" as const;
    },
    failure: "UNAVAILABLE: connection refused",
  });
}

async function withCache(fn: (cache: OfflineCache, clock: { now: number }) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const clock = { now: Date.parse("2026-11-26T00:00:00Z") };
  try {
    const deadline = Date.now() + 30_000;
    const cache = {
      store: new CacheStore(dir),
      maxAgeMs: 7 * DAY,
      tries: 3,
      now: () => clock.now,
      deadline,
      kdf: TEST_KDF,
    };
    await fn(cache, clock);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const quiet = createLogger("ERROR", () => {});
const auth: PamRequest = { type: "auth", entity: "alice", service: "sshd" };
const account: PamRequest = { type: "account", entity: "alice", service: "sshd" };
const none = { requireGroups: [] };

Deno.test("online success is cached; offline the same password passes, others fail (source=cache)", async () => {
  await withCache(async (cache) => {
    const state = { up: true, password: "pw1", groups: ["ops"] };
    const client = netauth(state);
    assert.deepEqual(
      { ...(await decideWithCache(auth, "pw1", client, none, cache, quiet)), groups: undefined },
      { exit: 0, outcome: "authenticated", msg: "authenticated", source: "netauth", groups: undefined },
    );
    state.up = false;
    const ok = await decideWithCache(auth, "pw1", client, none, cache, quiet);
    assert.deepEqual([ok.exit, ok.source], [0, "cache"]);
    const wrong = await decideWithCache(auth, "pw2", client, none, cache, quiet);
    assert.deepEqual([wrong.exit, wrong.source], [7, "cache"]);
    assert.equal((await cache.store.read("alice"))!.offlineFailures, 1);
  });
});

Deno.test("offline: no entry and an expired entry are 9", async () => {
  await withCache(async (cache, clock) => {
    const state = { up: false, password: "pw", groups: [] };
    assert.equal((await decideWithCache(auth, "pw", netauth(state), none, cache, quiet)).exit, 9);
    state.up = true;
    await decideWithCache(auth, "pw", netauth(state), none, cache, quiet);
    state.up = false;
    clock.now += 7 * DAY - 1000;
    assert.equal((await decideWithCache(auth, "pw", netauth(state), none, cache, quiet)).exit, 0);
    clock.now += 2000;
    const expired = await decideWithCache(auth, "pw", netauth(state), none, cache, quiet);
    assert.equal(expired.exit, 9);
    assert.equal(expired.msg, DOWN + "cached credential expired");
  });
});

Deno.test("after --cache-tries offline failures the entry is refused until an online success", async () => {
  await withCache(async (cache) => {
    const state = { up: true, password: "pw", groups: [] };
    const client = netauth(state);
    await decideWithCache(auth, "pw", client, none, cache, quiet);
    state.up = false;
    for (let i = 0; i < 3; i++) assert.equal((await decideWithCache(auth, "bad", client, none, cache, quiet)).exit, 7);
    const locked = await decideWithCache(auth, "pw", client, none, cache, quiet);
    assert.equal(locked.exit, 9);
    assert.equal(locked.msg, DOWN + "cached credential disabled after 3 offline failures");
    state.up = true;
    assert.equal((await decideWithCache(auth, "pw", client, none, cache, quiet)).exit, 0);
    state.up = false;
    assert.equal((await decideWithCache(auth, "pw", client, none, cache, quiet)).exit, 0);
  });
});

Deno.test("the server's verdict wins: UNAUTHENTICATED online removes the entry", async () => {
  await withCache(async (cache) => {
    const state = { up: true, password: "pw", groups: [] };
    const client = netauth(state);
    await decideWithCache(auth, "pw", client, none, cache, quiet);
    assert.equal((await decideWithCache(auth, "guess", client, none, cache, quiet)).exit, 7);
    assert.equal(await cache.store.read("alice"), undefined);
    state.up = false;
    assert.equal((await decideWithCache(auth, "pw", client, none, cache, quiet)).exit, 9);
  });
});

Deno.test("a rotated password replaces the cached one", async () => {
  await withCache(async (cache) => {
    const state = { up: true, password: "old", groups: [] };
    const client = netauth(state);
    await decideWithCache(auth, "old", client, none, cache, quiet);
    state.password = "new";
    await decideWithCache(auth, "new", client, none, cache, quiet);
    state.up = false;
    assert.equal((await decideWithCache(auth, "old", client, none, cache, quiet)).exit, 7);
    assert.equal((await decideWithCache(auth, "new", client, none, cache, quiet)).exit, 0);
  });
});

Deno.test("account offline: permitted with a valid entry, groups checked against the cached ones", async () => {
  await withCache(async (cache) => {
    const state = { up: true, password: "pw", groups: ["ops", "staff"], locked: false };
    const client = netauth(state);
    await decideWithCache(auth, "pw", client, none, cache, quiet);
    state.up = false;
    assert.equal((await decideWithCache(account, undefined, client, none, cache, quiet)).exit, 0);
    assert.equal(
      (await decideWithCache(account, undefined, client, { requireGroups: ["staff"] }, cache, quiet)).exit,
      0,
    );
    const out = await decideWithCache(account, undefined, client, { requireGroups: ["wheel"] }, cache, quiet);
    assert.deepEqual([out.exit, out.source], [6, "cache"]);
    const stranger = await decideWithCache({ ...account, entity: "bob" }, undefined, client, none, cache, quiet);
    assert.equal(stranger.exit, 9);
    // Locked online: the entry goes, so the account is not permitted offline either.
    state.up = true;
    state.locked = true;
    assert.equal((await decideWithCache(account, undefined, client, none, cache, quiet)).exit, 6);
    state.up = false;
    assert.equal((await decideWithCache(account, undefined, client, none, cache, quiet)).exit, 9);
  });
});

Deno.test("a cache that cannot be written never changes NetAuth's verdict", async () => {
  const lines: string[] = [];
  const cache: OfflineCache = {
    store: new CacheStore("/nonexistent/dir"),
    maxAgeMs: DAY,
    tries: 3,
    now: Date.now,
    deadline: Date.now() + 30_000,
    kdf: TEST_KDF,
  };
  const result = await decideWithCache(
    auth,
    "pw",
    netauth({ up: true, password: "pw", groups: [] }),
    none,
    cache,
    createLogger("WARN", (l) => lines.push(l)),
  );
  assert.equal(result.exit, 0);
  assert.match(lines.join("\n"), /level=warn msg="cache not updated" entity=alice/);
});

Deno.test("offline, a try that cannot be counted is not judged: 9, with a warning", async () => {
  await withCache(async (cache) => {
    const state = { up: true, password: "pw", groups: [] };
    await decideWithCache(auth, "pw", netauth(state), none, cache, quiet);
    state.up = false;
    const lines: string[] = [];
    const readOnly: OfflineCache = {
      ...cache,
      store: Object.assign(Object.create(cache.store), { write: () => Promise.reject(new Error("disk full")) }),
    };
    const log = createLogger("WARN", (l) => lines.push(l));
    for (const secret of ["bad", "pw"]) {
      const answer = await decideWithCache(auth, secret, netauth(state), none, readOnly, log);
      assert.deepEqual([answer.exit, answer.source], [9, "cache"]);
      assert.equal(answer.msg, DOWN + "the offline try could not be counted");
    }
    assert.match(lines.join("\n"), /msg="cache not updated" entity=alice error="Error: disk full"/);
    assert.equal((await cache.store.read("alice"))!.offlineFailures, 0);
  });
});

Deno.test("parallel wrong guesses: exactly --cache-tries are judged, then even the right one is refused", async () => {
  await withCache(async (cache) => {
    const state = { up: true, password: "pw", groups: [] };
    const client = netauth(state);
    await decideWithCache(auth, "pw", client, none, cache, quiet);
    state.up = false;
    const guesses = Array.from({ length: 8 }, (_, i) => decideWithCache(auth, `bad${i}`, client, none, cache, quiet));
    const exits = (await Promise.all(guesses)).map((d) => d.exit).sort();
    assert.deepEqual(exits, [7, 7, 7, 9, 9, 9, 9, 9]);
    assert.equal((await cache.store.read("alice"))!.offlineFailures, 3);
    const right = await decideWithCache(auth, "pw", client, none, cache, quiet);
    assert.equal(right.exit, 9);
    assert.equal(right.msg, DOWN + "cached credential disabled after 3 offline failures");
  });
});

Deno.test("offline success gives the counted try back; a mismatch keeps it", async () => {
  await withCache(async (cache) => {
    const state = { up: true, password: "pw", groups: [] };
    const client = netauth(state);
    await decideWithCache(auth, "pw", client, none, cache, quiet);
    state.up = false;
    assert.equal((await decideWithCache(auth, "bad", client, none, cache, quiet)).exit, 7);
    assert.equal((await decideWithCache(auth, "pw", client, none, cache, quiet)).exit, 0);
    assert.equal((await cache.store.read("alice"))!.offlineFailures, 1);
  });
});

Deno.test("an entry whose lock stays held past the deadline answers 9 in time, nothing counted", async () => {
  await withCache(async (cache) => {
    const state = { up: true, password: "pw", groups: [] };
    const client = netauth(state);
    await decideWithCache(auth, "pw", client, none, cache, quiet);
    state.up = false;
    const holder = await cache.store.lock("alice", Date.now());
    assert.ok(holder, "the test could not take the lock");
    try {
      const started = Date.now();
      const busy = await decideWithCache(auth, "pw", client, none, { ...cache, deadline: started + 200 }, quiet);
      assert.equal(busy.exit, 9);
      assert.equal(busy.msg, DOWN + "cached credential busy: parallel logins held it until the deadline");
      // Generous: the point is that the wait ends near the deadline, not at some lock holder's leisure.
      assert.ok(Date.now() - started < 5000, `waited ${Date.now() - started} ms for a 200 ms deadline`);
    } finally {
      holder();
    }
    assert.equal((await cache.store.read("alice"))!.offlineFailures, 0);
    assert.equal((await decideWithCache(auth, "pw", client, none, cache, quiet)).exit, 0);
  });
});

Deno.test("only a transport failure lets the cache answer: a bad, refused or oversized reply does not", async () => {
  await withCache(async (cache) => {
    const client = netauth({ up: true, password: "pw", groups: [] });
    await decideWithCache(auth, "pw", client, none, cache, quiet);
    const entry = await cache.store.read("alice");
    for (const kind of ["bad_reply", "refused", "oversized"] as const) {
      const broken = fakeNetAuth({ secrets: { alice: "pw" }, failWith: kind });
      for (const [request, secret] of [[auth, "wrong"], [auth, "pw"], [account, undefined]] as const) {
        const decision = await decideWithCache(request, secret, broken, none, cache, quiet);
        assert.equal(decision.source, "netauth", `${kind}: ${decision.msg}`);
        assert.notEqual(decision.exit, 0);
      }
      assert.deepEqual(await cache.store.read("alice"), entry, `${kind} changed the entry`);
    }
  });
});

Deno.test("with the memo: a storm of one password derives once; a changed password or a lock is never missed", async () => {
  await withCache(async (plain, clock) => {
    const memo = new VerifierMemo(() => clock.now);
    const cache = { ...plain, memo };
    const derivations = () => cache.store.read("alice").then((e) => e?.salt.toHex());
    const state = { up: true, password: "pw-1", groups: ["ops"], locked: false };
    const client = netauth(state);
    const storm = await Promise.all(
      Array.from({ length: 40 }, () => decideWithCache(auth, "pw-1", client, none, cache, quiet)),
    );
    assert.ok(storm.every((d) => d.exit === 0 && d.source === "netauth"));
    const salt = await derivations();
    clock.now += 60_000;
    assert.equal((await decideWithCache(auth, "pw-1", client, none, cache, quiet)).exit, 0);
    assert.equal(await derivations(), salt, "the same password a minute later reused the verifier");
    assert.equal((await cache.store.read("alice"))!.onlineAt, clock.now, "but the entry's age starts again");
    // A changed password: NetAuth takes the new one, and the entry is the new one's.
    state.password = "pw-2";
    assert.equal((await decideWithCache(auth, "pw-1", client, none, cache, quiet)).exit, 7);
    assert.equal((await decideWithCache(auth, "pw-2", client, none, cache, quiet)).exit, 0);
    assert.notEqual(await derivations(), salt);
    state.up = false;
    assert.equal((await decideWithCache(auth, "pw-1", client, none, cache, quiet)).exit, 7);
    assert.equal((await decideWithCache(auth, "pw-2", client, none, cache, quiet)).exit, 0);
    // A lock: NetAuth's verdict comes first, the entry and the memo go.
    state.up = true;
    state.locked = true;
    assert.equal((await decideWithCache(account, undefined, client, none, cache, quiet)).exit, 6);
    assert.notEqual((await decideWithCache(auth, "pw-2", client, none, cache, quiet)).exit, 0);
    assert.equal(await cache.store.read("alice"), undefined);
    state.locked = false;
    assert.equal((await decideWithCache(auth, "pw-2", client, none, cache, quiet)).exit, 0);
    state.up = false;
    assert.equal((await decideWithCache(auth, "pw-2", client, none, cache, quiet)).exit, 0);
  });
});

Deno.test("a new password accepted online with no time left to derive its verifier: the old entry goes", async () => {
  await withCache(async (cache) => {
    const state = { up: true, password: "old-pw", groups: [] };
    assert.equal((await decideWithCache(auth, "old-pw", netauth(state), none, cache, quiet)).exit, 0);
    state.password = "new-pw"; // changed in NetAuth
    // A storm holds every derivation slot until past this login's deadline: no verifier for the new password, and
    // the old password's must not stay usable offline.
    let release = () => {};
    const held = new Promise<void>((resolve) => release = resolve);
    const holders = Array.from({ length: KDF_SLOTS }, () => withKdfSlot(() => held));
    try {
      const late = { ...cache, deadline: Date.now() + 300 };
      assert.equal((await decideWithCache(auth, "new-pw", netauth(state), none, late, quiet)).exit, 0);
    } finally {
      release();
      await Promise.all(holders);
    }
    assert.equal(await cache.store.read("alice"), undefined, "the old password's entry survived");
    state.up = false;
    const offline = await decideWithCache(auth, "old-pw", netauth(state), none, cache, quiet);
    assert.deepEqual([offline.exit, offline.msg], [9, DOWN + "no cached credential"]);
  });
});
