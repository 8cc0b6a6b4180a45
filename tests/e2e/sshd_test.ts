// A real client end to end: OpenSSH's ssh (with sshpass) logs in to a second sshd on a loopback port whose PAM
// stack is Debian's common-auth and common-account with the netauth profile, the helper installed by
// `install.sh --mode bundle`, NetAuth users served by libnss-cache, and the real netauthd. Root only; the host's
// /etc, its sshd and its users are untouched (tests/e2e/nss_cache.ts).
import assert from "node:assert/strict";
import {
  ALICE_SECRET,
  BOB_SECRET,
  CAROL_SECRET,
  DAVE_SECRET,
  type NetAuthd,
  startNetAuthd,
} from "../../testkit/netauthd.ts";
import { freeIds, missingNssCache, type NssUser, privateEtc } from "./nss_cache.ts";
import { adaptPamLine, debianCommonStack, e2eTest, installHelper, missingPrerequisite, ROOT, sh } from "./pam.ts";
import { startSyslog, type Syslog } from "./syslog.ts";
import { type Method, missingOpenSsh, type Sshd, sshLogin, startSshd } from "./sshd.ts";

const missing = (await missingPrerequisite()) ?? (await missingNssCache()) ?? (await missingOpenSsh());

/**
 * Debian's common-auth and common-account as pam-auth-update writes them with pam.d/debian/netauth enabled
 * (tests/e2e/pam.ts), and `--require-group staff` on the account line: sshd runs only the account phase for a
 * public-key login, so the group check must be there.
 */
function debianSshdStack(helper: string, log: string): string {
  const stack = debianCommonStack((line) => {
    const adapted = adaptPamLine(line, helper, log, "--timeout 3");
    return line.includes("pam_exec.so") && !line.includes("expose_authtok")
      ? `${adapted} --require-group staff`
      : adapted;
  });
  return `${stack}session required pam_permit.so\n`;
}

