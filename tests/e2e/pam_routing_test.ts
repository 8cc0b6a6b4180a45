// Every shipped stack (pam.d/: the Debian profile as pam-auth-update lays it out, common-lines, RHEL, Arch, sshd with
// a required group) through pamtester against the real netauthd, with syslog captured: pam_localuser routes local
// accounts (root above all) to pam_unix alone and everyone else to the helper alone. So a NetAuth login logs no
// pam_unix failure (fail2ban's pam-generic filter counts those), a local account is never tried against NetAuth, a
// NetAuth user never gets in on a password pam_unix knows, and with NetAuth down local accounts still log in.
// Root only; accounts, shadow entries, PAM files and /dev/log exist only in a private mount namespace.
import assert from "node:assert/strict";
import { ALICE_SECRET, DAVE_SECRET, type NetAuthd, startNetAuthd } from "../../testkit/netauthd.ts";
import { freeIds, missingNssCache, privateEtc } from "./nss_cache.ts";
import {
  adaptPamLine,
  debianCommonStack,
  e2eTest,
  installHelper,
  missingPrerequisite,
  pamtester,
  ROOT,
  sh,
  shippedStack,
} from "./pam.ts";
import { startSyslog, type Syslog } from "./syslog.ts";

const missing = (await missingPrerequisite()) ?? (await missingNssCache());

/** Debian's stock common-account rules, before whatever a stack adds to the account phase. */
const DEBIAN_ACCOUNT = [
  "account [success=1 new_authtok_reqd=done default=ignore] pam_unix.so",
  "account requisite pam_deny.so",
  "account required pam_permit.so",
];

/** The shipped stacks as PAM services, for the helper at `helper` logging to `log`. */
function stacks(helper: string, log: string): Record<string, string> {
  const args = "--timeout 3";
  const common = shippedStack("common-lines", helper, log, args).split("\n");
  return {
    debian: debianCommonStack((line) => adaptPamLine(line, helper, log, args)),
    "common-lines": [
      ...common.filter((l) => l.startsWith("auth")),
      ...DEBIAN_ACCOUNT,
      ...common.filter((l) => l.startsWith("account")),
      "",
    ].join("\n"),
    rhel: shippedStack("rhel/system-auth-netauth", helper, log, args),
    arch: shippedStack("arch/system-auth", helper, log, args),
    // The fixture has no ssh-users group; staff holds alice (through ops), not dave.
    "sshd-require-group": shippedStack("sshd-require-group", helper, log, args).replaceAll("ssh-users", "staff"),
  };
}

