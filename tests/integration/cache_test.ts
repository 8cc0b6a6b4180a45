// The offline cache under the shipped sandbox (`install.sh --print-flags --cache-dir`), with
// the scripted server taken down and brought back.
import assert from "node:assert/strict";
import { it, startScripted } from "../../testkit/fixture.ts";
import { CacheStore, entryFileName } from "../../src/cache/store.ts";
import { SECRETS } from "../../testkit/fake_netauth.ts";
import { decisionLine, printFlags, runHelper } from "../../testkit/run_helper.ts";
import { OutageStore } from "../../src/outage/record.ts";

const { server, confDir, cacheDir, cacheFlags: flags } = await startScripted({ cache: true });
const store = new CacheStore(cacheDir);

async function login(user: string, password: string, args: string[] = [], type = "auth") {
  const run = await runHelper({
    confDir,
    flags,
    env: { PAM_TYPE: type, PAM_USER: user, PAM_SERVICE: "cache-test" },
    stdin: password,
    args: ["--cache-dir", cacheDir, "--timeout", "3", ...args], // NetAuth's share 2.25 s: a real try after start-up
    secret: password || undefined,
  });
  return { ...run, line: decisionLine(run) };
}

/**
 * Runs `fn` with NetAuth down (connections refused), then brings it back, with the outage over:
 * the record it left (src/outage/) is removed, as if its window had passed, so later tests start healthy.
 */
async function offline<T>(fn: () => Promise<T>): Promise<T> {
  server.pause();
  try {
    return await fn();
  } finally {
    server.resume();
    await new OutageStore(cacheDir).remove();
  }
}

it("the sandbox adds read and write for the cache directory only", () => {
  assert.ok(flags.includes(`--allow-read=${confDir},${cacheDir}`), flags.join(" "));
  assert.ok(flags.includes(`--allow-write=${cacheDir}`));
  assert.ok(flags.includes("--allow-sys=hostname,uid"));
  return Promise.resolve();
});

it("cached success: NetAuth down, the last good password still logs in (source=cache)", async () => {
  const online = await login("alice", SECRETS.alice);
  assert.equal(online.code, 0, online.stderr);
  assert.match(online.line, /source=netauth outcome=authenticated/);
  const entry = await Deno.readTextFile(store.pathFor("alice"));
  assert.ok(!entry.includes(SECRETS.alice), "the secret is in the cache file");
  assert.equal(Deno.statSync(store.pathFor("alice")).mode! & 0o777, 0o600);
  const cached = await offline(() => login("alice", SECRETS.alice));
  assert.equal(cached.code, 0, cached.stderr);
  assert.match(cached.line, /msg="authenticated from the offline cache" .*source=cache outcome=authenticated exit=0/);
});

it("offline: wrong secret 7, unknown entity 9, account permitted from the cache", async () => {
  await login("alice", SECRETS.alice);
  await offline(async () => {
    const wrong = await login("alice", "nope");
    assert.equal(wrong.code, 7);
    assert.match(wrong.line, /source=cache outcome=denied/);
    const unknown = await login("nobody", "whatever");
    assert.equal(unknown.code, 9);
    assert.match(unknown.line, /no cached credential/);
    assert.equal((await login("alice", "", [], "account")).code, 0);
    assert.equal((await login("alice", "", ["--require-group", "staff"], "account")).code, 0);
    assert.equal((await login("alice", "", ["--require-group", "wheel"], "account")).code, 6);
  });
  await login("alice", SECRETS.alice); // resets the failure count
});

it("a hung server leaves time for the cache inside --timeout", async () => {
  await login("alice", SECRETS.alice);
  server.hang();
  try {
    const run = await login("alice", SECRETS.alice);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.line, /source=cache/);
  } finally {
    server.resume();
    await new OutageStore(cacheDir).remove();
  }
});

