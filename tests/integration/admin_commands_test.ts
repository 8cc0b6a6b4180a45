// --check, --audit, --help, --version and bad arguments, under the shipped sandbox.
import assert from "node:assert/strict";
import { it, startScripted } from "../../testkit/fixture.ts";
import { configToml, makeConfDir, runHelper } from "../../testkit/run_helper.ts";

const { pki, server, confDir, flags } = await startScripted();
/** Runs an admin command; `runFlags` defaults to the sandbox printed for `dir`. */
const admin = (args: string[], dir = confDir, runFlags?: string[]) =>
  runHelper({ confDir: dir, flags: runFlags ?? (dir === confDir ? flags : undefined), args });

it("--check: one line per stage, exit 0 when all pass", async () => {
  const run = await admin(["--check"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const lines = run.stdout.trim().split("\n");
  assert.equal(lines.length, 4, run.stdout);
  assert.match(
    lines[0],
    new RegExp(`^config: ok ${confDir}/config.toml \\(server localhost:${server.port}, client ID test-host\\)$`),
  );
  assert.match(lines[1], /^tls: ok .*keys\/tls.pem \(CN=trusted, expires \d{4}-\d\d-\d\d\)$/);
  assert.match(lines[2], new RegExp(`^sandbox: ok may connect to localhost:${server.port} only$`));
  assert.match(lines[3], /^server: ok localhost:\d+ answered SystemPing in \d+ ms; status ok$/);
});

/** The sandbox installed for `confDir`, reading `dir`: a config edited after install. */
const installedFor = (dir: string) => flags.map((f) => f.startsWith("--allow-read=") ? `--allow-read=${dir}` : f);

it("--check names the failing stage with the login's exit code", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = listener.addr.port;
  listener.close();
  const dead = await makeConfDir(configToml(deadPort), pki.caPem);
  const badCert = await makeConfDir(configToml(server.port), "not a certificate\n");
  const noCert = await makeConfDir(configToml(server.port));
  const badConfig = await makeConfDir("[core]\nport = 1729\n");
  try {
    const cases: [string, number, RegExp][] = [
      [dead, 9, /^server: FAIL no TCP connection to localhost:\d+: connect ECONNREFUSED /m],
      [badCert, 3, /^tls: FAIL config .*: tls.certificate: .* holds no PEM certificate$/m],
      [noCert, 3, /^tls: FAIL config .*: tls.certificate: cannot read .*keys\/tls.pem: no such file$/m],
      [badConfig, 3, /^config: FAIL config .*: core.server: required/m],
    ];
    for (const [dir, code, pattern] of cases) {
      const run = await admin(["--check"], dir, dir === badConfig ? installedFor(dir) : undefined);
      assert.equal(run.code, code, run.stdout);
      assert.match(run.stdout, pattern);
    }
    // A binary built for one server refuses a config that moved to another.
    const moved = await admin(["--check"], dead, installedFor(dead));
    assert.equal(moved.code, 3);
    assert.match(moved.stdout, /^sandbox: FAIL .*localhost:\d+ .*re-run install.sh$/m);
  } finally {
    for (const dir of [dead, badCert, noCert, badConfig]) await Deno.remove(dir, { recursive: true });
  }
});

it("--audit: JSON, nothing beyond the declared flags, forbidden acts refused", async () => {
  const run = await admin(["--audit"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const report = JSON.parse(run.stdout);
  assert.equal(report.ok, true);
  assert.deepEqual(report.unexpected, []);
  assert.deepEqual(report.missing, []);
  assert.deepEqual(report.declared, flags);
  assert.deepEqual(report.attempts, {
    "read /etc/shadow": "refused by sandbox",
    "open /etc/passwd for writing": "refused by sandbox",
    "run /bin/true": "refused by sandbox",
  });
  const granted = report.probes.filter((p: { actual: string }) => p.actual === "granted").map((
    p: { permission: string; target: string },
  ) => `${p.permission}:${p.target}`);
  assert.deepEqual(granted.sort(), [
    `env:NETAUTH_LOGLEVEL`,
    "env:NETAUTH_STARTED_MS",
    "env:NETAUTH_WAITED_MS",
    "env:PAM_RHOST",
    "env:PAM_RUSER",
    "env:PAM_SERVICE",
    "env:PAM_TTY",
    "env:PAM_TYPE",
    "env:PAM_USER",
    `net:localhost:${server.port}`,
    `read:${confDir}`,
    "sys:hostname",
    "sys:uid",
  ]);
});

it("--audit fails when the process holds more than declared", async () => {
  const run = await admin(["--audit"], confDir, ["--allow-all"]);
  assert.equal(run.code, 4);
  const report = JSON.parse(run.stdout);
  assert.equal(report.ok, false);
  assert.ok(report.unexpected.includes("read:/etc/shadow"));
  assert.ok(report.unexpected.includes("run:any program"));
});

it("--check and --audit report the runtime directories, and fail when anyone but root may write one", async () => {
  const runtime = await Deno.makeTempDir({ prefix: "netauth-runtime-" });
  try {
    for (const sub of ["", "/home", "/deno", "/tmp"]) {
      await Deno.mkdir(`${runtime}${sub}`, { recursive: true });
      await Deno.chmod(`${runtime}${sub}`, 0o755);
    }
    const withRuntime = flags.map((f) => f.startsWith("--allow-read=") ? `${f},${runtime}` : f);
    const run = (args: string[]) => admin([...args, "--runtime-dir", runtime], confDir, withRuntime);
    const check = await run(["--check"]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(
      check.stdout,
      new RegExp(`^runtime: ok ${runtime} \\(HOME, DENO_DIR, TMPDIR root-owned, writable by root only\\)$`, "m"),
    );
    const audit = JSON.parse((await run(["--audit"])).stdout);
    assert.ok(audit.runtimeDirs.every((d: { problem?: string }) => !d.problem), JSON.stringify(audit.runtimeDirs));
    // Run from source, not installed: no manifest beside the runtime directory, so --audit cannot vouch for the code
    // (tests/e2e/install_test.ts shows ok: true for an installed helper).
    assert.match(audit.artefact.problem, /manifest\.json cannot be read \(NotCapable\): re-run install.sh$/);
    assert.equal(audit.ok, false);
    assert.deepEqual(audit.runtimeDirs.map((d: { path: string; mode: string }) => `${d.path} ${d.mode}`), [
      `${runtime} 755`,
      `${runtime}/home 755`,
      `${runtime}/deno 755`,
      `${runtime}/tmp 755`,
    ]);

    await Deno.chmod(`${runtime}/deno`, 0o777);
    const bad = await run(["--check"]);
    assert.equal(bad.code, 3, bad.stdout);
    const owner = Deno.statSync(`${runtime}/deno`).uid;
    const problem = `is writable by group or others (owner uid ${owner}, mode 777)`;
    assert.equal(bad.stdout.trim().split("\n").at(-1), `runtime: FAIL ${runtime}/deno ${problem}`);
    const badAudit = await run(["--audit"]);
    assert.equal(badAudit.code, 4);
    const report = JSON.parse(badAudit.stdout);
    assert.equal(report.ok, false);
    assert.equal(report.runtimeDirs[2].problem, problem);
  } finally {
    await Deno.remove(runtime, { recursive: true });
  }
});

it("--help and --version exit 0 on stdout; bad arguments exit 3 with one line", async () => {
  const help = await admin(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: netauth-pam-helper/);
  assert.match(help.stdout, / 9 {2}PAM_AUTHINFO_UNAVAIL/);
  const version = await admin(["--version"]);
  assert.match(version.stdout, /^netauth-pam-helper \d+\.\d+\.\d+\n$/);
  for (const args of [["--bogus"], ["--timeout", "soon"], ["--check", "--audit"]]) {
    const run = await admin(args);
    assert.equal(run.code, 3);
    assert.equal(run.stdout, "");
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.match(run.stderr, /^level=error msg=.*outcome=bad_arguments exit=3/);
  }
});