e2eTest("ssh logins through a second sshd, NSS cache files and the real netauthd", missing, async (t) => {
  const service = `sshd-npht-${Deno.pid}`;
  const dir = await Deno.makeTempDir({ prefix: "netauth-sshd-" });
  await Deno.chmod(dir, 0o755); // NetAuth users must reach their homes below it
  const helperLog = `${dir}/pam_exec.log`;
  let server: NetAuthd | undefined;
  let sshd: Sshd | undefined;
  let syslog: Syslog | undefined;
  try {
    server = await startNetAuthd();
    await installHelper(`${dir}/prefix`, server.clientConfigDir);
    const base = await freeIds(6);
    const gid = base + 4;
    const user = (name: string, i: number, password = "*"): NssUser => ({
      name,
      uid: base + i,
      gid,
      home: `${dir}/home/${name}`,
      password,
    });
    // bob's `x` with no shadow source is the pitfall pam.d/README.md documents.
    const users = [user("alice", 0), user("bob", 1, "x"), user("carol", 2), user("dave", 3)];
    const clientKey = `${dir}/client_key`;
    assert.equal((await sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", clientKey])).code, 0);
    await Deno.mkdir(`${dir}/home`, { mode: 0o755 });
    for (const u of users) {
      await Deno.mkdir(u.home, { mode: 0o755 });
      await Deno.mkdir(`${u.home}/.ssh`, { mode: 0o700 });
      await Deno.copyFile(`${clientKey}.pub`, `${u.home}/.ssh/authorized_keys`);
      for (const path of [u.home, `${u.home}/.ssh`, `${u.home}/.ssh/authorized_keys`]) {
        await Deno.chown(path, u.uid, u.gid);
      }
    }
    // pam_unix and pam_exec log through syslog(3): the private view's /dev/log is this socket. root and nalocal
    // are local accounts of the private view only, with passwords set there.
    syslog = await startSyslog(`${dir}/syslog.sock`);
    const etc = await privateEtc(dir, users, {
      shadow: { root: "root-local-pw", nalocal: "nalocal-local-pw" },
      localUids: { nalocal: base + 5 },
      devLog: `${dir}/syslog.sock`,
    });
    await etc.writeEtc(`pam.d/${service}`, debianSshdStack(`${dir}/prefix/sbin/netauth-pam-helper`, helperLog));
    sshd = await startSshd(dir, service, etc.prefix, true);

    /** Logs in and returns the helper's decisions for it, `type:exit` in order, from pam_exec's log. */
    const login = async (name: string, method: Method, secret: { password?: string; key?: string }) => {
      const before = await Deno.readTextFile(helperLog).catch(() => "");
      const logLength = sshd!.log().length;
      const r = await sshLogin(sshd!.port, name, method, secret);
      const after = await Deno.readTextFile(helperLog).catch(() => "");
      const decisions = [...after.slice(before.length).matchAll(/ entity=(\S+) .* type=(\w+) .* exit=(\d+)/g)]
        .map(([, entity, type, exit]) => `${entity} ${type}:${exit}`);
      const pamLog = await syslog!.since();
      const context = `ssh ${name} (${method}) exit ${r.code}: ${r.output}\nsshd:\n${sshd!.log().slice(logLength)}` +
        `\nsyslog:\n${pamLog}`;
      return { ...r, decisions, context, pamLog, sshdLog: () => sshd!.log().slice(logLength) };
    };
    const password = (name: string, secret: string, method: Method = "password") =>
      login(name, method, { password: secret });
    const publicKey = (name: string) => login(name, "publickey", { key: clientKey });
    /** What fail2ban's pam-generic filter counts: pam_unix's auth failures. */
    const PAM_UNIX_AUTH = /pam_unix\([^:)]+:auth\)/;
    /** A local account logs in on its /etc/shadow password alone; NetAuth is never asked. */
    const localLogin = async (name: string, secret: string, ok: boolean) => {
      const r = await password(name, secret);
      assert.equal(r.code, ok ? 0 : 255, r.context);
      assert.deepEqual(r.decisions, [], r.context);
      if (!ok) {
        assert.match(r.pamLog, new RegExp(`pam_unix\\(${service}:auth\\): authentication failure;.* user=${name}`));
      }
      return r;
    };

    await t.step("sshd runs the PAM service named after the name it runs under", async () => {
      const r = await password("alice", ALICE_SECRET);
      assert.equal(r.code, 0, r.context);
      assert.match(await Deno.readTextFile(helperLog), new RegExp(` service=${service} rhost=127\\.0\\.0\\.1 `));
    });
    for (const method of ["password", "keyboard-interactive"] as const) {
      await t.step(`${method}: the right password logs alice in (helper: auth 0, account 0)`, async () => {
        const r = await password("alice", ALICE_SECRET, method);
        assert.equal(r.code, 0, r.context);
        assert.deepEqual(r.decisions, ["alice auth:0", "alice account:0"], r.context);
        assert.match(r.sshdLog(), new RegExp(`Accepted ${method}[^\\n]* for alice from 127\\.0\\.0\\.1`), r.context);
        // No pam_unix failure for a NetAuth login: fail2ban's pam-generic filter has nothing to count.
        assert.doesNotMatch(r.pamLog, PAM_UNIX_AUTH, r.context);
      });
      await t.step(`${method}: a wrong password is refused by NetAuth (helper: auth 7)`, async () => {
        const r = await password("alice", "not-her-password", method);
        assert.equal(r.code, 255, r.context);
        assert.match(r.output, /Permission denied/, r.context);
        assert.deepEqual(r.decisions, ["alice auth:7"], r.context);
        assert.doesNotMatch(r.pamLog, PAM_UNIX_AUTH, r.context);
        assert.match(r.pamLog, /pam_exec\([^)]*:auth\): \S+ failed: exit code 7/, r.context);
      });
    }
    await t.step(
      "local accounts, root included, log in on pam_unix alone; a wrong password is its failure",
      async () => {
        await localLogin("root", "root-local-pw", true);
        await localLogin("nalocal", "nalocal-local-pw", true);
        await localLogin("nalocal", "not-the-password", false);
      },
    );
    await t.step("the locked entity is refused with its own password (helper: auth 7)", async () => {
      const r = await password("carol", CAROL_SECRET);
      assert.equal(r.code, 255, r.context);
      assert.deepEqual(r.decisions, ["carol auth:7"], r.context);
    });
    await t.step("public key, --require-group staff on the account line: alice (ops ⊂ staff) in", async () => {
      const r = await publicKey("alice");
      assert.equal(r.code, 0, r.context);
      assert.deepEqual(r.decisions, ["alice account:0"], r.context); // no auth phase for a key
      assert.match(r.sshdLog(), /Accepted publickey for alice/, r.context);
    });
    await t.step("public key, --require-group staff: dave (in no group) refused by the account line (6)", async () => {
      const r = await publicKey("dave");
      assert.equal(r.code, 255, r.context);
      assert.deepEqual(r.decisions, ["dave account:6"], r.context);
      assert.match(r.sshdLog(), /Access denied for user dave by PAM account configuration/, r.context);
      const byPassword = await password("dave", DAVE_SECRET);
      assert.equal(byPassword.code, 255, byPassword.context);
      assert.deepEqual(byPassword.decisions, ["dave auth:0", "dave account:6"], byPassword.context);
      // keyboard-interactive: sshd words every account-phase refusal as an expired account.
      const kbd = await password("dave", DAVE_SECRET, "keyboard-interactive");
      assert.equal(kbd.code, 255, kbd.context);
      assert.deepEqual(kbd.decisions, ["dave auth:0", "dave account:6"], kbd.context);
      assert.match(kbd.sshdLog(), /PAM: User account has expired for dave/, kbd.context);
    });
    await t.step(
      "passwd field `x` with no shadow source: NetAuth accepts bob, pam_unix's account check does not",
      async () => {
        const r = await password("bob", BOB_SECRET);
        assert.equal(r.code, 255, r.context);
        assert.deepEqual(r.decisions, ["bob auth:0"], r.context); // refused before the helper's account line
        assert.match(r.sshdLog(), /Access denied for user bob by PAM account configuration/, r.context);
        // What the issue saw: sshd's keyboard-interactive path labels any account failure "expired".
        const kbd = await password("bob", BOB_SECRET, "keyboard-interactive");
        assert.equal(kbd.code, 255, kbd.context);
        assert.deepEqual(kbd.decisions, ["bob auth:0"], kbd.context);
        assert.match(kbd.sshdLog(), /PAM: User account has expired for bob/, kbd.context);
      },
    );
    await t.step("a NetAuth entity NSS does not list: sshd refuses it whatever NetAuth answers", async () => {
      await server!.admin("entity", "create", "erin", "--initial-secret", "erin-pw");
      const r = await password("erin", "erin-pw");
      assert.equal(r.code, 255, r.context);
      assert.match(r.sshdLog(), /Invalid user erin from 127\.0\.0\.1/, r.context);
      // sshd still runs PAM for an unknown name, with a deliberately wrong password: the helper says 7.
      assert.deepEqual(r.decisions, ["erin auth:7"], r.context);
      assert.match(await server!.log(), /Authentication Failed: entity=erin/);
    });
    await t.step(
      "through the warm broker (install.sh --broker, --serve started by hand): the same verdicts",
      async () => {
        await installHelper(`${dir}/prefix`, server!.clientConfigDir, "--broker");
        const socket = `${dir}/prefix/lib/netauth-pam-helper/runtime/broker/socket`;
        const broker = new Deno.Command(`${dir}/prefix/sbin/netauth-pam-helper`, {
          args: ["--serve"],
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).spawn();
        try {
          // Up once its socket answers (PID 1 here is not systemd).
          for (
            let i = 0;
            !(await Deno.connect({ transport: "unix", path: socket }).then((c) => (c.close(), true), () => false));
            i++
          ) {
            assert.ok(i < 600, "the broker did not start");
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          const before = (await Deno.readTextFile(helperLog)).length;
          const r = await password("alice", ALICE_SECRET);
          assert.equal(r.code, 0, r.context);
          assert.deepEqual(r.decisions, ["alice auth:0", "alice account:0"], r.context);
          const lines = (await Deno.readTextFile(helperLog)).slice(before).split("\n").filter((l) =>
            / exit=\d/.test(l)
          );
          assert.ok(lines.length === 2 && lines.every((l) => l.includes(" path=broker ")), lines.join("\n"));
          const wrong = await password("alice", "not-her-password");
          assert.deepEqual(wrong.decisions, ["alice auth:7"], wrong.context);
        } finally {
          broker.kill("SIGTERM");
          await broker.status;
        }
      },
    );
    await t.step("netauthd down: NetAuth logins refused (helper: 9), local accounts and root still in", async () => {
      await server!.stop();
      const r = await password("alice", ALICE_SECRET);
      assert.equal(r.code, 255, r.context);
      assert.deepEqual(r.decisions, ["alice auth:9"], r.context);
      assert.doesNotMatch(r.pamLog, PAM_UNIX_AUTH, r.context);
      await localLogin("root", "root-local-pw", true);
      await localLogin("nalocal", "nalocal-local-pw", true);
      await localLogin("nalocal", "not-the-password", false);
      const key = await publicKey("alice");
      assert.equal(key.code, 255, key.context);
      assert.deepEqual(key.decisions, ["alice account:9"], key.context);
    });
    await t.step("no password reached pam_exec's log or sshd's", async () => {
      const written = (await Deno.readTextFile(helperLog)) + sshd!.log();
      for (const secret of [ALICE_SECRET, BOB_SECRET, CAROL_SECRET, DAVE_SECRET, "not-her-password"]) {
        assert.ok(!written.includes(secret), "a password was written in clear");
      }
    });
  } finally {
    await sshd?.stop();
    await syslog?.stop();
    await sh(`${ROOT}install.sh`, ["--uninstall", "--prefix", `${dir}/prefix`]);
    await server?.cleanup();
    await Deno.remove(dir, { recursive: true });
  }
});
