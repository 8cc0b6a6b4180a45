// Issue 16's reproductions, as root: a path reached through another user's symbolic link (a prefix, a
// cache directory), a dangling prefix, and PAM lines that --verify must read as PAM reads them.
import assert from "node:assert/strict";
import { startFakeNetAuth } from "../../testkit/fake_netauth.ts";
import { makePki } from "../../testkit/pki.ts";
import { configToml, makeConfDir, printFlags, runHelper } from "../../testkit/run_helper.ts";
import { needsRoot, testWhere } from "../../testkit/skip.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const NOBODY = 65534;
const asRoot = Deno.uid() === 0;
const pki = asRoot ? await makePki() : undefined;
const server = pki ? await startFakeNetAuth({ cert: pki.serverCert, key: pki.serverKey }) : undefined;
const confDir = server ? await makeConfDir(configToml(server.port), pki!.caPem) : "";
globalThis.addEventListener("unload", () => {
  server?.stop();
  for (const dir of [pki?.dir, confDir]) if (dir) Deno.removeSync(dir, { recursive: true });
});

const it = (name: string, fn: () => Promise<void>) =>
  testWhere(needsRoot("links made as nobody and a root-run install.sh need root"), {
    name,
    fn,
    sanitizeOps: false,
    sanitizeResources: false,
  });
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

async function install(...args: string[]): Promise<{ code: number; out: string }> {
  const res = await new Deno.Command(`${ROOT}install.sh`, { args, env: { DENORT_BIN: "/nonexistent/denort" } })
    .output();
  return { code: res.code, out: decode(res.stdout) + decode(res.stderr) };
}

/** `ln -s target link` run as nobody: the link is that user's, to swap whenever they like. */
async function userLink(target: string, link: string) {
  const res = await new Deno.Command("setpriv", {
    args: [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "ln", "-s", target, link],
  }).output();
  assert.equal(res.code, 0, decode(res.stderr));
  assert.equal(Deno.lstatSync(link).uid, NOBODY);
}