// Issue 26: a caller may SIGSTOP the launcher until setpriv runs; the process then starts with its deadline nearly
// spent (NETAUTH_STARTED_MS is the fork's time). A call with no real budget must not make NetAuth "unavailable".
it("a run whose deadline was spent before it could ask NetAuth: exit 9 no_time, no cache, no outage", async () => {
  for (const type of ["auth", "account"]) {
    assert.equal((await login("alice", SECRETS.alice)).code, 0); // a fresh entry the cache would answer with
    // --timeout 4: NetAuth's share ends 1 s before the deadline; started 3.1 s ago leaves it spent.
    const run = await runHelper({
      confDir,
      flags,
      env: { PAM_TYPE: type, PAM_USER: "alice", PAM_SERVICE: "cache-test", NETAUTH_STARTED_MS: `${Date.now() - 3100}` },
      stdin: type === "auth" ? SECRETS.alice : "",
      args: ["--cache-dir", cacheDir, "--timeout", "4"],
      secret: SECRETS.alice,
    });
    const line = decisionLine(run);
    assert.equal(run.code, 9, line);
    assert.match(line, /outcome=no_time exit=9/);
    assert.doesNotMatch(line, /source=cache|outage=/);
    assert.equal(await new OutageStore(cacheDir).read(), undefined, "no outage recorded");
  }
});

it("an entry older than --cache-max-age is refused (9)", async () => {
  await login("alice", SECRETS.alice);
  const entry = JSON.parse(await Deno.readTextFile(store.pathFor("alice")));
  entry.onlineAt = new Date(Date.now() - 8 * 86400e3).toISOString();
  await Deno.writeTextFile(store.pathFor("alice"), JSON.stringify(entry));
  const run = await offline(() => login("alice", SECRETS.alice));
  assert.equal(run.code, 9);
  assert.match(run.line, /cached credential expired/);
  assert.equal((await offline(() => login("alice", SECRETS.alice, ["--cache-max-age", "9d"]))).code, 0);
});

it("after --cache-tries offline failures even the right password is refused until NetAuth is back", async () => {
  await login("alice", SECRETS.alice);
  await offline(async () => {
    for (let i = 0; i < 5; i++) assert.equal((await login("alice", `guess${i}`)).code, 7);
    const run = await login("alice", SECRETS.alice);
    assert.equal(run.code, 9);
    assert.match(run.line, /disabled after 5 offline failures/);
  });
  assert.equal((await login("alice", SECRETS.alice)).code, 0);
  assert.equal((await offline(() => login("alice", SECRETS.alice))).code, 0);
});

it("parallel wrong guesses with NetAuth down: only --cache-tries are judged, then the right password is refused", async () => {
  const tries = 3, guesses = 12;
  // A generous deadline: 12 helpers on two cores start slowly, and the guesses queue on the lock.
  const args = ["--cache-tries", String(tries), "--timeout", "20"];
  await login("alice", SECRETS.alice);
  await offline(async () => {
    const runs = await Promise.all(Array.from({ length: guesses }, (_, i) => login("alice", `guess${i}`, args)));
    const judged = runs.filter((r) => r.code === 7);
    const refused = runs.filter((r) => r.code === 9);
    assert.deepEqual([judged.length, refused.length], [tries, guesses - tries], runs.map((r) => r.line).join("\n"));
    for (const run of refused) assert.match(run.line, /disabled after 3 offline failures/);
    assert.equal((await store.read("alice"))?.offlineFailures, tries);
    const right = await login("alice", SECRETS.alice, args);
    assert.equal(right.code, 9);
    assert.match(right.line, /disabled after 3 offline failures/);
  });
  // Until the next online success, which resets the count.
  assert.equal((await login("alice", SECRETS.alice)).code, 0);
  assert.equal((await offline(() => login("alice", SECRETS.alice, args))).code, 0);
});

it("the server's verdict wins over the cache: an online refusal removes the entry", async () => {
  await login("alice", SECRETS.alice);
  assert.equal((await login("alice", "wrong-online")).code, 7);
  await assert.rejects(Deno.stat(store.pathFor("alice")), Deno.errors.NotFound);
  assert.equal((await offline(() => login("alice", SECRETS.alice))).code, 9);
});

