// Issue 26: under su the caller may signal pam_exec's child until the launcher's setpriv runs. Stopped there and
// continued after NetAuth's share of the deadline, the helper once found its call already out of time, read that as
// "NetAuth unavailable" and let the offline cache answer: a revoked password or a locked entity got in. Through real
// pam_exec: a wrapper stops itself and then execs the launcher in place (so the launcher reads the fork's start).
import assert from "node:assert/strict";
import { type NetAuthd, startNetAuthd } from "../../testkit/netauthd.ts";
import { e2eTest, installHelper, missingPrerequisite, pamtester, ROOT, sh } from "./pam.ts";

const missing = await missingPrerequisite();
const TIMEOUT_S = 6; // NetAuth's share ends 1 s before the deadline (the cache's reserve)
const ENTITY = "stopme";

/** The pid of a stopped process running `script`, once there is one. */
async function stoppedRunning(script: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
        const state = Deno.readTextFileSync(`/proc/${entry.name}/stat`).split(") ")[1]?.[0];
        if (cmdline.includes(script) && state === "T") return Number(entry.name);
      } catch {
        // gone meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no stopped process ran ${script}`);
}

e2eTest("a launcher stopped past NetAuth's share: exit 9 no_time, never the cache, no outage", missing, async () => {
  const prefix = await Deno.makeTempDir({ prefix: "netauth-prefix-" });
  await Deno.chmod(prefix, 0o755);
  const tag = `netauth-e2e-stop-${Deno.pid}`;
  const pamFiles = [`/etc/pam.d/${tag}`, `/etc/pam.d/${tag}-held`];
  const log = `${prefix}/pam_exec.log`;
  const cacheDir = `${prefix}/cache`;
  let server: NetAuthd | undefined;
  try {
    server = await startNetAuthd();
    await installHelper(prefix, server.clientConfigDir, "--cache-dir", cacheDir);
    const launcher = `${prefix}/sbin/netauth-pam-helper`;
    const held = `${prefix}/stop-then-launch`;
    // What a caller's `kill -STOP` does to pam_exec's child before setpriv: here the child stops itself.
    await Deno.writeTextFile(held, `#!/bin/sh\nkill -STOP $$\nexec ${launcher} "$@"\n`, { mode: 0o755 });
    const stack = (command: string) =>
      [
        `auth     required  pam_exec.so expose_authtok quiet log=${log} ${command} --timeout ${TIMEOUT_S}`,
        `account  required  pam_exec.so quiet log=${log} ${command} --timeout ${TIMEOUT_S}`,
        "",
      ].join("\n");
    await Deno.writeTextFile(pamFiles[0], stack(launcher));
    await Deno.writeTextFile(pamFiles[1], stack(held));
    await server.admin("entity", "create", ENTITY, "--initial-secret", "old-pw");
    const lastLine = async () => (await Deno.readTextFile(log)).trim().split("\n").at(-1) ?? "";

    /** The login on the held service: stopped at once, continued once NetAuth's share of its deadline is gone. */
    const heldLogin = async (op: string, password: string) => {
      const login = pamtester(`${tag}-held`, ENTITY, op, password);
      const pid = await stoppedRunning(held);
      await new Promise((r) => setTimeout(r, (TIMEOUT_S - 1) * 1000 + 200));
      Deno.kill(pid, "SIGCONT");
      const result = await login;
      return { ...result, line: await lastLine() };
    };

    const online = await pamtester(tag, ENTITY, "authenticate", "old-pw");
    assert.equal(online.code, 0, `${online.output}\n${await lastLine()}`); // the cache now holds old-pw
    await server.admin("auth", "change-secret", "--csEntity", ENTITY, "--csSecret", "new-pw");

    const revoked = await heldLogin("authenticate", "old-pw");
    assert.notEqual(revoked.code, 0, `the revoked password got in: ${revoked.line}`);
    assert.match(revoked.line, /outcome=no_time exit=9/);
    assert.doesNotMatch(revoked.line, /source=cache|outage=/);
    assert.equal(await Deno.stat(`${cacheDir}/outage.json`).catch(() => undefined), undefined, "outage recorded");

    await server.admin("entity", "lock", ENTITY);
    const locked = await heldLogin("acct_mgmt", "");
    assert.notEqual(locked.code, 0, `the locked entity got in: ${locked.line}`);
    assert.match(locked.line, /type=account .*outcome=no_time exit=9/);
    assert.doesNotMatch(locked.line, /source=cache/);
    assert.equal(await Deno.stat(`${cacheDir}/outage.json`).catch(() => undefined), undefined, "outage recorded");

    // Controls, not held: NetAuth's own verdicts.
    const lockedOnline = await pamtester(tag, ENTITY, "acct_mgmt");
    assert.notEqual(lockedOnline.code, 0);
    assert.match(await lastLine(), /outcome=locked exit=6/);
    const oldOnline = await pamtester(tag, ENTITY, "authenticate", "old-pw");
    assert.notEqual(oldOnline.code, 0);
    assert.match(await lastLine(), /source=netauth outcome=denied exit=7/);
  } finally {
    for (const file of pamFiles) await Deno.remove(file).catch(() => {});
    await sh(`${ROOT}install.sh`, ["--uninstall", "--prefix", prefix]);
    await server?.cleanup();
    await Deno.remove(prefix, { recursive: true });
  }
});
