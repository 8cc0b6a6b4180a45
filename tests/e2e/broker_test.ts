// The warm broker installed for real (`install.sh --broker`, bundle mode), started the way the unit
// starts it (PREFIX/sbin/netauth-pam-helper --serve: PID 1 here is not systemd), and pam_exec through
// pamtester, su-style, against the real netauthd: through the broker, and direct once it is stopped.
import assert from "node:assert/strict";
import { ALICE_SECRET, type NetAuthd, startNetAuthd } from "../../testkit/netauthd.ts";
import { makeConfDir } from "../../testkit/run_helper.ts";
import { type Broker, watchBroker } from "../../testkit/broker.ts";
import {
  addLocalUser,
  e2eTest,
  installHelper,
  missingPrerequisite,
  pamtester,
  removeLocalUser,
  ROOT,
  sh,
} from "./pam.ts";

const missing = await missingPrerequisite();
const UNIT = "/etc/systemd/system/netauth-pam-helper.service";

/** Lines of a pam.d service running the helper with `log=`, as the shipped profile does. */
function stack(helper: string, log: string): string {
  return [
    `auth [success=1 default=ignore] pam_exec.so expose_authtok quiet log=${log} ${helper}`,
    "auth requisite pam_deny.so",
    "auth required pam_permit.so",
    `account required pam_exec.so quiet log=${log} ${helper}`,
    "",
  ].join("\n");
}

/** The decision lines the helper wrote to `log` since `from` (its byte length then). */
function linesSince(log: string, from: number): string[] {
  return Deno.readTextFileSync(log).slice(from).trim().split("\n").filter((l) => / exit=\d+/.test(l));
}

