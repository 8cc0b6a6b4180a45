// `--check` with injected parts: the lines an admin reads and the exit code, stage by stage.
import assert from "node:assert/strict";
import { testConfig } from "../../testkit/config.ts";
import { type CheckDeps, runCheck } from "../../src/commands/check.ts";
import { configError } from "../../src/config.ts";
import { type FakeDirectory, fakeNetAuth } from "../../testkit/fake_client.ts";
import type { Greeting } from "../../src/broker/forward.ts";
import { dirname } from "../../src/paths.ts";

const config = testConfig();

const CONFIG_OK = "config: ok /etc/netauth/config.toml (server netauth.example.org:1729, client ID host1)";
const PLAINTEXT = "tls: ok but PLAINTEXT (tls.pwn_me = true): passwords cross the network unencrypted";
const SANDBOX_OK = "sandbox: ok may connect to netauth.example.org:1729 only";
const SERVER_OK = "server: ok netauth.example.org:1729 answered SystemPing in N ms; status ok";

/** Runs --check; the lines come back with the measured milliseconds as N. */
async function check(overrides: Partial<CheckDeps> = {}, directory: Partial<FakeDirectory> = {}) {
  const lines: string[] = [];
  const client = fakeNetAuth({ secrets: {}, ...directory });
  let connects = 0;
  const exit = await runCheck({
    loadConfig: () => Promise.resolve(config),
    netGranted: () => true,
    connect: () => (connects++, Promise.resolve(client)),
    print: (line) => lines.push(line.replace(/ in \d+ ms/, " in N ms")),
    hiddenFromOthers: () => Promise.resolve(undefined),
    ...overrides,
  });
  return { exit, lines, calls: client.calls, connects };
}

Deno.test("all stages pass: one ok line each, exit 0, the client closed", async () => {
  const run = await check();
  assert.deepEqual(run.lines, [CONFIG_OK, PLAINTEXT, SANDBOX_OK, SERVER_OK]);
  assert.equal(run.exit, 0);
  assert.deepEqual(run.calls, ["ping", "status", "close"]);
});

Deno.test("a bad config stops at the first stage with exit 3 and never connects", async () => {
  const run = await check({ loadConfig: () => Promise.reject(configError("/c", "core.server", "required")) });
  assert.deepEqual(run.lines, ["config: FAIL config /c: core.server: required"]);
  assert.deepEqual([run.exit, run.connects], [3, 0]);
});

Deno.test("a certificate that cannot be read fails the tls stage with exit 3", async () => {
  const tls = { ...config, pwnMe: false, certificate: "/nonexistent-netauth-test/tls.pem" };
  const run = await check({ loadConfig: () => Promise.resolve(tls) });
  assert.deepEqual(run.lines, [
    CONFIG_OK,
    "tls: FAIL config /etc/netauth/config.toml: tls.certificate: cannot read /nonexistent-netauth-test/tls.pem: " +
    "no such file",
  ]);
  assert.deepEqual([run.exit, run.connects], [3, 0]);
});

Deno.test("files other users cannot read are a warning, not a failure", async () => {
  const run = await check({ hiddenFromOthers: (path) => Promise.resolve(`${path} is not readable by other users`) });
  assert.deepEqual(run.lines, [
    CONFIG_OK,
    "config: WARN /etc/netauth/config.toml is not readable by other users: screen lockers run this helper as the " +
    "user and will fail with exit 3",
    PLAINTEXT,
    SANDBOX_OK,
    SERVER_OK,
  ]);
  assert.equal(run.exit, 0);
});

Deno.test("a sandbox not built for the server fails with exit 3 and says how to fix it", async () => {
  const run = await check({ netGranted: () => false });
  assert.deepEqual(run.lines, [
    CONFIG_OK,
    PLAINTEXT,
    "sandbox: FAIL this helper's sandbox does not allow connecting to netauth.example.org:1729 " +
    "(core.server or core.port changed since it was built?): re-run install.sh",
  ]);
  assert.deepEqual([run.exit, run.connects], [3, 0]);
});

Deno.test("runtime directories: ok when root's alone, else FAIL with exit 3 naming the directory", async () => {
  const fine = await check({ runtime: { dir: "/r", inspect: () => [{ path: "/r", uid: 0, mode: "755" }] } });
  assert.equal(fine.lines[3], "runtime: ok /r (HOME, DENO_DIR, TMPDIR root-owned, writable by root only)");
  assert.equal(fine.exit, 0);
  const bad = await check({
    runtime: { dir: "/r", inspect: () => [{ path: "/r", uid: 0 }, { path: "/r/deno", problem: "does not exist" }] },
  });
  assert.deepEqual(bad.lines.slice(3), ["runtime: FAIL /r/deno does not exist"]);
  assert.deepEqual([bad.exit, bad.connects], [3, 0]);
});

Deno.test("an unusable cache directory is a warning: logins still work while NetAuth is up", async () => {
  const warned = await check({ cache: { dir: "/c", problem: () => Promise.resolve("does not exist") } });
  assert.equal(warned.lines[3], "cache: WARN /c does not exist: logins work, but not while NetAuth is down");
  assert.equal(warned.exit, 0);
  const fine = await check({ cache: { dir: "/c", problem: () => Promise.resolve(undefined) } });
  assert.equal(fine.lines[3], "cache: ok /c");
});

