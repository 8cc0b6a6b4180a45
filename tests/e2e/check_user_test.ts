// `netauth-pam-helper --check --user NAME` through a real install (install.sh --mode bundle) and the real netauthd:
// the launcher gathers the host's side outside the sandbox, the helper asks NetAuth without a password. The names:
// a NetAuth user made with useradd, a locked one, one NetAuth does not know, one NSS does not list. Root only; the
// accounts, NSS files and PAM service exist only in a private mount namespace (tests/e2e/nss_cache.ts).
import assert from "node:assert/strict";
import { type NetAuthd, startNetAuthd } from "../../testkit/netauthd.ts";
import { freeIds, missingNssCache, privateEtc } from "./nss_cache.ts";
import { adaptPamLine, debianCommonStack, e2eTest, installHelper, missingPrerequisite, ROOT, sh } from "./pam.ts";

const missing = (await missingPrerequisite()) ?? (await missingNssCache());

e2eTest("--check --user through the installed launcher and the real netauthd", missing, async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "netauth-check-user-" });
  const service = `netauth-check-${Deno.pid}`;
  let server: NetAuthd | undefined;
  try {
    server = await startNetAuthd();
    // --force: another install's host-wide files (its logrotate snippet) are kept aside and put back by --uninstall.
    await installHelper(`${dir}/prefix`, server.clientConfigDir, "--force");
    const helper = `${dir}/prefix/sbin/netauth-pam-helper`;
    await server.admin("entity", "create", "erin", "--initial-secret", "erin-pw");
    const base = await freeIds(5);
    const nss = (name: string, i: number) => ({ name, uid: base + i, gid: base + 4, home: "/nonexistent" });
    // bob is a NetAuth user someone also made with useradd: a local account of the private view.
    const etc = await privateEtc(dir, [nss("alice", 0), nss("carol", 1), nss("zed", 2)], {
      shadow: { bob: "bob-local-pw" },
      localUids: { bob: base + 3 },
    });
    await etc.writeEtc(
      `pam.d/${service}`,
      debianCommonStack((line) => adaptPamLine(line, helper, `${dir}/pam_exec.log`)),
    );
    const check = async (name: string, ...extra: string[]) => {
      const [cmd, ...args] = [...etc.prefix, helper, "--check", "--user", name, "--service", service, ...extra];
      const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      const lines = text.trim().split("\n");
      return { code: out.code, text, line: (stage: string) => lines.find((l) => l.startsWith(`${stage}: `)) ?? "" };
    };

    await t.step("a NetAuth user served from NSS, in the required group: every line ok, exit 0", async () => {
      const r = await check("alice", "--require-group", "staff");
      assert.equal(r.code, 0, r.text);
      assert.match(r.line("user"), /^user: ok alice is not in \/etc\/passwd/, r.text);
      assert.match(r.line("nss"), new RegExp(`^nss: ok alice uid ${base} gid ${base + 4} `), r.text);
      assert.match(r.line("shadow"), /^shadow: ok no entry/, r.text);
      assert.match(r.line("pam"), new RegExp(`^pam: ok ${service} runs the helper for auth \\(/etc/pam.d/${service}:`));
      assert.match(r.line("server"), /^server: ok /, r.text);
      assert.equal(r.line("entity"), "entity: ok alice exists and is not locked", r.text);
      assert.equal(r.line("member"), "member: ok alice is in staff", r.text);
    });
    await t.step("a NetAuth user made with useradd: said plainly, exit 7", async () => {
      const r = await check("bob");
      assert.equal(r.code, 7, r.text);
      assert.match(r.line("user"), /NetAuth users made with useradd never reach NetAuth/, r.text);
      assert.equal(r.line("shadow"), "shadow: ok password set: pam_unix checks it", r.text);
      assert.match(r.line("entity"), /^entity: WARN NetAuth has an entity bob, but logins never ask NetAuth/, r.text);
      assert.doesNotMatch(r.text, /\$[0-9a-z]+\$/, "a shadow hash reached the output");
    });
    await t.step("a locked entity: exit 6", async () => {
      const r = await check("carol");
      assert.equal(r.code, 6, r.text);
      assert.equal(r.line("entity"), "entity: FAIL carol is locked: logins refused (auth 7, account 6)", r.text);
    });
    await t.step("an entity NetAuth does not know: exit 10", async () => {
      const r = await check("zed");
      assert.equal(r.code, 10, r.text);
      assert.match(r.line("nss"), /^nss: ok zed /, r.text);
      assert.match(r.line("entity"), /^entity: FAIL NetAuth has no entity zed/, r.text);
    });
    await t.step("an entity NSS does not list: sshd refuses it before PAM, exit 10", async () => {
      const r = await check("erin");
      assert.equal(r.code, 10, r.text);
      assert.match(r.line("nss"), /^nss: FAIL getent passwd erin finds no entry: sshd refuses the name before PAM/);
      assert.equal(r.line("entity"), "entity: ok erin exists and is not locked", r.text);
    });
    await t.step("netauthd asked nothing with a password", async () => {
      assert.doesNotMatch(await server!.log(), /Authentication (Succeeded|Failed): entity=(alice|bob|carol|zed|erin)/);
    });
  } finally {
    await sh(`${ROOT}install.sh`, ["--uninstall", "--prefix", `${dir}/prefix`]);
    await server?.cleanup();
    await Deno.remove(dir, { recursive: true });
  }
});