it("a rotated password replaces the cached one", async () => {
  // An entity of this test's own, on this file's own server: other tests here log in as alice.
  const entity = "rotating";
  server.secrets[entity] = "first-pw";
  try {
    assert.equal((await login(entity, "first-pw")).code, 0);
    server.secrets[entity] = "rotated-pw";
    assert.equal((await login(entity, "rotated-pw")).code, 0);
    await offline(async () => {
      assert.equal((await login(entity, "first-pw")).code, 7);
      assert.equal((await login(entity, "rotated-pw")).code, 0);
    });
  } finally {
    delete server.secrets[entity];
  }
});

it("16 concurrent logins writing the same entry leave one whole file", async () => {
  // A generous deadline: 16 helpers and their scrypt on two cores are slow, and a run cut short
  // would fall back to the (still empty) cache and rightly answer 9.
  const runs = await Promise.all(Array.from({ length: 16 }, () => login("bob", SECRETS.bob, ["--timeout", "20"])));
  assert.deepEqual(runs.map((r) => r.code), Array(16).fill(0));
  const names = [...Deno.readDirSync(cacheDir)].map((e) => e.name);
  assert.deepEqual(names.filter((n) => n.startsWith(".tmp")), []);
  assert.ok(names.includes(entryFileName("bob")));
  const entry = await store.read("bob");
  assert.equal(entry?.offlineFailures, 0);
  assert.equal((await offline(() => login("bob", SECRETS.bob))).code, 0);
});

it("an unusable cache directory is skipped with a warning; online logins still work", async () => {
  const parent = await Deno.makeTempDir();
  try {
    const open = `${parent}/open`, foreign = `${parent}/foreign`, missing = `${parent}/missing`;
    await Deno.mkdir(open, { mode: 0o755 });
    await Deno.chmod(open, 0o755);
    await Deno.mkdir(foreign, { mode: 0o700 });
    await Deno.chown(foreign, 65534, 65534);
    const cases: [string, RegExp][] = [
      [open, /is open to group or others \(mode 755; want 700\)/],
      [foreign, /is owned by uid 65534, not by the running user/],
      [missing, /does not exist/],
    ];
    for (const [dir, reason] of cases) {
      const run = await runHelper({
        confDir,
        flags: await printFlags(confDir, dir),
        env: { PAM_TYPE: "auth", PAM_USER: "alice", PAM_SERVICE: "cache-test" },
        stdin: SECRETS.alice,
        args: ["--cache-dir", dir],
        secret: SECRETS.alice,
      });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, new RegExp(`level=warn msg="offline cache skipped: ${dir} ${reason.source}`));
      assert.deepEqual(
        [...Deno.readDirSync(dir === missing ? parent : dir)].filter((e) => e.name.endsWith(".json")),
        [],
      );
    }
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

it("--audit shows the cache directory as the only writable place", async () => {
  const run = await runHelper({ confDir, flags, args: ["--audit", "--cache-dir", cacheDir] });
  assert.equal(run.code, 0, run.stdout);
  const report = JSON.parse(run.stdout);
  assert.equal(report.cacheDir, cacheDir);
  const writable = report.probes.filter((p: { permission: string; actual: string }) =>
    p.permission === "write" && p.actual === "granted"
  );
  assert.deepEqual(writable.map((p: { target: string }) => p.target), [cacheDir]);
  assert.deepEqual(report.unexpected, []);
});

it("--check reports the cache directory, and warns without failing when it is unusable", async () => {
  const ok = await runHelper({ confDir, flags, args: ["--check", "--cache-dir", cacheDir] });
  assert.equal(ok.code, 0, ok.stdout);
  assert.match(ok.stdout, new RegExp(`^cache: ok ${cacheDir}$`, "m"));
  const elsewhere = await runHelper({ confDir, flags, args: ["--check", "--cache-dir", "/var/tmp/not-in-sandbox"] });
  assert.equal(elsewhere.code, 0, elsewhere.stdout);
  assert.match(elsewhere.stdout, /^cache: WARN \/var\/tmp\/not-in-sandbox is outside this helper's sandbox/m);
});
