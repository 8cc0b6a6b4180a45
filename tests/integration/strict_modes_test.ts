// Strict modes under the shipped sandbox: a config, certificate or directory that someone other
// than root could change is refused at login (3) and by --check; install.sh --print-flags, which
// reads everything, also refuses what the sandbox cannot see (directories above the grant).
import assert from "node:assert/strict";
import { it, startScripted } from "../../testkit/fixture.ts";
import { SECRETS } from "../../testkit/fake_netauth.ts";
import { configToml, decisionLine, makeConfDir, printFlags, runHelper } from "../../testkit/run_helper.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const { pki, server } = await startScripted();
const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const RULE = "what the helper trusts, and every directory above it, must be owned by root and writable by no one else";

/** A fresh config directory and the sandbox install.sh printed for it while it was sound. */
async function installed(fn: (dir: string, flags: string[]) => Promise<void>) {
  const dir = await makeConfDir(configToml(server.port), pki.caPem);
  try {
    await fn(dir, await printFlags(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A login for alice, and --check, both under `flags`; the server must never hear of the login. */
async function loginAndCheck(dir: string, flags: string[]) {
  const before = server.received.length;
  const login = await runHelper({
    confDir: dir,
    flags,
    env: { PAM_TYPE: "auth", PAM_USER: "alice", PAM_SERVICE: "sshd" },
    stdin: SECRETS.alice,
    secret: SECRETS.alice,
  });
  assert.equal(server.received.length, before, "the login reached the server");
  assert.equal(login.stderr.trim().split("\n").length, 1, login.stderr);
  const check = await runHelper({ confDir: dir, flags, args: ["--check"] });
  return { login, check };
}

async function printFlagsRun(confDir: string) {
  const out = await new Deno.Command(`${ROOT}install.sh`, { args: ["--print-flags", "--conf-dir", confDir] }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

it("a config writable by others (chmod 666): login 3 naming path, owner and mode; --check fails", async () => {
  await installed(async (dir, flags) => {
    await Deno.chmod(`${dir}/config.toml`, 0o666);
    const { login, check } = await loginAndCheck(dir, flags);
    assert.equal(login.code, 3);
    const problem =
      `unsafe permissions: ${dir}/config.toml is writable by group or others (owner uid 0, mode 666): ${RULE}`;
    assert.match(
      decisionLine(login),
      new RegExp(`^level=error msg="${esc(`config ${dir}/config.toml: ${problem}`)}" entity=alice .*exit=3 ms=\\d+$`),
    );
    assert.equal(check.code, 3);
    assert.equal(check.stdout, `config: FAIL config ${dir}/config.toml: ${problem}\n`);
  });
});

it("a certificate owned by a user (chown 65534): login 3, --check fails at tls", async () => {
  await installed(async (dir, flags) => {
    await Deno.chown(`${dir}/keys/tls.pem`, 65534, 65534);
    const { login, check } = await loginAndCheck(dir, flags);
    assert.equal(login.code, 3);
    const problem = `config ${dir}/config.toml: tls.certificate: unsafe permissions: ` +
      `${dir}/keys/tls.pem is not owned by root (owner uid 65534, mode 644): ${RULE}`;
    assert.match(decisionLine(login), new RegExp(`^level=error msg="${esc(problem)}" .*exit=3`));
    assert.equal(check.code, 3);
    assert.match(check.stdout, new RegExp(`^tls: FAIL ${esc(problem)}$`, "m"));
  });
});

it("a config directory anyone can write (chmod 777): login 3, --check fails", async () => {
  await installed(async (dir, flags) => {
    await Deno.chmod(dir, 0o777);
    const { login, check } = await loginAndCheck(dir, flags);
    assert.equal(login.code, 3);
    const problem = `config ${dir}/config.toml: unsafe permissions: ${dir} is writable by group or others ` +
      `(owner uid 0, mode 777): ${RULE}`;
    assert.match(decisionLine(login), new RegExp(`^level=error msg="${esc(problem)}" .*exit=3`));
    assert.equal(check.code, 3);
    assert.equal(check.stdout, `config: FAIL ${problem}\n`);
  });
});

it("install.sh --print-flags reads everything: a group-writable directory above the grant is refused", async () => {
  const parent = await Deno.makeTempDir({ prefix: "netauth-parent-" });
  try {
    const dir = `${parent}/conf`;
    await Deno.rename(await makeConfDir(configToml(server.port), pki.caPem), dir);
    assert.equal((await printFlagsRun(dir)).code, 0);
    await Deno.chmod(parent, 0o775);
    const refused = await printFlagsRun(dir);
    assert.equal(refused.code, 3);
    assert.equal(refused.stdout, "");
    assert.equal(
      refused.stderr,
      `print-flags: config ${dir}/config.toml: unsafe permissions: ${parent} is writable by group or others (owner uid 0, mode 775): ${RULE}\n`,
    );
    await Deno.chmod(parent, 0o755);
    await Deno.chown(`${dir}/keys/tls.pem`, 65534, 65534);
    const cert = await printFlagsRun(dir);
    assert.equal(cert.code, 3);
    assert.match(
      cert.stderr,
      /^print-flags: config .*: tls.certificate: unsafe permissions: .*tls.pem is not owned by root/,
    );
    assert.equal(cert.stderr.split("\n").length, 2, cert.stderr);
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

it("--check warns, without failing, when other users cannot read the certificate (0600)", async () => {
  await installed(async (dir, flags) => {
    await Deno.chmod(`${dir}/keys/tls.pem`, 0o600);
    const check = await runHelper({ confDir: dir, flags, args: ["--check"] });
    assert.equal(check.code, 0, check.stdout);
    const lines = check.stdout.trim().split("\n");
    assert.equal(lines.length, 5, check.stdout);
    assert.match(lines[1], /^tls: ok /);
    assert.equal(
      lines[2],
      `tls: WARN ${dir}/keys/tls.pem is not readable by other users (mode 600): ` +
        "screen lockers run this helper as the user and will fail with exit 3",
    );
  });
});

it("a symlinked certificate is followed: fine when link and target are root's, refused when the target is not", async () => {
  await installed(async (dir, flags) => {
    const target = `${pki.dir}/linked-ca.pem`;
    await Deno.writeTextFile(target, pki.caPem);
    await Deno.remove(`${dir}/keys/tls.pem`);
    await Deno.symlink(target, `${dir}/keys/tls.pem`);
    const env = { PAM_TYPE: "auth", PAM_USER: "alice", PAM_SERVICE: "sshd" };
    const login = () => runHelper({ confDir: dir, flags, env, stdin: SECRETS.alice, secret: SECRETS.alice });
    const ok = await login();
    assert.equal(ok.code, 0, ok.stderr);
    // The target lies outside the sandbox's grant: it is judged through the link.
    await Deno.chown(target, 65534, 65534);
    const refused = await login();
    assert.equal(refused.code, 3);
    assert.match(
      decisionLine(refused),
      new RegExp(esc(`unsafe permissions: ${target} is not owned by root (owner uid 65534,`)),
    );
  });
});
