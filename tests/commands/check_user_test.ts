// --check --user: each line a login for NAME would meet, from fake host facts and a fake NetAuth, and the exit.
import assert from "node:assert/strict";
import { hostFindings, netAuthFindings } from "../../src/commands/check_user.ts";
import { runCheck } from "../../src/commands/check.ts";
import { FactsError, type HostFacts } from "../../src/host_facts.ts";
import { testConfig } from "../../testkit/config.ts";
import { type FakeDirectory, fakeNetAuth } from "../../testkit/fake_client.ts";

const HELPER = "/usr/local/sbin/netauth-pam-helper";
const PASSWD = "root:x:0:0:root:/root:/bin/bash\nadmin:x:1000:1000::/home/admin:/bin/bash";
/** Debian's sshd including common-auth and common-account with the netauth profile's lines. */
const PAM = new Map([
  ["/etc/pam.d/sshd", "@include common-auth\naccount required pam_nologin.so\n@include common-account\n"],
  ["/etc/pam.d/common-auth", `auth [success=3 default=ignore] pam_exec.so expose_authtok quiet ${HELPER}\n`],
  ["/etc/pam.d/common-account", `account required pam_exec.so quiet ${HELPER}\n`],
  ["/etc/pam.d/login", "@include common-auth\n"],
]);

function facts(over: Partial<HostFacts> = {}): HostFacts {
  return {
    user: "alice",
    euid: 0,
    passwdFile: PASSWD,
    passwd: { status: 0, line: "alice:*:5000:5000:Alice:/home/alice:/bin/sh" },
    shadow: { status: 2 },
    pamFiles: PAM,
    ...over,
  };
}

const lines = (f: HostFacts, service = "sshd") => hostFindings(f, service, 20000).map((x) => `${x.exit} ${x.line}`);

Deno.test("a NetAuth user served from NSS with *, through a wired sshd: all ok, exit 0 each", () => {
  assert.deepEqual(lines(facts()), [
    "0 user: ok alice is not in /etc/passwd: pam_localuser sends it to the helper",
    "0 nss: ok alice uid 5000 gid 5000 home /home/alice shell /bin/sh (password field *)",
    "0 shadow: ok no entry: pam_unix's account check has no ageing to enforce",
    "0 pam: ok sshd runs the helper for auth (/etc/pam.d/common-auth:1) and account (/etc/pam.d/common-account:1)",
  ]);
});

Deno.test("a NetAuth user made with useradd: a local account, said plainly", () => {
  const f = facts({
    user: "admin",
    passwd: { status: 0, line: "admin:x:1000:1000::/home/admin:/bin/bash" },
    shadow: { status: 0, line: "admin:HASH:19000:0:99999:7:::" },
  });
  const [user, , shadow] = lines(f);
  assert.match(user, /^0 user: admin is a local account \(in \/etc\/passwd\): pam_localuser sends it to pam_unix/);
  assert.match(user, /NetAuth users made with useradd never reach NetAuth: userdel it and serve it from NSS$/);
  assert.equal(shadow, "0 shadow: ok password set: pam_unix checks it");
});

Deno.test("no NSS entry: sshd refuses before PAM (exit 10)", () => {
  const [, nss] = lines(facts({ passwd: { status: 2 } }));
  assert.match(nss, /^10 nss: FAIL getent passwd alice finds no entry: sshd refuses the name before PAM/);
});