/** Unique names in /tmp (sticky, where the user made the link), removed afterwards. */
async function inTmp(fn: (tmp: (name: string) => string) => Promise<void>) {
  const tag = `netauth-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const tmp = (name: string) => `/tmp/${tag}-${name}`;
  try {
    await fn(tmp);
  } finally {
    for (const entry of Deno.readDirSync("/tmp")) {
      if (entry.name.startsWith(tag)) Deno.removeSync(`/tmp/${entry.name}`, { recursive: true });
    }
  }
}

const noStackTrace = (out: string) => assert.doesNotMatch(out, /Uncaught|^\s+at /m, out);

it("issue 16: a --prefix through another user's symbolic link is refused, naming the link and its owner", async () => {
  await inTmp(async (tmp) => {
    Deno.mkdirSync(tmp("realprefix"), { mode: 0o755 }); // root's, in sticky /tmp: fine by itself
    await userLink(tmp("realprefix"), tmp("evil-prefix"));
    try {
      const res = await install("--mode", "bundle", "--prefix", tmp("evil-prefix"), "--conf-dir", confDir);
      assert.notEqual(res.code, 0, res.out);
      assert.match(
        res.out,
        new RegExp(
          `unsafe --prefix ${tmp("evil-prefix")}: ${tmp("evil-prefix")} is a symbolic link and is not owned by root ` +
            `\\(owner uid ${NOBODY}, mode 777\\); `,
        ),
      );
      noStackTrace(res.out);
      assert.deepEqual([...Deno.readDirSync(tmp("realprefix"))], [], "nothing built or written");
    } finally {
      await install("--uninstall", "--prefix", tmp("realprefix"));
    }
  });
});

it("issue 16: a dangling --prefix link is one line and refused, no stack trace", async () => {
  await inTmp(async (tmp) => {
    await userLink(tmp("nowhere"), tmp("dangling"));
    const res = await install("--mode", "bundle", "--prefix", tmp("dangling"), "--conf-dir", confDir);
    assert.notEqual(res.code, 0, res.out);
    noStackTrace(res.out);
    assert.match(res.out, new RegExp(`unsafe --prefix ${tmp("dangling")}: ${tmp("dangling")} is a symbolic link`));
    assert.equal(Deno.lstatSync(tmp("dangling")).isSymlink, true);
  });
});

it("issue 16: a --cache-dir through a user's link: install refuses, --check reports it", async () => {
  await inTmp(async (tmp) => {
    Deno.mkdirSync(tmp("cacheroot/cache"), { recursive: true, mode: 0o755 });
    Deno.chmodSync(tmp("cacheroot/cache"), 0o700);
    await userLink(tmp("cacheroot"), tmp("ulink"));
    const cacheDir = `${tmp("ulink")}/cache`;
    const prefix = tmp("prefix");
    Deno.mkdirSync(prefix, { mode: 0o755 });
    try {
      const res = await install("--mode", "bundle", "--prefix", prefix, "--conf-dir", confDir, "--cache-dir", cacheDir);
      assert.notEqual(res.code, 0, res.out);
      assert.match(
        res.out,
        new RegExp(
          `unsafe --cache-dir ${cacheDir}: ${tmp("ulink")} is a symbolic link and is not owned by root ` +
            `\\(owner uid ${NOBODY}, mode 777\\); `,
        ),
      );
      assert.deepEqual([...Deno.readDirSync(prefix)], [], "nothing built or written");
    } finally {
      await install("--uninstall", "--prefix", prefix);
    }

    // --check in the helper's sandbox, which cannot see who owns the link: it refuses what it cannot see.
    const check = await runHelper({
      confDir,
      flags: await printFlags(confDir, cacheDir),
      args: ["--check", "--cache-dir", cacheDir],
    });
    assert.match(
      check.stdout,
      new RegExp(
        `^cache: WARN ${cacheDir} is reached through a symbolic link \\(its real path is ${tmp("cacheroot")}/cache\\)`,
        "m",
      ),
      check.stdout + check.stderr,
    );
  });
});

it("issue 16: --verify reads PAM files as PAM does, and walks links above the install", async () => {
  const destdir = await Deno.makeTempDir({ prefix: "netauth-destdir-" });
  try {
    const res = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir);
    assert.equal(res.code, 0, res.out);
    const pamDir = `${destdir}/etc/pam.d`;
    Deno.mkdirSync(pamDir, { recursive: true });
    Deno.mkdirSync(`${destdir}/srv/pam`, { recursive: true });
    const helper = "/usr/local/sbin/netauth-pam-helper";
    const write = (path: string, text: string) => Deno.writeTextFileSync(`${destdir}${path}`, `${text}\n`);
    write("/etc/pam.d/caps", `AUTH required pam_exec.so quiet ${helper}`);
    write("/etc/pam.d/brackets", `auth required pam_exec.so quiet [${helper}]`);
    write("/etc/pam.d/slashes", `account required pam_exec.so quiet seteuid /usr/local//sbin/./netauth-pam-helper`);
    write("/etc/pam.d/includes", "auth include /etc/netauth-extra");
    write("/etc/netauth-extra", `auth required pam_exec.so quiet seteuid ${helper}`);
    write("/srv/pam/linked", `session optional pam_exec.so quiet Seteuid ${helper}`);
    Deno.symlinkSync("../../srv/pam/linked", `${pamDir}/linked`);
    write("/srv/pam/users", "");
    Deno.chownSync(`${destdir}/srv/pam/users`, NOBODY, NOBODY);
    Deno.symlinkSync("../../srv/pam/users", `${pamDir}/users`);
    // /usr/local moved aside and reached through nobody's link: whoever owns it can swap sbin/.
    Deno.renameSync(`${destdir}/usr/local`, `${destdir}/usr/real-local`);
    Deno.symlinkSync("real-local", `${destdir}/usr/local`);
    assert.equal(
      (await new Deno.Command("chown", { args: ["-h", `${NOBODY}:${NOBODY}`, `${destdir}/usr/local`] }).output()).code,
      0,
    );

    const verify = await install("--verify", "--destdir", destdir);
    assert.equal(verify.code, 1, verify.out);
    noStackTrace(verify.out);
    const drift = verify.out.split("\n").filter((line) => line.startsWith("DRIFT"));
    assert.deepEqual(drift, [
      `DRIFT above /usr/local: is a symbolic link and is not owned by root (owner uid ${NOBODY}, mode 777)`,
      `DRIFT pam ${pamDir}/users: symbolic link: /srv/pam/users is not owned by root (owner uid ${NOBODY}, mode 644)`,
      `DRIFT pam ${pamDir}/brackets:1 auth: lacks expose_authtok (README, "PAM")`,
      `DRIFT pam ${pamDir}/caps:1 auth: lacks expose_authtok (README, "PAM")`,
      `DRIFT pam ${destdir}/etc/netauth-extra:1 auth: lacks expose_authtok; carries seteuid (README, "PAM")`,
      `DRIFT pam ${pamDir}/linked:1 session: carries seteuid (README, "PAM")`,
      `DRIFT pam ${pamDir}/slashes:1 account: carries seteuid (README, "PAM")`,
    ]);
    assert.match(
      verify.out,
      new RegExp(`^ok pam ${pamDir}/linked: symbolic link to /srv/pam/linked \\(owner uid 0`, "m"),
    );
  } finally {
    Deno.removeSync(destdir, { recursive: true });
  }
});
