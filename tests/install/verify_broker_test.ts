// --verify's checks of the listening broker (src/install/verify_broker.ts), on a fake /proc.
import assert from "node:assert/strict";
import { brokerChecks, type BrokerProbe, commandProblem } from "../../src/install/verify_broker.ts";
import { expectedCode } from "../../src/broker/vouch.ts";
import type { BrokerStatus } from "../../src/broker/protocol.ts";
import type { Manifest } from "../../src/manifest_format.ts";
import { BUNDLE_RUN_OPTIONS } from "../../src/install/install_plan.ts";

const LIB = "/usr/local/lib/netauth-pam-helper";
const SOCKET = `${LIB}/runtime/broker/socket`;
const DENO = `${LIB}/deno`;
const ARTEFACT = `${LIB}/main.js`;
const SANDBOX = ["--allow-read=/etc/netauth", `--allow-net=netauth:1729,unix:${SOCKET}`];
const file = (path: string, sha256: string, mode = "0644") => ({ path, sha256, uid: 0, gid: 0, mode });
const MANIFEST: Manifest = {
  format: "netauth-pam-helper/manifest/v1",
  name: "netauth-pam-helper",
  version: "0.1.0",
  source: null,
  deno: "2.9.6",
  denoLockSha256: "",
  mode: "bundle",
  prefix: "/usr/local",
  artefact: ARTEFACT,
  launcher: "/usr/local/sbin/netauth-pam-helper",
  sandbox: SANDBOX,
  runtimeDirs: [],
  pam: { debianProfile: null },
  log: null,
  files: [
    file(ARTEFACT, "aa"),
    file(`${LIB}/chunk-1.js`, "bb"),
    file(DENO, "cc", "0755"),
    file("/usr/local/sbin/netauth-pam-helper", "dd", "0755"),
  ],
};
const ARGV = [
  DENO,
  ...BUNDLE_RUN_OPTIONS,
  ...SANDBOX,
  ARTEFACT,
  "--config",
  "/etc/netauth/config.toml",
  "--serve",
];
const NOW = 1_800_000_000_000;
/** Started 100 s before NOW: 1000 s of uptime, start at tick 90000. */
const STAT = "4242 (deno) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 90000 1000 100";
const STARTED = NOW - 100_000;

interface Host {
  pids: Record<string, { exe: string; argv: string[]; fds: string[]; stat?: string }>;
  unix: string[];
  ctimeMs: number;
  status: BrokerStatus | { why: string };
}

async function host(over: Partial<Host> = {}): Promise<Host> {
  return {
    pids: {
      1: { exe: "/usr/lib/systemd/systemd", argv: ["/sbin/init"], fds: ["socket:[77]"] },
      4242: { exe: DENO, argv: ARGV, fds: ["/dev/null", "socket:[77]"], stat: STAT },
      5000: { exe: "/usr/sbin/sshd", argv: ["sshd"], fds: ["socket:[78]"] },
    },
    unix: [`0000: 00000002 00000000 00010000 0001 01 77 ${SOCKET}`],
    ctimeMs: STARTED - 60_000,
    status: { version: "0.1.0", startedMs: STARTED, code: await expectedCode(MANIFEST), problem: "" },
    ...over,
  };
}

function probe(h: Host): BrokerProbe {
  return {
    readText: (path) => {
      if (path === "/proc/net/unix") {
        return ["Num RefCount Protocol Flags Type St Inode Path", ...h.unix, ""].join("\n");
      }
      if (path === "/proc/uptime") return "1000.00 900.00\n";
      const [, , pid, what] = path.split("/");
      if (what === "cmdline") return h.pids[pid].argv.map((a) => `${a}\0`).join("");
      if (what === "stat") return h.pids[pid].stat!;
      throw new Deno.errors.NotFound(path);
    },
    readLink: (path) => {
      const [, , pid, what, fd] = path.split("/");
      return what === "exe" ? h.pids[pid].exe : h.pids[pid].fds[Number(fd)];
    },
    list: (path) =>
      path === "/proc" ? [...Object.keys(h.pids), "self", "net"] : Object.keys(h.pids[path.split("/")[2]].fds),
    realPath: (path) => path,
    now: () => NOW,
    ctimes: (paths) =>
      Promise.resolve(
        paths.map((path) => ({ path, ctimeMs: path.endsWith("chunk-1.js") ? h.ctimeMs : STARTED - 90_000 })),
      ),
    ask: () => Promise.resolve(h.status),
  };
}

const run = async (over: Partial<Host> = {}) => await brokerChecks(SOCKET, MANIFEST, "", probe(await host(over)));
const RESTART = ": restart it (systemctl restart netauth-pam-helper, or stop it and start it again)";

Deno.test("a broker started from the installed files, unchanged since: three ok lines, systemd's hold ignored", async () => {
  assert.deepEqual(await run(), [
    { ok: true, what: `broker PID 4242 command: ${ARGV.join(" ")}` },
    { ok: true, what: "broker PID 4242 started 2027-01-15T07:58:20.000Z, after its files last changed" },
    { ok: true, what: `broker ${SOCKET} code: it started from the installed files (version 0.1.0)` },
  ]);
});