e2eTest("the broker: pamtester su-style through it, and the direct path when it is stopped", missing, async (t) => {
  assert.ok(!(await Deno.lstat(UNIT).catch(() => undefined)), `${UNIT} exists already: this test would replace it`);
  const tag = `netauth-broker-${Deno.pid}`;
  const prefix = await Deno.makeTempDir({ prefix: "netauth-prefix-" });
  await Deno.chmod(prefix, 0o755);
  const logDir = await Deno.makeTempDir({ prefix: "netauth-brokerlog-" });
  await Deno.chmod(logDir, 0o755);
  const log = `${logDir}/helper.log`;
  Deno.writeTextFileSync(log, "");
  Deno.chmodSync(log, 0o666); // the unprivileged caller's helper writes here too
  const callerName = `nabroker${Deno.pid % 100000}`;
  let server: NetAuthd | undefined;
  let broker: Broker | undefined;
  let confDir: string | undefined;
  try {
    server = await startNetAuthd();
    // Its client dir is below a 0700 temporary directory: a copy the unprivileged caller can read.
    confDir = await makeConfDir(await Deno.readTextFile(server.clientConfig), await Deno.readTextFile(server.caPath));
    const out = await installHelper(prefix, confDir!, "--broker");
    assert.match(out, /installed: \/etc\/systemd\/system\/netauth-pam-helper\.service/);
    assert.match(out, /systemd is not running here; start it with: .*--serve/);
    const helper = `${prefix}/sbin/netauth-pam-helper`;
    const socket = `${prefix}/lib/netauth-pam-helper/runtime/broker/socket`;
    Deno.writeTextFileSync(`/etc/pam.d/${tag}`, stack(helper, log));
    const caller = await addLocalUser(callerName);
    const asSu = ["setpriv", `--ruid=${caller.uid}`, `--rgid=${caller.gid}`, "--init-groups"];

    await t.step("--verify checks the unit and the socket's directory; --print-flags shows the socket", async () => {
      const verify = await sh(`${ROOT}install.sh`, ["--verify", "--prefix", prefix]);
      assert.equal(verify.code, 0, verify.output);
      const brokerDir = `${prefix}/lib/netauth-pam-helper/runtime/broker`;
      assert.match(verify.output, new RegExp(`^ok broker ${brokerDir}: root's, mode 700$`, "m"));
      Deno.chmodSync(brokerDir, 0o755); // the helper would ignore the socket: --verify must say so
      const drifted = await sh(`${ROOT}install.sh`, ["--verify", "--prefix", prefix]);
      Deno.chmodSync(brokerDir, 0o700);
      assert.notEqual(drifted.code, 0, drifted.output);
      assert.match(
        drifted.output,
        new RegExp(`^DRIFT broker ${brokerDir} has mode 755, not 700: logins do not use`, "m"),
      );
      const flags = await sh(`${ROOT}install.sh`, [
        "--print-flags",
        "--broker",
        "--prefix",
        prefix,
        "--conf-dir",
        confDir!,
      ]);
      assert.match(flags.output, new RegExp(`--allow-net=\\S+,unix:${socket}`));
      assert.equal(Deno.statSync(brokerDir).mode! & 0o777, 0o700);
    });

    broker = await watchBroker(
      new Deno.Command(helper, { args: ["--serve"], stdin: "null", stdout: "null", stderr: "piped" }).spawn(),
    );

    await t.step("--check says logins go through the broker", async () => {
      const check = await sh(helper, ["--check"]);
      assert.equal(check.code, 0, check.output);
      assert.match(
        check.output,
        new RegExp(
          `^broker: ok ${socket} greeted in \\d+ ms, started from the installed files: logins go through`,
          "m",
        ),
      );
    });

    await t.step("su-style: right and wrong passwords and the account check go through the broker", async () => {
      const from = Deno.statSync(log).size;
      assert.equal((await pamtester(tag, "alice", "authenticate", ALICE_SECRET, asSu)).code, 0);
      const wrong = await pamtester(tag, "alice", "authenticate", "not-her-password-b7", asSu);
      assert.match(wrong.output, /Authentication failure/);
      assert.equal((await pamtester(tag, "alice", "acct_mgmt", "", asSu)).code, 0);
      const lines = linesSince(log, from);
      assert.equal(lines.length, 3, lines.join("\n"));
      assert.match(lines[0], /path=broker outcome=authenticated exit=0/);
      assert.match(lines[1], /path=broker outcome=denied exit=7/);
      assert.match(lines[2], /path=broker outcome=permitted exit=0/);
    });

    await t.step(
      "an unprivileged caller (a screen locker) cannot reach the socket, goes direct and works",
      async () => {
        const from = Deno.statSync(log).size;
        const asCaller = ["setpriv", `--reuid=${caller.uid}`, `--regid=${caller.gid}`, "--init-groups"];
        const run = await pamtester(tag, "alice", "authenticate", ALICE_SECRET, asCaller);
        assert.equal(run.code, 0, run.output);
        const [line] = linesSince(log, from);
        assert.match(line, /path=direct broker="[^"]+ not reachable \(permission denied: not root\)"/);
      },
    );

    await t.step("the broker stopped: logins go direct and still work", async () => {
      await broker!.stop();
      assert.equal((await broker!.status).code, 0);
      const check = await sh(helper, ["--check"]);
      assert.match(check.output, new RegExp(`^broker: ${socket} does not exist: logins go direct$`, "m"));
      const from = Deno.statSync(log).size;
      assert.equal((await pamtester(tag, "alice", "authenticate", ALICE_SECRET, asSu)).code, 0);
      const wrong = await pamtester(tag, "alice", "authenticate", "not-her-password-b7", asSu);
      assert.notEqual(wrong.code, 0);
      const lines = linesSince(log, from);
      assert.match(lines[0], /path=direct (source=netauth )?outcome=authenticated/); // no socket: no broker= on the line
      assert.doesNotMatch(lines[0], /broker=/);
      assert.match(lines[1], /path=direct .*outcome=denied exit=7/);
    });
  } finally {
    broker?.signal("SIGKILL");
    await Deno.remove(`/etc/pam.d/${tag}`).catch(() => {});
    await removeLocalUser(callerName);
    const un = await sh(`${ROOT}install.sh`, ["--uninstall", "--prefix", prefix]);
    assert.equal(un.code, 0, un.output);
    assert.equal(await Deno.lstat(UNIT).catch(() => undefined), undefined, "--uninstall left the unit behind");
    await server?.cleanup();
    await Deno.remove(prefix, { recursive: true });
    await Deno.remove(logDir, { recursive: true });
    if (confDir) await Deno.remove(confDir, { recursive: true });
  }
});
