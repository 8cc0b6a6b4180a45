import assert from "node:assert/strict";
import { VerifierMemo } from "../../src/cache/verifier_memo.ts";
import { makeVerifier, matches } from "../../src/cache/verifier.ts";
import { TEST_KDF } from "../../testkit/cheap_kdf.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

/** A memo whose derivations are counted. */
function counted(clock = { now: 0 }) {
  const memo = new VerifierMemo(() => clock.now, 1000, 3);
  let derived = 0;
  const verifierFor = (entity: string, secret: string, kdf = TEST_KDF) =>
    memo.verifierFor(entity, bytes(secret), kdf, () => (derived++, makeVerifier(bytes(secret), kdf)));
  return { memo, verifierFor, clock, derived: () => derived };
}

Deno.test("a storm of successes with one password derives once, and the verifier checks that password", async () => {
  const { verifierFor, derived } = counted();
  const made = await Promise.all(Array.from({ length: 50 }, () => verifierFor("alice", "pw-1")));
  assert.equal(derived(), 1);
  assert.ok(made.every((m) => m === made[0]));
  assert.ok(await matches("pw-1", made[0]));
  assert.equal(await verifierFor("alice", "pw-1"), made[0]);
  assert.equal(derived(), 1);
});

Deno.test("a changed password, another entity, other KDF parameters or an old memo derive afresh", async () => {
  const { verifierFor, derived, clock } = counted();
  const first = await verifierFor("alice", "pw-1");
  const changed = await verifierFor("alice", "pw-2");
  assert.equal(derived(), 2);
  assert.ok(await matches("pw-2", changed));
  assert.ok(!(await matches("pw-1", changed)));
  // pw-1 is no longer what the memo holds for alice: accepted again, it is derived again.
  assert.notEqual(await verifierFor("alice", "pw-1"), first);
  assert.equal(derived(), 3);
  await verifierFor("bob", "pw-1");
  assert.equal(derived(), 4);
  await verifierFor("alice", "pw-1", { ...TEST_KDF, N: TEST_KDF.N * 2 });
  assert.equal(derived(), 5);
  clock.now += 1000; // the memo's ttl
  await verifierFor("alice", "pw-1", { ...TEST_KDF, N: TEST_KDF.N * 2 });
  assert.equal(derived(), 6);
});

Deno.test("forget (NetAuth refused the entity) and a failed derivation leave nothing to reuse", async () => {
  const { memo, verifierFor, derived } = counted();
  await verifierFor("alice", "pw-1");
  memo.forget("alice");
  await verifierFor("alice", "pw-1");
  assert.equal(derived(), 2);
  await assert.rejects(memo.verifierFor("carol", bytes("pw"), TEST_KDF, () => Promise.reject(new Error("busy"))));
  await verifierFor("carol", "pw");
  assert.equal(derived(), 3);
});

Deno.test("the memo is bounded: the oldest entities go first", async () => {
  const { memo, verifierFor, derived } = counted();
  for (const entity of ["a", "b", "c", "d"]) await verifierFor(entity, "pw");
  assert.equal(memo.size, 3);
  await verifierFor("a", "pw"); // dropped for d
  assert.equal(derived(), 5);
  await verifierFor("d", "pw");
  assert.equal(derived(), 5);
});