e2eTest("shipped PAM stacks: local accounts to pam_unix, NetAuth users to the helper", missing, async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "netauth-routing-" });
  const helperLog = `${dir}/pam_exec.log`;
  let server: NetAuthd | undefined;
  let syslog: Syslog | undefined;
  try {
    server = await startNetAuthd();
    // --force: another install's host-wide files (its logrotate snippet) are kept aside and put back by --uninstall.
    await installHelper(`${dir}/prefix`, server.clientConfigDir, "--force");
    // A NetAuth entity with a local account's name: its NetAuth password must never open the local account.
    await server.admin("entity", "create", "nalocal", "--initial-secret", "nalocal-netauth-pw");
    const base = await freeIds(6);
    const nss = (name: string, i: number, password = "*") => ({
      name,
      uid: base + i,
      gid: base + 5,
      home: "/nonexistent",
      password,
    });
    syslog = await startSyslog(`${dir}/syslog.sock`);
    const etc = await privateEtc(dir, [nss("alice", 0), nss("carol", 1), nss("dave", 2, "x")], {
      // dave is a NetAuth user whom a shadow source also lists: pam_unix must not be asked about him.
      shadow: { root: "root-local-pw", nalocal: "nalocal-local-pw", dave: "dave-shadow-pw" },
      localUids: { nalocal: base + 4 },
      devLog: `${dir}/syslog.sock`,
    });
    const services = stacks(`${dir}/prefix/sbin/netauth-pam-helper`, helperLog);
    for (const [name, text] of Object.entries(services)) await etc.writeEtc(`pam.d/netauth-routing-${name}`, text);

    let logSeen = 0;
    /** The helper's decisions since the last call, `entity type:exit`. */
    const decisions = async () => {
      const text = await Deno.readTextFile(helperLog).catch(() => "");
      const fresh = text.slice(logSeen);
      logSeen = text.length;
      return [...fresh.matchAll(/ entity=(\S+) .* type=(\w+) .* exit=(\d+)/g)].map(([, e, type, x]) =>
        `${e} ${type}:${x}`
      );
    };
    const pamUnixAuth = /pam_unix\([^:)]+:auth\)/;
    /** One pamtester call in the private view: its result, the helper's decisions and syslog's lines for it. */
    const run = async (stack: string, user: string, op: string, password: string, ok: boolean) => {
      await decisions();
      await syslog!.since();
      const r = await pamtester(`netauth-routing-${stack}`, user, op, password, etc.prefix);
      const seen = { decisions: await decisions(), syslog: await syslog!.since() };
      const context = `${stack}: ${op} ${user}: ${r.output}\nhelper: ${seen.decisions}\nsyslog:\n${seen.syslog}`;
      assert.equal(r.code === 0, ok, context);
      return { ...seen, context, ms: r.ms };
    };
    /** A NetAuth user: the helper decides; pam_unix's auth never runs, so logs nothing. */
    const netauth = async (stack: string, user: string, password: string, ok: boolean, exit: string) => {
      const r = await run(stack, user, "authenticate", password, ok);
      assert.deepEqual(r.decisions, [`${user} auth:${exit}`], r.context);
      assert.doesNotMatch(r.syslog, pamUnixAuth, r.context);
      // pam_faildelay keeps the 2 s a failure used to cost when pam_unix came first for everyone. Linux-PAM draws
      // the wait at random around what was asked (1.5-1.9 s measured here); a refusal without it takes a few 100 ms.
      if (!ok) assert.ok(r.ms >= 1000, `${r.context}\nrefused after ${Math.round(r.ms)} ms`);
      return r;
    };
    /** A local account: pam_unix decides, the helper never runs, NetAuth is never asked. */
    const local = async (stack: string, user: string, password: string, ok: boolean) => {
      const r = await run(stack, user, "authenticate", password, ok);
      assert.deepEqual(r.decisions, [], r.context);
      if (!ok) {
        assert.match(
          r.syslog,
          new RegExp(`pam_unix\\([^:)]+:auth\\): authentication failure;.* user=${user}`),
          r.context,
        );
      }
      const account = await run(stack, user, "acct_mgmt", "", true);
      assert.deepEqual(account.decisions, [], account.context);
      return r;
    };

    for (const stack of Object.keys(services)) {
      await t.step(`${stack}: NetAuth users go to the helper alone; pam_unix logs nothing for them`, async () => {
        await netauth(stack, "alice", ALICE_SECRET, true, "0");
        await netauth(stack, "alice", "not-her-password", false, "7");
        const account = await run(stack, "alice", "acct_mgmt", "", true);
        assert.deepEqual(account.decisions, ["alice account:0"], account.context);
      });
      await t.step(`${stack}: a NetAuth user never gets in on a password pam_unix knows`, async () => {
        await netauth(stack, "dave", "dave-shadow-pw", false, "7");
        const inGroup = stack !== "sshd-require-group";
        await netauth(stack, "dave", DAVE_SECRET, inGroup, inGroup ? "0" : "6");
      });
      await t.step(`${stack}: local accounts, root included, go to pam_unix alone`, async () => {
        await local(stack, "root", "root-local-pw", true);
        await local(stack, "nalocal", "nalocal-local-pw", true);
        await local(stack, "nalocal", "wrong-local-pw", false);
        // The NetAuth entity's password is not the local account's: refused, and NetAuth is never asked.
        await local(stack, "nalocal", "nalocal-netauth-pw", false);
      });
    }
    await t.step("netauthd was never asked about the local accounts", async () => {
      const log = await server!.log();
      assert.match(log, /Authentication Succeeded: entity=alice/);
      assert.doesNotMatch(log, /Authentication \w+: entity=(root|nalocal)\b/);
    });
    await t.step("netauthd down: root and local accounts log in, NetAuth users are refused (9)", async () => {
      await server!.stop();
      for (const stack of Object.keys(services)) {
        await local(stack, "root", "root-local-pw", true);
        await local(stack, "nalocal", "nalocal-local-pw", true);
        await local(stack, "nalocal", "nalocal-netauth-pw", false);
        await netauth(stack, "alice", ALICE_SECRET, false, "9");
      }
    });
  } finally {
    await syslog?.stop();
    await sh(`${ROOT}install.sh`, ["--uninstall", "--prefix", `${dir}/prefix`]);
    await server?.cleanup();
    await Deno.remove(dir, { recursive: true });
  }
});
