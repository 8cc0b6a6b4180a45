// The broker started by socket activation (src/broker/listener.ts), as systemd starts it: the socket exists before
// the broker does, a helper that connects first waits in the kernel's backlog, and the broker takes fd 3 under the
// shipped sandbox. systemd-socket-activate (systemd's own tool) plays PID 1's part; the real thing is
// tests/e2e/systemd_test.ts. Anything but one socket for this very process is one line and exit 3.
import assert from "node:assert/strict";
import { atUnload, removeAtUnload, startScripted } from "../../testkit/fixture.ts";
import { SECRETS } from "../../testkit/fake_netauth.ts";
import { decisionLine, denoDir, runHelper } from "../../testkit/run_helper.ts";
import { brokerFlags, makeSocketDir, watchBroker } from "../../testkit/broker.ts";
import { needsRoot, testWhere } from "../../testkit/skip.ts";
import { dirname } from "../../src/paths.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const ACTIVATE = "/usr/bin/systemd-socket-activate";
const decoder = new TextDecoder();

const { confDir } = await startScripted();
const socket = await makeSocketDir();
removeAtUnload(dirname(dirname(socket)));
const flags = await brokerFlags(confDir, socket);

/** The broker's command line, as the tests start it: under the sandbox install.sh bakes with --broker. */
const serveArgs = [
  "run",
  "--quiet",
  ...flags,
  `${ROOT}src/main.ts`,
  "--config",
  `${confDir}/config.toml`,
  "--broker-socket",
  socket,
  "--serve",
];

const missing = needsRoot("the socket must be root's");

function activatePresent(): string | undefined {
  try {
    Deno.statSync(ACTIVATE);
    return undefined;
  } catch {
    return `${ACTIVATE} is missing (Debian package systemd)`;
  }
}

async function login() {
  const run = await runHelper({
    confDir,
    flags,
    env: { PAM_TYPE: "auth", PAM_USER: "alice", PAM_SERVICE: "activation-test" },
    stdin: SECRETS.alice,
    args: ["--broker-socket", socket, "--timeout", "30"],
    secret: SECRETS.alice,
  });
  return { ...run, line: decisionLine(run) };
}

/** `--serve` with the given LISTEN_* variables and fd 3 opened on `fd3` (a path), or none. */
async function serveWith(listen: { pid?: "self" | string; fds?: string }, fd3?: string) {
  const script = [
    listen.pid ? `LISTEN_PID=${listen.pid === "self" ? "$$" : listen.pid}; export LISTEN_PID;` : "",
    listen.fds ? `LISTEN_FDS=${listen.fds}; export LISTEN_FDS;` : "",
    `exec "$@"${fd3 ? ` 3<${fd3}` : ""}`,
  ].join(" ");
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", script, "sh", Deno.execPath(), ...serveArgs],
    clearEnv: true,
    env: { DENO_DIR: denoDir() },
    stdin: "null",
    signal: AbortSignal.timeout(60_000), // a broker that did start must not hang the suite
  }).output();
  return { code: out.code, stderr: decoder.decode(out.stderr) };
}

testWhere(missing ?? activatePresent(), {
  name: "systemd's socket: the first login connects before the broker runs, and goes through it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const child = new Deno.Command(ACTIVATE, {
      args: ["--listen", socket, Deno.execPath(), ...serveArgs],
      clearEnv: true,
      env: { DENO_DIR: denoDir() },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    atUnload(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // gone
      }
    });
    for (let i = 0; i < 100 && !(await Deno.lstat(socket).catch(() => undefined))?.isSocket; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // No broker process yet: only the socket. The helper connects, and the kernel holds it until the broker greets.
    const running = login();
    const broker = await watchBroker(child);
    const run = await running;
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.line, /path=broker .*outcome=authenticated exit=0/);
    assert.match(broker.lines.find((l) => l.includes("broker listening")) ?? "", /from=systemd/);
    await broker.decisions(1);
    await broker.stop();
    assert.equal((await broker.status).code, 0, broker.lines.join("\n"));
    // The socket is systemd's: the broker neither creates nor removes it.
    assert.ok(Deno.lstatSync(socket).isSocket, "the broker removed the socket systemd owns");
    await Deno.remove(socket);
  },
});

testWhere(missing, {
  name: "socket activation gone wrong is one line and exit 3: another process's, several, no socket, not a socket",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cases: [Parameters<typeof serveWith>, RegExp][] = [
      [[{ pid: "1", fds: "1" }], /socket activation: LISTEN_PID is 1, not this process \(\d+\): ExecStart= must exec/],
      [[{ pid: "self", fds: "2" }], /socket activation: LISTEN_FDS is 2: the broker takes exactly one socket/],
      [[{ pid: "self" }], /socket activation: LISTEN_FDS is unset/],
      [[{ pid: "self", fds: "1" }], /no socket systemd made at --broker-socket: \S+socket does not exist/],
    ];
    for (const [args, why] of cases) {
      const out = await serveWith(...args);
      assert.equal(out.code, 3, out.stderr);
      assert.match(out.stderr, why);
      assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
    }
    // A socket at the path, but fd 3 a plain file: node refuses it.
    const planted = Deno.listen({ transport: "unix", path: socket });
    try {
      const out = await serveWith({ pid: "self", fds: "1" }, "/etc/hostname");
      assert.equal(out.code, 3, out.stderr);
      assert.match(out.stderr, /socket activation: fd 3 is not a listening stream socket \(EINVAL\)/);
    } finally {
      planted.close();
      await Deno.remove(socket).catch(() => {});
    }
  },
});
