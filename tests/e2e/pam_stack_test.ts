// End to end as a host runs it: the real netauthd, the helper installed by `install.sh --mode
// bundle`, a PAM service calling it through pam_exec.so, driven by pamtester. Root only.
import assert from "node:assert/strict";
import {
  ALICE_SECRET,
  BOB_SECRET,
  CAROL_SECRET,
  CLIENT_ID,
  DAVE_SECRET,
  type NetAuthd,
  startNetAuthd,
} from "../../testkit/netauthd.ts";
import { freeIds, missingNssCache, privateEtc } from "./nss_cache.ts";
import {
  addLocalUser,
  e2eTest,
  installHelper,
  localAccounts,
  missingPrerequisite,
  pamtester,
  removeLocalUser,
  ROOT,
} from "./pam.ts";

const TIMEOUT_S = 3;
const missing = (await missingPrerequisite()) ?? (await missingNssCache());

// missingPrerequisite names a local account that shadows a NetAuth test user; this is how it finds one.
Deno.test("a local account is found by name, a missing one is not", async () => {
  assert.deepEqual(await localAccounts(["root", `netauth-nobody-${Deno.pid}`, "nobody"]), ["root", "nobody"]);
});

e2eTest("real netauthd through pam_exec.so and pamtester", missing, async (t) => {
  const tag = `netauth-e2e-${Deno.pid}`;
  const prefix = await Deno.makeTempDir({ prefix: "netauth-prefix-" });
  const helperLog = `${prefix}/pam_exec.log`;
  const cacheDir = `${prefix}/cache`;
  const localUser = `nalocal${Deno.pid % 100000}`;
  const pamFiles = [`/etc/pam.d/${tag}`, `/etc/pam.d/${tag}-staff`];
  let server: NetAuthd | undefined;
  try {
    server = await startNetAuthd();
    await installHelper(prefix, server.clientConfigDir, "--cache-dir", cacheDir);
    const helper = `${prefix}/sbin/netauth-pam-helper`;
    const stack = (extra: string) =>
      [
        "# written by tests/e2e/pam_stack_test.ts",
        "auth     [success=done default=ignore]  pam_unix.so nodelay",
        `auth     [success=done default=die]     pam_exec.so expose_authtok quiet log=${helperLog} ${helper} --timeout ${TIMEOUT_S} ${extra}`,
        // Debian's common-account: pam_unix refuses whom NSS does not know, or whose entry it cannot check.
        "account  [success=1 new_authtok_reqd=done default=ignore]  pam_unix.so",
        "account  requisite                      pam_deny.so",
        "account  required                       pam_permit.so",
        "account  [success=done default=ignore]  pam_localuser.so",
        `account  required                       pam_exec.so quiet log=${helperLog} ${helper} --timeout ${TIMEOUT_S} ${extra}`,
        "",
      ].join("\n");
    await Deno.writeTextFile(pamFiles[0], stack(""));
    await Deno.writeTextFile(pamFiles[1], stack("--require-group staff"));
    await addLocalUser(localUser, { password: "local-pw" });
    // NetAuth users come from NSS (libnss-cache files), as at a site; zed is a stale entry NetAuth no longer knows.
    const base = await freeIds(6);
    const nssUser = (name: string, i: number) => ({ name, uid: base + i, gid: base + 5, home: "/nonexistent" });
    const etc = await privateEtc(prefix, ["alice", "bob", "carol", "dave", "zed"].map(nssUser));

    /** The helper's own verdict, from the log line pam_exec captured for this call. */
    const lastExit = async () =>
      (await Deno.readTextFile(helperLog)).trim().split("\n").at(-1)?.match(/exit=(\d+)/)?.[1];
    const expect = async (
      service: string,
      user: string,
      op: string,
      password: string,
      ok: boolean,
      exit?: string,
    ) => {
      const r = await pamtester(service, user, op, password, etc.prefix);
      assert.equal(r.code === 0, ok, `${op} ${user}@${service}: ${r.output}`);
      if (exit) assert.equal(await lastExit(), exit, `${op} ${user}: helper exit`);
      return r;
    };

    await t.step("right password authenticates, account permitted", async () => {
      const r = await expect(tag, "alice", "authenticate", ALICE_SECRET, true, "0");
      assert.match(r.output, /successfully authenticated/);
      await expect(tag, "alice", "acct_mgmt", "", true, "0");
    });
    await t.step("wrong password is refused (helper exit 7)", async () => {
      await expect(tag, "alice", "authenticate", "not-her-password", false, "7");
    });
    await t.step("unknown user: auth 7, account 10", async () => {
      await expect(tag, "zed", "authenticate", "whatever", false, "7");
      await expect(tag, "zed", "acct_mgmt", "", false, "10");
    });
    await t.step("locked entity: auth 7 even with its password, account 6", async () => {
      await expect(tag, "carol", "authenticate", CAROL_SECRET, false, "7");
      await expect(tag, "carol", "acct_mgmt", "", false, "6");
    });
    await t.step("--require-group staff: nested and direct members in, others out (6)", async () => {
      await expect(`${tag}-staff`, "alice", "authenticate", ALICE_SECRET, true, "0"); // ops ⊂ staff
      await expect(`${tag}-staff`, "bob", "authenticate", BOB_SECRET, true, "0");
      await expect(`${tag}-staff`, "dave", "authenticate", DAVE_SECRET, false, "6");
      await expect(`${tag}-staff`, "dave", "acct_mgmt", "", false, "6");
    });
    await t.step("netauthd records our service-name and client-name", async () => {
      const log = await server!.log();
      assert.match(log, new RegExp(`Authentication Succeeded: entity=alice service=${tag} client=${CLIENT_ID}`));
      assert.match(log, new RegExp(`Authentication Failed: entity=alice service=${tag} client=${CLIENT_ID}`));
    });
    await t.step("netauthd stopped: uncached users fail within the timeout, local users still log in", async () => {
      await server!.stop();
      const r = await expect(tag, "carol", "authenticate", CAROL_SECRET, false, "9");
      assert.ok(r.ms < TIMEOUT_S * 1000 + 2000, `took ${Math.round(r.ms)} ms with --timeout ${TIMEOUT_S}`);
      await expect(tag, localUser, "authenticate", "local-pw", true);
      await expect(tag, localUser, "acct_mgmt", "", true);
    });
    await t.step("netauthd stopped: the cached password still logs alice in, a wrong one does not", async () => {
      await expect(tag, "alice", "authenticate", ALICE_SECRET, true, "0");
      assert.match((await Deno.readTextFile(helperLog)).trim().split("\n").at(-1)!, /source=cache/);
      await expect(tag, "alice", "authenticate", "not-her-password", false, "7");
      await expect(tag, "alice", "acct_mgmt", "", true, "0");
    });
    await t.step("netauthd restarted: logins work again", async () => {
      await server!.start();
      await expect(tag, "alice", "authenticate", ALICE_SECRET, true, "0");
    });
    await t.step("no password is written in clear: not in pam_exec's log, not in the cache", async () => {
      const written = [await Deno.readTextFile(helperLog)];
      for (const entry of Deno.readDirSync(cacheDir)) {
        written.push(await Deno.readTextFile(`${cacheDir}/${entry.name}`));
      }
      assert.ok(written.length > 2, "the cache holds no entries");
      for (const secret of [ALICE_SECRET, BOB_SECRET, CAROL_SECRET, DAVE_SECRET, "not-her-password"]) {
        assert.ok(written.every((text) => !text.includes(secret)), "a password was written in clear");
      }
    });
  } finally {
    for (const file of pamFiles) await Deno.remove(file).catch(() => {});
    await removeLocalUser(localUser);
    await new Deno.Command(`${ROOT}install.sh`, { args: ["--uninstall", "--prefix", prefix], stdout: "null" })
      .output();
    await server?.cleanup();
    await Deno.remove(prefix, { recursive: true });
  }
});
