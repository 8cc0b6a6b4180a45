import assert from "node:assert/strict";
import type { PamRequest } from "../src/pam_request.ts";
import { decide as decideBytes } from "../src/policy.ts";
import { type FakeDirectory, fakeNetAuth } from "../testkit/fake_client.ts";

/** The policy takes the secret's bytes; these tests speak in strings. */
const decide = (
  request: PamRequest,
  secret: string | undefined,
  ...rest: Parameters<typeof decideBytes> extends [unknown, unknown, ...infer R] ? R : never
) => decideBytes(request, secret === undefined ? undefined : new TextEncoder().encode(secret), ...rest);

const dir: FakeDirectory = {
  secrets: { alice: "alice-pw", carol: "carol-pw", dave: "dave-pw" },
  locked: ["carol"],
  groups: { alice: ["ops", "staff"], dave: [] },
};
const auth = (entity: string): PamRequest => ({ type: "auth", entity, service: "sshd" });
const account = (entity: string): PamRequest => ({ type: "account", entity, service: "sshd" });

Deno.test("auth: right secret 0, wrong secret / unknown / locked 7", async () => {
  const none = { requireGroups: [] };
  assert.equal((await decide(auth("alice"), "alice-pw", fakeNetAuth(dir), none)).exit, 0);
  assert.equal((await decide(auth("alice"), "nope", fakeNetAuth(dir), none)).exit, 7);
  assert.equal((await decide(auth("zed"), "x", fakeNetAuth(dir), none)).exit, 7);
  assert.equal((await decide(auth("carol"), "carol-pw", fakeNetAuth(dir), none)).exit, 7);
});

Deno.test("auth with --require-group: any one group suffices, checked only after the secret", async () => {
  const client = fakeNetAuth(dir);
  assert.equal((await decide(auth("alice"), "alice-pw", client, { requireGroups: ["wheel", "staff"] })).exit, 0);
  assert.equal((await decide(auth("dave"), "dave-pw", client, { requireGroups: ["staff"] })).exit, 6);
  assert.equal((await decide(auth("dave"), "wrong", client, { requireGroups: ["staff"] })).exit, 7);
  assert.deepEqual(client.calls, ["auth alice", "groups alice", "auth dave", "groups dave", "auth dave"]);
});

Deno.test("account: permitted 0, locked 6, unknown 10, group missing 6", async () => {
  const none = { requireGroups: [] };
  assert.equal((await decide(account("alice"), undefined, fakeNetAuth(dir), none)).exit, 0);
  assert.equal((await decide(account("carol"), undefined, fakeNetAuth(dir), none)).exit, 6);
  assert.equal((await decide(account("zed"), undefined, fakeNetAuth(dir), none)).exit, 10);
  assert.equal((await decide(account("dave"), undefined, fakeNetAuth(dir), { requireGroups: ["ops"] })).exit, 6);
  assert.equal((await decide(account("alice"), undefined, fakeNetAuth(dir), { requireGroups: ["ops"] })).exit, 0);
});

Deno.test("server trouble and oversized replies are 9, other refusals 4, for both types", async () => {
  for (const request of [auth("alice"), account("alice")]) {
    const down = await decide(request, "alice-pw", fakeNetAuth({ ...dir, failWith: "unavailable" }), {
      requireGroups: [],
    });
    assert.equal(down.exit, 9);
    assert.equal(down.outcome, "unavailable");
    const refused = await decide(request, "alice-pw", fakeNetAuth({ ...dir, failWith: "refused" }), {
      requireGroups: [],
    });
    assert.equal(refused.exit, 4);
    const oversized = await decide(request, "alice-pw", fakeNetAuth({ ...dir, failWith: "oversized" }), {
      requireGroups: [],
    });
    assert.deepEqual([oversized.exit, oversized.outcome], [9, "reply_too_large"]);
    assert.equal(oversized.msg, "NetAuth reply too large: scripted failure");
    const bad = await decide(request, "alice-pw", fakeNetAuth({ ...dir, failWith: "bad_reply" }), {
      requireGroups: [],
    });
    assert.deepEqual([bad.exit, bad.outcome, bad.msg], [4, "bad_reply", "NetAuth sent a bad reply: scripted failure"]);
  }
});
