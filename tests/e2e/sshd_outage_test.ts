// An outage seen through a real sshd password login: netauthd frozen with SIGSTOP (it accepts connections and
// never answers), the helper installed with an offline cache. The first login waits out one full try and
// records the outage; the next is answered from the cache after a probe; once netauthd is back and the window
// has passed, NetAuth decides again. Behaviour only: how long each login takes is the bench's ("outage").
import assert from "node:assert/strict";
import { OutageStore } from "../../src/outage/record.ts";
import { ALICE_SECRET, type NetAuthd, startNetAuthd } from "../../testkit/netauthd.ts";
import { freeIds, missingNssCache, privateEtc } from "./nss_cache.ts";
import { e2eTest, installHelper, missingPrerequisite, ROOT, sh } from "./pam.ts";
import { missingOpenSsh, type Sshd, sshLogin, startSshd } from "./sshd.ts";

const missing = (await missingPrerequisite()) ?? (await missingNssCache()) ?? (await missingOpenSsh());

/** The shipped common-lines, with the test's helper, log and a short --timeout. */
function stack(helper: string, log: string): string {
  const exec = (options: string) => `pam_exec.so ${options} quiet seteuid log=${log} ${helper} --timeout 3`;
  return [
    "# written by tests/e2e/sshd_outage_test.ts",
    "auth     [success=3 default=ignore]  pam_unix.so nullok nodelay",
    "auth     [success=1 default=ignore]  pam_localuser.so",
    `auth     [success=1 default=ignore]  ${exec("expose_authtok")}`,
    "auth     requisite                   pam_deny.so",
    "auth     required                    pam_permit.so",
    "account  [success=1 default=ignore]  pam_localuser.so",
    `account  required                    ${exec("")}`,
    "session  required                    pam_permit.so",
    "",
  ].join("\n");
}

e2eTest("sshd password logins while netauthd is frozen (SIGSTOP), then thawed", missing, async (t) => {
  const service = `sshd-outage-${Deno.pid}`;
  const dir = await Deno.makeTempDir({ prefix: "netauth-sshd-outage-" });
  await Deno.chmod(dir, 0o755);
  const helperLog = `${dir}/pam_exec.log`;
  const cacheDir = `${dir}/cache`;
  let server: NetAuthd | undefined;
  let sshd: Sshd | undefined;
  try {
    server = await startNetAuthd();
    await installHelper(`${dir}/prefix`, server.clientConfigDir, "--cache-dir", cacheDir);
    const uid = await freeIds(2);
    const alice = { name: "alice", uid, gid: uid + 1, home: `${dir}/home/alice`, password: "*" };
    await Deno.mkdir(alice.home, { recursive: true, mode: 0o755 });
    await Deno.chown(alice.home, alice.uid, alice.gid);
    const etc = await privateEtc(dir, [alice]);
    await etc.writeEtc(`pam.d/${service}`, stack(`${dir}/prefix/sbin/netauth-pam-helper`, helperLog));
    sshd = await startSshd(dir, service, etc.prefix);

    /** One password login: ssh's exit and the helper's decision lines for it, in order. */
    const login = async () => {
      const before = (await Deno.readTextFile(helperLog).catch(() => "")).length;
      const r = await sshLogin(sshd!.port, "alice", "password", { password: ALICE_SECRET });
      const lines = (await Deno.readTextFile(helperLog)).slice(before).split("\n").filter((l) => l.includes(" exit="));
      return { code: r.code, lines, context: `ssh exit ${r.code}: ${r.output}\n${lines.join("\n")}` };
    };
    const outage = (attempt: string) => new RegExp(` outage=recorded since=\\S+ attempt=${attempt} source=cache `);

    await t.step("netauthd up: NetAuth decides, and the cache learns alice's password", async () => {
      const r = await login();
      assert.equal(r.code, 0, r.context);
      assert.equal(r.lines.length, 2, r.context);
      r.lines.forEach((line) => assert.match(line, /source=netauth outcome=\w+ exit=0 /, r.context));
    });
    server.freeze();
    await t.step("frozen, first login: auth waits out the full try and records; account only probes", async () => {
      const r = await login();
      assert.equal(r.code, 0, r.context);
      assert.match(r.lines[0], outage("full"), r.context);
      assert.match(r.lines[1], outage("probe"), r.context);
    });
    await t.step("frozen, second login: auth and account both probe, then the cache answers", async () => {
      const r = await login();
      assert.equal(r.code, 0, r.context);
      assert.equal(r.lines.length, 2, r.context);
      r.lines.forEach((line) => assert.match(line, outage("probe"), r.context));
    });
    server.thaw();
    await t.step("thawed, the window passed: the next login is checked by NetAuth and ends the outage", async () => {
      const record = new OutageStore(cacheDir);
      const current = await record.read();
      assert.ok(current, "no outage record in the cache directory");
      await record.write({ ...current, fullTryAt: current.fullTryAt - 3600e3 }); // as root, the window's end
      const r = await login();
      assert.equal(r.code, 0, r.context);
      assert.match(r.lines[0], / outage=cleared source=netauth outcome=authenticated exit=0 /, r.context);
      assert.match(r.lines[1], / source=netauth outcome=permitted exit=0 /, r.context);
      assert.doesNotMatch(r.lines[1], /outage=/, r.context);
      assert.equal(await record.read(), undefined);
    });
  } finally {
    server?.thaw();
    await sshd?.stop();
    await sh(`${ROOT}install.sh`, ["--uninstall", "--prefix", `${dir}/prefix`]);
    await server?.cleanup();
    await Deno.remove(dir, { recursive: true });
  }
});