Deno.test("an unreachable server fails with exit 9; a failing one with exit 9 naming the subsystem", async () => {
  const down = await check({}, { failWith: "unavailable", failure: "UNAVAILABLE: connection refused" });
  assert.deepEqual(down.lines.slice(3), ["server: FAIL UNAVAILABLE: connection refused"]);
  assert.equal(down.exit, 9);
  assert.deepEqual(down.calls, ["ping", "close"]);
  const sick = await check({}, { health: { ok: false, firstFailure: "db: disk full" } });
  assert.deepEqual(sick.lines.slice(3), [
    "server: FAIL netauth.example.org:1729 answered SystemPing in N ms but reports db: disk full",
  ]);
  assert.equal(sick.exit, 9);
});

Deno.test("--require-group: each group must exist in NetAuth, else exit 3 naming the unknown ones", async () => {
  const known = await check({ requireGroups: ["ops", "staff"] }, { knownGroups: ["ops", "staff"] });
  assert.deepEqual(known.lines.slice(4), ["groups: ok ops, staff exist"]);
  assert.equal(known.exit, 0);
  const typo = await check({ requireGroups: ["ops", "stuff", "wheel"] }, { knownGroups: ["ops"] });
  assert.deepEqual(typo.lines.slice(4), ["groups: FAIL unknown group(s): stuff, wheel"]);
  assert.equal(typo.exit, 3);
});

Deno.test("the outage record comes before the server line: none, recorded, or unreadable; the check goes on", async () => {
  const path = "/var/cache/netauth/outage.json";
  const at = Date.parse("2026-12-04T16:33:28.753Z");
  const withRecord = (read: () => Promise<unknown>) => check({ outage: { path, read } as CheckDeps["outage"] });
  assert.deepEqual((await withRecord(() => Promise.resolve(undefined))).lines, [
    CONFIG_OK,
    PLAINTEXT,
    SANDBOX_OK,
    "outage: none",
    SERVER_OK,
  ]);
  const recorded = await withRecord(() => Promise.resolve({ since: at, phase: "rpc", fullTryAt: at + 30_000 }));
  assert.equal(
    recorded.lines[3],
    "outage: recorded since 2026-12-04T16:33:28.753Z (last phase rpc, last full try 2026-12-04T16:33:58.753Z; " +
      `${path}): logins probe NetAuth briefly, then use the cache`,
  );
  assert.equal(recorded.exit, 0); // the server answered: --check says so, and never changes the record
  const unreadable = await withRecord(() => Promise.reject(new Deno.errors.PermissionDenied("no")));
  assert.equal(
    unreadable.lines[3],
    `outage: WARN ${path} cannot be read (permission denied): every login makes the full try`,
  );
});

Deno.test("the broker line comes before the server: greeted, absent, out of reach, or worth a warning; never a failure", async () => {
  const socket = "/usr/local/lib/netauth-pam-helper/runtime/broker/socket";
  const closed: string[] = [];
  const conn = { close: () => closed.push("conn") } as unknown as Deno.UnixConn;
  const withGreeting = async (greeting: Greeting) => {
    let budget = 0;
    const greet = (
      path: string,
      budgetMs: number,
    ) => (assert.equal(path, socket), budget = budgetMs, Promise.resolve(greeting));
    const run = await check({ broker: { socket, greet } });
    assert.deepEqual([run.exit, run.lines.at(-1), budget], [0, SERVER_OK, 1000]);
    return run.lines.at(-2);
  };
  assert.equal(
    await withGreeting({ conn, ms: 3 }),
    `broker: ok ${socket} greeted in N ms: logins go through the broker`,
  );
  assert.deepEqual(closed, ["conn"]);
  assert.equal(
    await withGreeting({ why: `${socket} does not exist` }),
    `broker: ${socket} does not exist: logins go direct`,
  );
  const notRoot = `${dirname(socket)} not reachable (permission denied: not root)`;
  assert.equal(await withGreeting({ why: notRoot }), `broker: ${notRoot}: logins go direct`);
  assert.equal(
    await withGreeting({ why: "stale socket: no broker listening" }),
    "broker: WARN stale socket: no broker listening: logins go direct",
  );
  const planted = `${socket} is owned by uid 1000, not root`;
  assert.equal(await withGreeting({ why: planted, untrusted: true }), `broker: WARN ${planted}: logins go direct`);
});

Deno.test("an installed helper's broker must vouch for its code: one that cannot fails --check with exit 3", async () => {
  const socket = "/usr/local/lib/netauth-pam-helper/runtime/broker/socket";
  const closed: string[] = [];
  const conn = { close: () => closed.push("conn") } as unknown as Deno.UnixConn;
  const greet = () => Promise.resolve({ conn, ms: 3 });
  const vouched = await check({ broker: { socket, greet, vouch: () => Promise.resolve(undefined) } });
  assert.equal(vouched.exit, 0);
  assert.equal(
    vouched.lines.at(-2),
    `broker: ok ${socket} greeted in N ms, started from the installed files: logins go through the broker`,
  );
  const why = "it found its code wrong at its start: /x/chunk.js does not match the manifest: restart it";
  const failed = await check({ broker: { socket, greet, vouch: () => Promise.resolve(why) } });
  assert.deepEqual([failed.exit, failed.lines.at(-1), failed.connects], [
    3,
    `broker: FAIL ${socket} greeted, but ${why}`,
    0,
  ]);
  assert.deepEqual(closed, ["conn", "conn"]);
});