Deno.test("no broker: one ok line; a broker that answers with no listener here is DRIFT", async () => {
  const none = await run({ unix: [], status: { why: `${SOCKET} does not exist` } });
  assert.deepEqual(none, [{ ok: true, what: `broker ${SOCKET}: no broker listening (logins go direct)` }]);
  // systemd holding the socket for activation, no broker started yet, and the question not answered.
  const held = await run({
    pids: { 1: (await host()).pids[1] },
    status: { why: "broker did not greet within 2000 ms" },
  });
  assert.deepEqual(held, [{ ok: true, what: `broker ${SOCKET}: no broker listening (logins go direct)` }]);
  const elsewhere = await run({ unix: [] });
  assert.deepEqual(elsewhere, [{
    ok: false,
    what: `broker ${SOCKET}: a broker answers, but no process here listens on it: stop it`,
  }]);
});

Deno.test("the patched-and-restored chunk: started before its ctime, and its own word says its code was wrong", async () => {
  const checks = await run({
    ctimeMs: STARTED + 900,
    status: {
      version: "0.1.0",
      startedMs: STARTED,
      code: "0".repeat(64),
      problem: `${LIB}/chunk-1.js does not match the manifest (changed since install?)`,
    },
  });
  assert.deepEqual(checks.filter((c) => !c.ok).map((c) => c.what), [
    `broker PID 4242 started 2027-01-15T07:58:20.000Z, before ${LIB}/chunk-1.js changed (2027-01-15T07:58:20.900Z)${RESTART}`,
    `broker ${SOCKET} code: it found its code wrong at its start: ${LIB}/chunk-1.js does not match the manifest (changed since install?)${RESTART}`,
  ]);
  // Within the clocks' 20 ms slack: not counted.
  assert.ok((await run({ ctimeMs: STARTED + 20 })).every((c) => c.ok));
});

Deno.test("an older build still running after an upgrade: its code is not the manifest's", async () => {
  const checks = await run({
    ctimeMs: STARTED + 5000,
    status: { version: "0.0.9", startedMs: STARTED, code: "1".repeat(64), problem: "" },
  });
  assert.equal(checks.filter((c) => !c.ok).length, 2);
  assert.match(
    checks[2].what,
    /^broker \S+ code: it started from code other than the installed files \(version 0\.0\.9, code 111111111111…/,
  );
  const silent = await run({ status: { why: "it refused: unknown frame kind 5" } });
  assert.equal(
    silent[2].what,
    `broker ${SOCKET} code: it does not say which code it runs (it refused: unknown frame kind 5; an older build?)${RESTART}`,
  );
});

Deno.test("every listener is judged: a second one on the same path, from another runtime", async () => {
  const h = await host();
  h.unix.push(`0000: 00000002 00000000 00010000 0001 01 99 ${SOCKET}`);
  h.pids[6000] = {
    exe: "/tmp/deno",
    argv: ["/tmp/deno", "run", "-A", "/tmp/x/main.js", "--serve"],
    fds: ["socket:[99]"],
    stat: STAT,
  };
  const checks = await brokerChecks(SOCKET, MANIFEST, "", probe(h));
  assert.deepEqual(checks.filter((c) => !c.ok).map((c) => c.what), [
    `broker PID 6000 command: runs /tmp/deno, not the install's ${DENO} or /usr/local/sbin/netauth-pam-helper${RESTART}`,
  ]);
});

Deno.test("commandProblem: the runtime, its flags, the artefact and --serve, as the launcher gives them", () => {
  const exes = [DENO];
  assert.equal(commandProblem(DENO, ARGV, MANIFEST, exes), undefined);
  assert.equal(
    commandProblem(`${DENO} (deleted)`, ARGV, MANIFEST, exes),
    `runs ${DENO} (deleted): a file replaced since it started`,
  );
  const allowAll = [DENO, ...BUNDLE_RUN_OPTIONS, "--allow-all", ...SANDBOX, ARTEFACT, "--serve"];
  assert.equal(
    commandProblem(DENO, allowAll, MANIFEST, exes),
    "runs with --allow-all, which the manifest's launcher does not give",
  );
  const lacking = [DENO, ...BUNDLE_RUN_OPTIONS, SANDBOX[1], ARTEFACT, "--serve"];
  assert.equal(commandProblem(DENO, lacking, MANIFEST, exes), "runs without the manifest's --allow-read=/etc/netauth");
  const elsewhere = [DENO, ...BUNDLE_RUN_OPTIONS, ...SANDBOX, "/tmp/main.js", "--serve"];
  assert.match(commandProblem(DENO, elsewhere, MANIFEST, exes)!, new RegExp(`^does not run ${ARTEFACT}: `));
  assert.match(commandProblem(DENO, ARGV.slice(0, -1), MANIFEST, exes)!, /^its command line does not end with --serve/);
  // Compile mode: the binary itself, ending with --serve.
  const compiled = { ...MANIFEST, mode: "compile" as const };
  assert.equal(commandProblem(ARTEFACT, [ARTEFACT, "--config", "/c", "--serve"], compiled, [ARTEFACT]), undefined);
});

Deno.test("a /proc that cannot be read is DRIFT, not silence", async () => {
  const p = probe(await host());
  const checks = await brokerChecks(SOCKET, MANIFEST, "", {
    ...p,
    readText: (path) => {
      if (path === "/proc/net/unix") throw new Deno.errors.NotCapable(path);
      return p.readText(path);
    },
  });
  assert.deepEqual(checks, [{ ok: false, what: `broker ${SOCKET}: cannot look for the broker (/proc: NotCapable)` }]);
});