Deno.test("the shadow entry: x without one, an expired account, a locked or empty local password", () => {
  const x = facts({ passwd: { status: 0, line: "alice:x:5000:5000::/home/alice:/bin/sh" } });
  assert.match(lines(x)[2], /^9 shadow: FAIL no shadow entry, and the passwd field is x: pam_unix's account check/);
  const expired = facts({ shadow: { status: 0, line: "alice:*:19000:0:99999:7::19999:" } });
  assert.equal(
    lines(expired)[2],
    "6 shadow: FAIL the account expired on 2024-10-03: pam_unix's account check refuses it",
  );
  const local = (shape: string) =>
    lines(
      facts({
        user: "admin",
        passwd: { status: 0, line: "admin:x:1000:1000::/h:/bin/sh" },
        shadow: { status: 0, line: `admin:${shape}:1:0:99999:7:::` },
      }),
    )[2];
  assert.equal(local("!HASH"), "0 shadow: WARN password locked: pam_unix refuses every password for it");
  assert.equal(local("!"), "0 shadow: WARN no password (!): pam_unix refuses every password for it");
  assert.match(local(""), /^0 shadow: WARN empty password: with nullok, pam_unix lets anyone in/);
  assert.match(lines(facts({ euid: 1000 }))[2], /^0 shadow: WARN not read: run --check as root/);
});

Deno.test("the PAM service: not wired for auth or account, or no such file", () => {
  assert.match(lines(facts(), "login")[3], /^3 pam: FAIL login does not run the helper for account: key logins/);
  assert.match(lines(facts(), "su")[3], /^3 pam: FAIL no \/etc\/pam.d\/su: PAM uses \/etc\/pam.d\/other/);
  const unwired = new Map([...PAM, ["/etc/pam.d/common-auth", "auth required pam_unix.so\n"]]);
  assert.match(lines(facts({ pamFiles: unwired }))[3], /^3 pam: FAIL sshd does not run the helper for auth: passwords/);
});

Deno.test("NetAuth's side without a password: exists, locked, unknown, groups; a local name NetAuth also has", async () => {
  const dir: FakeDirectory = {
    secrets: { alice: "a", carol: "c", admin: "x" },
    locked: ["carol"],
    groups: { alice: ["ops", "staff"] },
  };
  const run = async (name: string, groups: string[] = [], local = false) => {
    const client = fakeNetAuth(dir);
    const found = (await netAuthFindings(client, name, groups, local)).map((f) => `${f.exit} ${f.line}`);
    assert.ok(!client.calls.some((call) => call.startsWith("auth")), "no password is tried");
    return found;
  };
  assert.deepEqual(await run("alice", ["staff"]), [
    "0 entity: ok alice exists and is not locked",
    "0 member: ok alice is in staff",
  ]);
  assert.deepEqual(await run("alice"), [
    "0 entity: ok alice exists and is not locked",
    "0 member: alice is in ops, staff (no --require-group given)",
  ]);
  assert.match((await run("alice", ["wheel"]))[1], /^6 member: FAIL alice is in none of wheel \(it is in ops, staff\)/);
  assert.deepEqual(await run("carol"), ["6 entity: FAIL carol is locked: logins refused (auth 7, account 6)"]);
  assert.deepEqual(await run("zed"), [
    "10 entity: FAIL NetAuth has no entity zed: logins refused (auth 7, account 10)",
  ]);
  assert.match((await run("admin", [], true))[0], /^7 entity: WARN NetAuth has an entity admin, but logins never ask/);
  assert.deepEqual(await run("root", [], true), ["0 entity: NetAuth has no entity root (a local account: no matter)"]);
});

Deno.test("runCheck --user: host lines first, then the stages, then NetAuth's; the first FAIL's exit", async () => {
  const run = async (user: { name: string; facts: () => Promise<HostFacts> }) => {
    const printed: string[] = [];
    const exit = await runCheck({
      loadConfig: () => Promise.resolve(testConfig()),
      netGranted: () => true,
      connect: () => Promise.resolve(fakeNetAuth({ secrets: { alice: "a" }, locked: [] })),
      print: (line) => printed.push(line.replace(/ in \d+ ms/, " in N ms")),
      hiddenFromOthers: () => Promise.resolve(undefined),
      user: { service: "sshd", ...user },
    });
    return { exit, printed };
  };
  const ok = await run({ name: "alice", facts: () => Promise.resolve(facts()) });
  assert.equal(ok.exit, 0);
  assert.deepEqual(ok.printed.map((l) => l.split(":")[0]), [
    "user",
    "nss",
    "shadow",
    "pam",
    "config",
    "tls",
    "sandbox",
    "server",
    "entity",
    "member",
  ]);
  const unknown = await run({ name: "alice", facts: () => Promise.resolve(facts({ passwd: { status: 2 } })) });
  assert.equal(unknown.exit, 10);
  const bare = await run({
    name: "alice",
    facts: () => Promise.reject(new FactsError("no host facts on stdin (a terminal)")),
  });
  assert.match(bare.printed[0], /^host: WARN no host facts on stdin \(a terminal\): the installed netauth-pam-helper/);
  assert.equal(bare.exit, 0);
  const other = await run({ name: "alice", facts: () => Promise.resolve(facts({ user: "bob" })) });
  assert.equal(other.printed[0], 'host: WARN the launcher looked up "bob", not alice: skipped');
});
