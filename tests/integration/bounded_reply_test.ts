// A broken or hostile server cannot make the helper buffer, keep or cache an unbounded reply.
import assert from "node:assert/strict";
import { it, startFaulty, startScripted } from "../../testkit/fixture.ts";
import { CacheStore } from "../../src/cache/store.ts";
import { SECRETS } from "../../testkit/fake_netauth.ts";
import { decisionLine, runHelper } from "../../testkit/run_helper.ts";

const scripted = await startScripted({ cache: true });
const { server, confDir, flags, cacheDir, cacheFlags } = scripted;
const store = new CacheStore(cacheDir);

function run(type: string, user: string, args: string[] = [], cache = false) {
  return runHelper({
    confDir,
    flags: cache ? cacheFlags : flags,
    env: { PAM_TYPE: type, PAM_USER: user, PAM_SERVICE: "sshd" },
    stdin: type === "auth" ? SECRETS[user] : "",
    args: [...(cache ? ["--cache-dir", cacheDir] : []), ...args],
    secret: type === "auth" ? SECRETS[user] : undefined,
  });
}

const lineOf = (stderr: string) => {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, stderr);
  return lines[0].replace(/ms=\d+$/, "ms=N");
};

it("600,000 groups: exit 9 at once, one line naming the limit", async () => {
  await run("account", "huge", ["--require-group", "ops"]); // the server encodes its reply once
  for (const type of ["account", "auth"]) {
    const result = await run(type, "huge", ["--require-group", "ops"]);
    assert.equal(result.code, 9, result.stderr);
    assert.match(
      lineOf(result.stderr),
      new RegExp(
        '^level=error msg="NetAuth reply too large: EntityGroups sent \\d+ bytes, over the limit of 524288" ' +
          `entity=huge service=sshd type=${type} outcome=reply_too_large exit=9 ms=N$`,
      ),
    );
    // Generous, yet short of the default 10 s timeout: the reply is refused, not waited out.
    assert.ok(result.ms < 9000, `took ${result.ms} ms`);
  }
});

it("more than 1024 groups, or a name over 128 characters, is refused, not truncated", async () => {
  const many = await run("account", "many", ["--require-group", "g0"]);
  assert.equal(many.code, 9, many.stderr);
  assert.match(
    lineOf(many.stderr),
    /msg="NetAuth reply too large: EntityGroups sent 1025 groups, over the limit of 1024" .*outcome=reply_too_large/,
  );
  const long = await run("account", "longname", ["--require-group", "ops"]);
  assert.equal(long.code, 9, long.stderr);
  assert.match(
    lineOf(long.stderr),
    /msg="NetAuth reply too large: EntityGroups sent a group name of 129 characters, over the limit of 128" /,
  );
});

it("with a cache: no oversized entry is written, and an oversized reply is not NetAuth being down", async () => {
  const denied = await run("auth", "huge", ["--require-group", "ops"], true);
  assert.equal(denied.code, 9, denied.stderr);
  assert.match(decisionLine(denied), /source=netauth outcome=reply_too_large/);
  await assert.rejects(Deno.stat(store.pathFor("huge")), Deno.errors.NotFound);
  // Without --require-group the password decides; the groups the cache wanted are left out, not kept.
  const allowed = await run("auth", "huge", [], true);
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.ok((await Deno.stat(store.pathFor("huge"))).size < 4096);
  assert.equal((await store.read("huge"))?.groups, undefined);

  // bob's cached groups say staff; an oversized reply must neither answer from them nor remove them.
  assert.equal((await run("auth", "bob", ["--require-group", "staff"], true)).code, 0);
  const cached = await Deno.readTextFile(store.pathFor("bob"));
  const saved = server.groups.bob;
  server.groups.bob = Array.from({ length: 1025 }, (_, i) => `staff${i}`);
  try {
    const refused = await run("auth", "bob", ["--require-group", "staff"], true);
    assert.equal(refused.code, 9, refused.stderr);
    assert.match(decisionLine(refused), /source=netauth outcome=reply_too_large/);
    assert.equal(await Deno.readTextFile(store.pathFor("bob")), cached);
  } finally {
    server.groups.bob = saved;
  }
});

it("a gzip bomb is over the limit once inflated: exit 9 reply_too_large, and the cache does not answer", async () => {
  const broken = await startFaulty(scripted);
  broken.faulty.fault = "gzip_bomb";
  assert.equal((await run("auth", "alice", [], true)).code, 0); // a fresh entry that a cache answer would use
  const entry = await Deno.readTextFile(store.pathFor("alice"));
  const bomb = await runHelper({
    confDir: broken.confDir,
    flags: broken.flags,
    env: { PAM_TYPE: "auth", PAM_USER: "alice", PAM_SERVICE: "sshd" },
    stdin: "not-alice-pw",
    args: ["--cache-dir", cacheDir],
  });
  assert.equal(bomb.code, 9, bomb.stderr);
  assert.equal(
    lineOf(bomb.stderr),
    'level=error msg="NetAuth reply too large: AuthEntity sent a compressed message that inflates past the limit of ' +
      '524288 bytes" entity=alice service=sshd type=auth source=netauth outcome=reply_too_large exit=9 ms=N',
  );
  assert.equal(await Deno.readTextFile(store.pathFor("alice")), entry, "the offline cache answered");
});
