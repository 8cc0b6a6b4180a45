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
import { e2eTest, installHelper, missingPrerequisite, ROOT, sh } from "./pam.ts";
import { type Method, missingOpenSsh, type Sshd, sshLogin, startSshd } from "./sshd.ts";

const missing = (await missingPrerequisite()) ?? (await missingNssCache()) ?? (await missingOpenSsh());

/** Debian's common-auth and common-account as pam-auth-update writes them with pam.d/debian/netauth enabled. */
function debianSshdStack(helper: string, log: string): string {
  const exec = (options: string) => `pam_exec.so ${options} quiet log=${log} ${helper} --timeout 3`;
  return [
    "# written by tests/e2e/sshd_test.ts",
    "auth     [success=3 default=ignore]  pam_unix.so nullok nodelay",
    "auth     [success=1 default=ignore]  pam_localuser.so",
    `auth     [success=1 default=ignore]  ${exec("expose_authtok")}`,
    "auth     requisite                   pam_deny.so",
    "auth     required                    pam_permit.so",
    "account  [success=1 new_authtok_reqd=done default=ignore]  pam_unix.so",
    "account  requisite                   pam_deny.so",
    "account  required                    pam_permit.so",
    "account  [success=1 default=ignore]  pam_localuser.so",
    // sshd runs only the account phase for a public-key login: the group check must be here.
    `account  required                    ${exec("")} --require-group staff`,
    "session  required                    pam_permit.so",
    "",
  ].join("\n");
}

e2eTest("ssh logins through a second sshd, NSS cache files and the real netauthd", missing, async (t) => {
  const service = `sshd-npht-${Deno.pid}`;
  const dir = await Deno.makeTempDir({ prefix: "netauth-sshd-" });
  await Deno.chmod(dir, 0o755); // NetAuth users must reach their homes below it
  const helperLog = `${dir}/pam_exec.log`;
  let server: NetAuthd | undefined;
  let sshd: Sshd | undefined;
  try {
    server = await startNetAuthd();
    await installHelper(`${dir}/prefix`, server.clientConfigDir);
    const base = await freeIds(5);
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
    const etc = await privateEtc(dir, users);
    await etc.writeEtc(`pam.d/${service}`, debianSshdStack(`${dir}/prefix/sbin/netauth-pam-helper`, helperLog));
    sshd = await startSshd(dir, service, etc.prefix);

    /** Logs in and returns the helper's decisions for it, `type:exit` in order, from pam_exec's log. */
    const login = async (name: string, method: Method, secret: { password?: string; key?: string }) => {
      const before = await Deno.readTextFile(helperLog).catch(() => "");
      const logLength = sshd!.log().length;
      const r = await sshLogin(sshd!.port, name, method, secret);
      const after = await Deno.readTextFile(helperLog).catch(() => "");
      const decisions = [...after.slice(before.length).matchAll(/ entity=(\S+) .* type=(\w+) .* exit=(\d+)/g)]
        .map(([, entity, type, exit]) => `${entity} ${type}:${exit}`);
      const context = `ssh ${name} (${method}) exit ${r.code}: ${r.output}\nsshd:\n${sshd!.log().slice(logLength)}`;
      return { ...r, decisions, context, sshdLog: () => sshd!.log().slice(logLength) };
    };
    const password = (name: string, secret: string, method: Method = "password") =>
      login(name, method, { password: secret });
    const publicKey = (name: string) => login(name, "publickey", { key: clientKey });

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
      });
      await t.step(`${method}: a wrong password is refused by NetAuth (helper: auth 7)`, async () => {
        const r = await password("alice", "not-her-password", method);
        assert.equal(r.code, 255, r.context);
        assert.match(r.output, /Permission denied/, r.context);
        assert.deepEqual(r.decisions, ["alice auth:7"], r.context);
      });
    }
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
    await t.step("netauthd down: password and key logins refused (helper: 9)", async () => {
      await server!.stop();
      const r = await password("alice", ALICE_SECRET);
      assert.equal(r.code, 255, r.context);
      assert.deepEqual(r.decisions, ["alice auth:9"], r.context);
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
    await sh(`${ROOT}install.sh`, ["--uninstall", "--prefix", `${dir}/prefix`]);
    await server?.cleanup();
    await Deno.remove(dir, { recursive: true });
  }
});
