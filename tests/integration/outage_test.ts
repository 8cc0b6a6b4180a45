// The outage record under the shipped sandbox: a scripted server that hangs and recovers (with a
// cache), a silent TCP listener (without one: the record in the runtime's TMPDIR), parallel calls.
// Behaviour only; how long each call takes is the bench's (scripts/bench.ts, "outage").
import assert from "node:assert/strict";
import { atUnload, it, removeAtUnload, startScripted } from "../../testkit/fixture.ts";
import { OutageStore, RECORD_FILE } from "../../src/outage/record.ts";
import { SECRETS } from "../../testkit/fake_netauth.ts";
import { configToml, decisionLine, makeConfDir, runHelper } from "../../testkit/run_helper.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const { pki, server, confDir, cacheDir, cacheFlags } = await startScripted({ cache: true });
const record = new OutageStore(cacheDir);
const PASSWORD = SECRETS.alice;
/** `outage=recorded since=… attempt=…`, as the decision line carries it. */
const RECORDED = (attempt: string) => new RegExp(` outage=recorded since=\\S+ attempt=${attempt} `);

async function call(type: string, options: { confDir?: string; flags?: string[]; args?: string[] } = {}) {
  const run = await runHelper({
    confDir: options.confDir ?? confDir,
    flags: options.flags ?? cacheFlags,
    env: { PAM_TYPE: type, PAM_USER: "alice", PAM_SERVICE: "sshd" },
    stdin: type === "auth" ? PASSWORD : "",
    args: options.args ?? ["--cache-dir", cacheDir, "--timeout", "3"],
    secret: PASSWORD,
  });
  return { ...run, line: decisionLine(run) };
}

/** Makes the record's full try due, as if the window had passed (the record is root's: the test's). */
async function windowPassed(store: OutageStore): Promise<void> {
  const current = await store.read();
  assert.ok(current, "no outage record");
  await store.write({ ...current, fullTryAt: current.fullTryAt - 3600e3 });
}

it("a hung server: the first call records the outage, the next ones probe; once due, a full try finds it back", async () => {
  await record.remove();
  const online = await call("auth");
  assert.equal(online.code, 0, online.stderr);
  assert.doesNotMatch(online.line, /outage=/);
  server.hang();
  try {
    const first = await call("auth");
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.line, RECORDED("full"));
    assert.match(first.line, /source=cache/);
    assert.equal((await record.read())?.phase, "rpc"); // Deno's TLS listener finishes the handshake; the call goes unanswered
    for (const type of ["account", "auth"]) {
      const next = await call(type);
      assert.equal(next.code, 0, next.stderr);
      assert.match(next.line, RECORDED("probe"));
      assert.match(next.line, /source=cache/);
    }
  } finally {
    server.resume();
  }
  await windowPassed(record);
  const back = await call("auth");
  assert.equal(back.code, 0, back.stderr);
  assert.match(back.line, / outage=cleared source=netauth /);
  assert.equal(await record.read(), undefined);
});

it("a wrong password while probing is still refused and counted by the cache", async () => {
  await record.remove();
  server.hang();
  try {
    await call("account"); // records the outage
    const wrong = await runHelper({
      confDir,
      flags: cacheFlags,
      env: { PAM_TYPE: "auth", PAM_USER: "alice", PAM_SERVICE: "sshd" },
      stdin: "not-alices",
      args: ["--cache-dir", cacheDir, "--timeout", "3"],
    });
    assert.equal(wrong.code, 7, wrong.stderr);
    assert.match(decisionLine(wrong), RECORDED("probe"));
  } finally {
    server.resume();
    await record.remove();
  }
});

it("parallel calls when the full try is due: exactly one makes it, the record stays whole", async () => {
  server.hang();
  try {
    await call("account");
    await windowPassed(record);
    const before = await record.read();
    const runs = await Promise.all([1, 2, 3, 4].map(() => call("account")));
    const attempts = runs.map((r) => / attempt=(\w+) /.exec(r.line)?.[1]).sort();
    assert.deepEqual(attempts, ["full", "probe", "probe", "probe"], runs.map((r) => r.line).join("\n"));
    const after = await record.read();
    assert.ok(after && after.since === before!.since && after.fullTryAt > before!.fullTryAt);
  } finally {
    server.resume();
    await record.remove();
  }
});

it("parallel calls at the first failure: each makes its full try, one outage is recorded, nothing torn", async () => {
  await record.remove();
  server.hang();
  try {
    const runs = await Promise.all([1, 2, 3, 4].map(() => call("account")));
    const since = runs.map((r) => / since=(\S+) /.exec(r.line)?.[1]);
    assert.ok(runs.every((r) => RECORDED("full").test(r.line)), runs.map((r) => r.line).join("\n"));
    const stored = await record.read();
    assert.ok(stored, await Deno.readTextFile(record.path).catch(String));
    assert.ok(since.includes(new Date(stored.since).toISOString()), `${since} / ${stored.since}`);
    assert.deepEqual([...Deno.readDirSync(cacheDir)].filter((e) => e.name.startsWith(".tmp")), []);
  } finally {
    server.resume();
    await record.remove();
  }
});

it("without a cache, a silent TCP listener: exit 9, the record in the runtime's TMPDIR, then probes; --check shows it", async () => {
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    for await (const conn of silent) held.push(conn); // accepted, never answered
  })().catch(() => {});
  atUnload(() => {
    silent.close();
    held.forEach((c) => c.close());
  });
  const dir = await makeConfDir(configToml(silent.addr.port), pki.caPem);
  removeAtUnload(dir);
  const install = await Deno.makeTempDir({ prefix: "netauth-install-" });
  removeAtUnload(install);
  const runtime = `${install}/runtime`;
  for (const sub of ["", "/home", "/deno", "/tmp"]) {
    await Deno.mkdir(`${runtime}${sub}`, { recursive: true });
    await Deno.chmod(`${runtime}${sub}`, 0o755); // root's alone, as install.sh makes them (--check looks)
  }
  // The installed helper's sandbox for this runtime directory, from the one source of truth.
  const plan = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-read",
      `${ROOT}src/install/install_plan.ts`,
      "--conf-dir",
      dir,
      "--runtime-dir",
      runtime,
    ],
  }).output();
  assert.ok(plan.success, new TextDecoder().decode(plan.stderr));
  const flags = new TextDecoder().decode(plan.stdout).trim().split(" ");
  assert.ok(flags.includes(`--allow-write=${runtime}/tmp`), flags.join(" "));
  const options = { confDir: dir, flags, args: ["--runtime-dir", runtime, "--timeout", "2"] };

  const first = await call("auth", options);
  assert.equal(first.code, 9, first.stderr);
  assert.match(first.line, RECORDED("full"));
  const stored = await new OutageStore(`${runtime}/tmp`).read();
  assert.equal(stored?.phase, "tls");
  const next = await call("account", options);
  assert.equal(next.code, 9, next.stderr);
  assert.match(next.line, RECORDED("probe"));

  const check = await runHelper({ confDir: dir, flags, args: ["--check", ...options.args] });
  assert.match(check.stdout, /^outage: recorded since \S+ \(last phase tls, last full try \S+; .*outage\.json\)/m);
  await Deno.remove(`${runtime}/tmp/${RECORD_FILE}`);
  const none = await runHelper({ confDir: dir, flags, args: ["--check", ...options.args] });
  assert.match(none.stdout, /^outage: none$/m);
});
