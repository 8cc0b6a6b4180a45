// install.sh as an admin or a packager runs it, staged with --destdir against a scripted server.
import assert from "node:assert/strict";
import { SECRETS, startFakeNetAuth } from "../../testkit/fake_netauth.ts";
import { makePki } from "../../testkit/pki.ts";
import { configToml, denoDir, makeConfDir, printFlags } from "../../testkit/run_helper.ts";
import { sha256Hex } from "../../src/digest.ts";
import { VERSION } from "../../src/version.ts";
import { needsRoot, testWhere } from "../../testkit/skip.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const pki = await makePki();
const server = await startFakeNetAuth({ cert: pki.serverCert, key: pki.serverKey });
const confDir = await makeConfDir(configToml(server.port), pki.caPem);
globalThis.addEventListener("unload", () => {
  server.stop();
  for (const dir of [pki.dir, confDir]) Deno.removeSync(dir, { recursive: true });
});

const it = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

async function install(...words: (string | Record<string, string>)[]): Promise<{ code: number; out: string }> {
  const args = words.filter((w) => typeof w === "string");
  const env = Object.assign({ DENORT_BIN: "/nonexistent/denort" }, ...words.filter((w) => typeof w !== "string"));
  const res = await new Deno.Command(`${ROOT}install.sh`, { args, env }).output();
  return { code: res.code, out: new TextDecoder().decode(res.stdout) + new TextDecoder().decode(res.stderr) };
}

/** Every file below `dir`, relative, sorted. */
function tree(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(`${dir}/${prefix}`)) {
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory) out.push(...tree(dir, `${rel}/`));
    else out.push(rel);
  }
  return out.sort();
}

async function withDestdir(fn: (destdir: string) => Promise<void>) {
  const destdir = await Deno.makeTempDir({ prefix: "netauth-destdir-" });
  try {
    await fn(destdir);
  } finally {
    await Deno.remove(destdir, { recursive: true });
  }
}

const LIB = "/usr/local/lib/netauth-pam-helper";
const RUNTIME = `${LIB}/runtime`;

/**
 * The installed helper's sandbox for a cache-less install: `--print-flags`, plus reading the install directory, and
 * reading and writing the runtime's TMPDIR, where the outage record lives.
 */
async function installedFlags(confDir: string): Promise<string[]> {
  return (await printFlags(confDir)).flatMap((f) =>
    f.startsWith("--allow-read=") ? [`${f},${LIB},${RUNTIME}/tmp`, `--allow-write=${RUNTIME}/tmp`] : [f]
  );
}

it("bundle install: verified, launcher with the sandbox flags, runtime dirs root's, second run changes nothing", async () => {
  await withDestdir(async (destdir) => {
    const refused = await install(
      "--mode",
      "bundle",
      "--destdir",
      destdir,
      "--conf-dir",
      confDir,
      "--login-slots",
      "0",
    );
    assert.notEqual(refused.code, 0, refused.out);
    assert.match(refused.out, /--login-slots expects a whole number from 1 to 1024, got "0"/);
    const first = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir, "--login-slots", "3");
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /^verified: the staged helper prints its version, fails closed/m);
    // The bundle's entry, and its chunks beside it: gRPC, the cache and --audit's artefact check load on demand.
    const files = tree(destdir);
    const chunks = files.filter((f) => /^usr\/local\/lib\/netauth-pam-helper\/[a-z_]+-[0-9a-f]{12}\.js$/.test(f));
    assert.deepEqual(files.filter((f) => !chunks.includes(f)), [
      "etc/logrotate.d/netauth-pam-helper",
      "usr/local/lib/netauth-pam-helper/deno",
      "usr/local/lib/netauth-pam-helper/installed-files",
      "usr/local/lib/netauth-pam-helper/manifest.json",
      "usr/local/lib/netauth-pam-helper/netauth-pam-helper.js",
      "usr/local/sbin/netauth-pam-helper",
      "usr/local/share/man/man8/netauth-pam-helper.8",
      "var/log/netauth-pam-helper.log",
    ]);
    assert.equal(
      Deno.readTextFileSync(`${destdir}/usr/local/share/man/man8/netauth-pam-helper.8`),
      Deno.readTextFileSync(new URL("../../man/netauth-pam-helper.8", import.meta.url)),
    );
    for (const name of ["grpc_client", "open", "artefact"]) {
      assert.ok(chunks.some((f) => f.includes(`/${name}-`)), `no ${name} chunk in ${chunks}`);
    }
    const launcher = `${destdir}/usr/local/sbin/netauth-pam-helper`;
    const info = Deno.statSync(launcher);
    assert.equal(info.mode! & 0o777, 0o755);
    assert.equal(info.uid, 0);
    const text = Deno.readTextFileSync(launcher);
    assert.match(text, /^#!\/bin\/sh -p\n/);
    assert.match(text, /^# Admission control: at most 3 helpers at once \(--login-slots\);/m);
    assert.match(text, new RegExp(` -w /bin/sh -c "\\$admission" netauth-admission 3 ${RUNTIME}/slots `));
    const flags = await installedFlags(confDir);
    assert.ok(text.includes(flags.join(" ")), text);
    assert.match(text, new RegExp(`env -i HOME=${RUNTIME}/home DENO_DIR=${RUNTIME}/deno TMPDIR=${RUNTIME}/tmp `));
    // The launcher runs the root-owned copy of the deno that built and verified the bundle.
    assert.match(text, new RegExp(` ${LIB}/deno run --quiet --no-config `));
    assert.equal(
      await sha256Hex(Deno.readFileSync(`${destdir}${LIB}/deno`)),
      await sha256Hex(Deno.readFileSync(Deno.execPath())),
      "the installed deno is not the one that built the bundle",
    );
    assert.equal(Deno.statSync(`${destdir}${LIB}/deno`).mode! & 0o7777, 0o755);
    assert.match(
      text,
      new RegExp(
        `lib/netauth-pam-helper/netauth-pam-helper.js --config ${confDir}/config.toml --runtime-dir ${RUNTIME} "\\$@"`,
      ),
    );
    for (const dir of ["", "/home", "/deno", "/tmp"]) {
      const dirInfo = Deno.statSync(`${destdir}${RUNTIME}${dir}`);
      assert.ok(dirInfo.isDirectory && dirInfo.uid === 0 && (dirInfo.mode! & 0o777) === 0o755, `${RUNTIME}${dir}`);
    }
    assert.match(
      Deno.readTextFileSync(`${destdir}/usr/local/lib/netauth-pam-helper/installed-files`),
      new RegExp(`^${destdir}${RUNTIME}$`, "m"),
    );
    assert.match(
      first.out,
      /pam_exec.so expose_authtok quiet log=\/var\/log\/netauth-pam-helper.log \/usr\/local\/sbin\/netauth-pam-helper/,
    );
    const second = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir, "--login-slots", "3");
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /nothing changed: netauth-pam-helper is up to date/);
    assert.doesNotMatch(second.out, /^installed:/m);
  });
});

it("a re-install removes the chunks of the earlier build: the install holds exactly one bundle", async () => {
  await withDestdir(async (destdir) => {
    assert.equal((await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir)).code, 0);
    const lib = `${destdir}${LIB}`;
    const stale = `${lib}/grpc_client-000000000000.js`; // as an earlier build's chunk would be named
    Deno.writeTextFileSync(stale, "export {};\n");
    Deno.writeTextFileSync(`${lib}/installed-files`, `${stale}\n`, { append: true });
    const again = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir);
    assert.equal(again.code, 0, again.out);
    assert.throws(() => Deno.statSync(stale), Deno.errors.NotFound);
    assert.doesNotMatch(Deno.readTextFileSync(`${lib}/installed-files`), /000000000000/);
    assert.doesNotMatch(Deno.readTextFileSync(`${lib}/manifest.json`), /000000000000/);
  });
});

it("a runtime directory someone else could write is made afresh, root's", async () => {
  await withDestdir(async (destdir) => {
    assert.equal((await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir)).code, 0);
    const denoDir = `${destdir}${RUNTIME}/deno`;
    Deno.writeTextFileSync(`${denoDir}/v8_code_cache_v2`, "planted");
    Deno.chmodSync(denoDir, 0o777);
    const again = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /^runtime directory: .*\/runtime\/\{home,deno,tmp\} \(root-owned, mode 0755\)$/m);
    assert.equal(Deno.statSync(denoDir).mode! & 0o777, 0o755);
    assert.throws(() => Deno.statSync(`${denoDir}/v8_code_cache_v2`), Deno.errors.NotFound);
  });
});

it("a V8 code cache an install does not seal (here --destdir) is removed: no login reads an unverified one", async () => {
  await withDestdir(async (destdir) => {
    assert.equal((await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir)).code, 0);
    const denoDir = `${destdir}${RUNTIME}/deno`;
    for (const name of ["v8_code_cache_v2", "v8_code_cache_v2-wal"]) {
      Deno.writeTextFileSync(`${denoDir}/${name}`, "old");
    }
    const again = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir);
    assert.equal(again.code, 0, again.out);
    assert.match(
      again.out,
      /^removed: .*\/runtime\/deno\/v8_code_cache_v2 \(this install seals none: compile mode, --destdir or not root\)$/m,
    );
    assert.deepEqual([...Deno.readDirSync(denoDir)].filter((e) => e.name.startsWith("v8_code_cache")), []);
  });
});

it("DENORT_BIN pointing at deno itself: the build is refused, nothing is installed, DENORT_BIN is named", async () => {
  await withDestdir(async (destdir) => {
    const res = await install("--destdir", destdir, "--conf-dir", confDir, { DENORT_BIN: Deno.execPath() });
    assert.notEqual(res.code, 0, res.out);
    assert.match(res.out, /^verify: --version printed .*, not "netauth-pam-helper \d/m);
    assert.match(
      res.out,
      new RegExp(
        `the helper built with DENORT_BIN=${Deno.execPath()} is not netauth-pam-helper .*Nothing was installed`,
      ),
    );
    assert.deepEqual(tree(destdir), []);
  });
});

it("--dry-run is a preview: no server, no build (compile mode offline), every action listed, nothing written", async () => {
  await withDestdir(async (destdir) => {
    server.pause();
    let dry;
    try {
      dry = await install("--destdir", destdir, "--conf-dir", confDir, "--dry-run", "--pam", "--cache-dir", "/var/c");
    } finally {
      server.resume();
    }
    assert.equal(dry.code, 0, dry.out);
    assert.deepEqual(tree(destdir), []);
    assert.match(dry.out, /^check: server: FAIL /m);
    assert.match(dry.out, /^dry run: a real install would stop here: --check failed: /m);
    assert.match(
      dry.out,
      /^would build: deno compile --no-code-cache .*runtime from DENORT_BIN=\/nonexistent\/denort$/m,
    );
    assert.match(dry.out, /^dry run: a real install would stop here: DENORT_BIN=\/nonexistent\/denort: no such file/m);
    assert.doesNotMatch(dry.out, /^(verified|installed|building)/m);
    const lib = `${destdir}${LIB}`;
    assert.deepEqual(dry.out.split("\n").filter((line) => /^would (install|create|write|run)/.test(line)), [
      `would install: ${lib}/netauth-pam-helper (mode 0755)`,
      `would install: ${destdir}/usr/local/sbin/netauth-pam-helper (mode 0755, the launcher PAM runs)`,
      `would create: ${lib}/runtime/{home,deno,tmp} (root-owned, mode 0755)`,
      `would run: mkdir -p ${destdir}/var/c`,
      `would run: chmod 0700 ${destdir}/var/c`,
      `would create: ${destdir}/var/log/netauth-pam-helper.log (root:adm, mode 0640)`,
      `would install: ${destdir}/etc/logrotate.d/netauth-pam-helper (mode 0644)`,
      `would install: ${destdir}/usr/local/share/man/man8/netauth-pam-helper.8 (mode 0644)`,
      `would install: ${destdir}/usr/share/pam-configs/netauth (mode 0644)`,
      `would write: ${lib}/manifest.json`,
      `would write: ${lib}/installed-files`,
    ]);
    assert.match(dry.out, /^dry run: nothing changed$/m);
  });
});

it("--dry-run without a config says so in a line and still lists the actions", async () => {
  await withDestdir(async (destdir) => {
    const dry = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", `${destdir}/none`, "--dry-run");
    assert.equal(dry.code, 0, dry.out);
    assert.match(dry.out, new RegExp(`^check: FAIL no ${destdir}/none/config.toml$`, "m"));
    assert.match(dry.out, new RegExp(`^would install: ${destdir}${LIB}/deno \\(mode 0755\\)$`, "m"));
    assert.match(dry.out, /^PAM lines to add/m);
    assert.deepEqual(tree(destdir), []);
  });
});

it("--uninstall removes exactly what was installed, and keeps the login log", async () => {
  await withDestdir(async (destdir) => {
    assert.equal((await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir, "--pam")).code, 0);
    assert.ok(tree(destdir).includes("usr/share/pam-configs/netauth"));
    const keep = `${destdir}/usr/local/sbin/other-tool`;
    await Deno.writeTextFile(keep, "not ours");
    const gone = await install("--uninstall", "--destdir", destdir);
    assert.equal(gone.code, 0, gone.out);
    assert.match(gone.out, /^kept: .*\/var\/log\/netauth-pam-helper.log \(the login log; remove it by hand/m);
    assert.deepEqual(tree(destdir), ["usr/local/sbin/other-tool", "var/log/netauth-pam-helper.log"]);
  });
});

it("without --pam no PAM file is touched; with --pam --destdir the Debian profile is staged, not enabled", async () => {
  await withDestdir(async (destdir) => {
    const plain = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir);
    assert.ok(!tree(destdir).some((f) => f.includes("pam.d") || f.includes("pam-configs")), tree(destdir).join());
    assert.match(plain.out, /^PAM lines to add/m);
    const pam = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir, "--pam");
    assert.match(
      pam.out,
      /staged the pam-auth-update profile; enable it on the host with: pam-auth-update --enable netauth/,
    );
    // The profile carries the lines: printing them as well would invite a second copy in common-auth.
    assert.doesNotMatch(pam.out, /PAM lines to add/);
    const profile = Deno.readTextFileSync(`${destdir}/usr/share/pam-configs/netauth`);
    assert.match(
      profile,
      /pam_exec.so expose_authtok quiet log=\/var\/log\/netauth-pam-helper.log \/usr\/local\/sbin\/netauth-pam-helper/,
    );
  });
});

it("refuses without a config, and when --check fails unless --force", async () => {
  await withDestdir(async (destdir) => {
    const noConfig = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", `${destdir}/nothing`);
    assert.notEqual(noConfig.code, 0);
    assert.match(noConfig.out, /no .*\/nothing\/config.toml: write NetAuth's client config first/);
    server.pause();
    try {
      const down = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir);
      assert.notEqual(down.code, 0);
      assert.match(down.out, /check: server: FAIL/);
      assert.match(down.out, /--check failed: fix the config or the server first, or pass --force/);
      assert.deepEqual(tree(destdir), []);
      const forced = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir, "--force");
      assert.equal(forced.code, 0, forced.out);
    } finally {
      server.resume();
    }
  });
});

it("compile mode without denort: offline, a wrong DENORT_BIN path and a non-executable one each say so", async () => {
  await withDestdir(async (destdir) => {
    await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir);
    const before = tree(destdir).map((f) => Deno.readFileSync(`${destdir}/${f}`));
    const source = `the denort of deno ${Deno.version.deno} for ${Deno.build.target} is in the Deno release archive ` +
      `denort-${Deno.build.target}.zip`;
    // No DENORT_BIN: deno compile tries the download, which this host cannot reach.
    const offline = await new Deno.Command("env", {
      args: ["-u", "DENORT_BIN", `${ROOT}install.sh`, "--destdir", destdir, "--conf-dir", confDir],
    }).output();
    const offlineOut = new TextDecoder().decode(offline.stderr);
    assert.notEqual(offline.code, 0);
    assert.ok(
      offlineOut.includes(`deno compile could not download its denort runtime (offline?): ${source}`),
      offlineOut,
    );
    assert.match(offlineOut, /unzip it and set DENORT_BIN=\/path\/to\/denort, or use --mode bundle$/m);

    const missing = await install("--destdir", destdir, "--conf-dir", confDir, { DENORT_BIN: `${destdir}/denort` });
    assert.notEqual(missing.code, 0);
    assert.ok(
      missing.out.includes(
        `DENORT_BIN=${destdir}/denort: no such file (a wrong path, not a network problem); ${source}`,
      ),
      missing.out,
    );
    const notExec = `${destdir}/denort-not-exec`;
    Deno.writeTextFileSync(notExec, "");
    const plain = await install("--destdir", destdir, "--conf-dir", confDir, { DENORT_BIN: notExec });
    assert.notEqual(plain.code, 0);
    assert.match(plain.out, new RegExp(`DENORT_BIN=${notExec} is not executable \\(chmod 0755 it\\)`));
    Deno.removeSync(notExec);
    assert.deepEqual(tree(destdir).map((f) => Deno.readFileSync(`${destdir}/${f}`)), before);
  });
});

it("a pam-configs/netauth install.sh did not write, or changed since: refused without --force, kept by --uninstall", async () => {
  await withDestdir(async (destdir) => {
    const profile = `${destdir}/usr/share/pam-configs/netauth`;
    Deno.mkdirSync(`${destdir}/usr/share/pam-configs`, { recursive: true });
    Deno.writeTextFileSync(profile, "Name: a site's own netauth profile\n");
    const refused = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir, "--pam");
    assert.notEqual(refused.code, 0);
    assert.match(refused.out, new RegExp(`${profile} exists and install.sh did not write it for this install`));
    assert.deepEqual(tree(destdir), ["usr/share/pam-configs/netauth"]);

    const forced = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir, "--pam", "--force");
    assert.equal(forced.code, 0, forced.out);
    const backup = `${destdir}${LIB}/pam-configs-netauth.orig`;
    assert.equal(Deno.readTextFileSync(backup), "Name: a site's own netauth profile\n");
    assert.match(Deno.readTextFileSync(profile), /pam_exec.so/);
    // Ours now: a second run neither refuses nor overwrites the backup.
    const again = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir, "--pam");
    assert.equal(again.code, 0, again.out);
    assert.equal(Deno.readTextFileSync(backup), "Name: a site's own netauth profile\n");
    // Changed by someone since: someone else's again, so not overwritten without --force.
    Deno.writeTextFileSync(profile, "Name: edited by hand\n");
    const edited = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir, "--pam");
    assert.notEqual(edited.code, 0);
    assert.match(edited.out, new RegExp(`${profile} exists and install.sh did not write it for this install`));
    assert.equal(Deno.readTextFileSync(profile), "Name: edited by hand\n");
    // --uninstall keeps the edited one, and the original's backup, rather than choose between them.
    const keeps = await install("--uninstall", "--destdir", destdir);
    assert.equal(keeps.code, 0, keeps.out);
    assert.match(keeps.out, new RegExp(`^kept: ${profile} \\(changed since install.sh wrote it`, "m"));
    assert.equal(Deno.readTextFileSync(profile), "Name: edited by hand\n");
    assert.equal(Deno.readTextFileSync(backup), "Name: a site's own netauth profile\n");
    Deno.removeSync(backup);
  });
});

it("--uninstall puts back the pam-configs/netauth it found, when ours is unchanged", async () => {
  await withDestdir(async (destdir) => {
    const profile = `${destdir}/usr/share/pam-configs/netauth`;
    Deno.mkdirSync(`${destdir}/usr/share/pam-configs`, { recursive: true });
    Deno.writeTextFileSync(profile, "Name: a site's own netauth profile\n");
    const forced = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir, "--pam", "--force");
    assert.equal(forced.code, 0, forced.out);
    const gone = await install("--uninstall", "--destdir", destdir);
    assert.equal(gone.code, 0, gone.out);
    assert.match(gone.out, new RegExp(`^restored: ${profile} \\(the one install.sh found there`, "m"));
    assert.equal(Deno.readTextFileSync(profile), "Name: a site's own netauth profile\n");
    assert.deepEqual(tree(destdir), ["usr/share/pam-configs/netauth", "var/log/netauth-pam-helper.log"]);
  });
});

it("the log file the PAM lines name: root's, 0640, group adm, rotated; a symbolic link there is refused", async () => {
  await withDestdir(async (destdir) => {
    const log = `${destdir}/var/log/netauth-pam-helper.log`;
    Deno.mkdirSync(`${destdir}/var/log`, { recursive: true });
    Deno.symlinkSync("/etc/shadow", log);
    const refused = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir);
    assert.notEqual(refused.code, 0);
    assert.match(refused.out, new RegExp(`${log} is not a regular file \\(a symbolic link\\?\\): remove it`));
    assert.ok(!tree(destdir).some((f) => f.startsWith("usr/")), tree(destdir).join());
    Deno.removeSync(log);

    Deno.writeTextFileSync(log, "*** earlier lines\n");
    Deno.chmodSync(log, 0o666);
    const res = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir);
    assert.equal(res.code, 0, res.out);
    assert.match(res.out, new RegExp(`^log file: ${log} \\(root:adm, mode 0640; --uninstall keeps it\\)$`, "m"));
    const info = Deno.statSync(log);
    assert.deepEqual([info.uid, info.gid, info.mode! & 0o7777], [0, 4, 0o640]); // adm is gid 4 on Debian
    assert.equal(Deno.readTextFileSync(log), "*** earlier lines\n", "the existing log was not kept");
    const rotate = Deno.readTextFileSync(`${destdir}/etc/logrotate.d/netauth-pam-helper`);
    assert.match(rotate, /^\/var\/log\/netauth-pam-helper.log \{$/m);
    assert.match(rotate, /^\tcreate 0640 root adm$/m);
    const manifest = JSON.parse(Deno.readTextFileSync(`${destdir}${LIB}/manifest.json`));
    assert.deepEqual(manifest.log, { path: "/var/log/netauth-pam-helper.log", uid: 0, gid: 4, mode: "0640" });
  });
});

it("issue 26: another prefix's logrotate snippet and unit are refused without --force, naming them", async () => {
  await withDestdir(async (destdir) => {
    const a = await install(
      "--mode",
      "bundle",
      "--destdir",
      destdir,
      "--prefix",
      "/opt/a",
      "--conf-dir",
      confDir,
      "--broker",
    );
    assert.equal(a.code, 0, a.out);
    const before = tree(destdir);
    const snippet = `${destdir}/etc/logrotate.d/netauth-pam-helper`;
    const unit = `${destdir}/etc/systemd/system/netauth-pam-helper.service`;
    const unitA = Deno.readTextFileSync(unit);
    const b = await install(
      "--mode",
      "bundle",
      "--destdir",
      destdir,
      "--prefix",
      "/opt/b",
      "--conf-dir",
      confDir,
      "--broker",
    );
    assert.notEqual(b.code, 0, b.out);
    assert.match(
      b.out,
      new RegExp(
        `^install\\.sh: ${snippet} exists and install\\.sh did not write it for this install \\(another install\\.sh ` +
          `--prefix's, or the admin's\\): pass --force to replace it \\(it is kept in ${destdir}/opt/b/lib/` +
          `netauth-pam-helper/logrotate\\.d-netauth-pam-helper\\.orig and --uninstall puts it back\\)$`,
        "m",
      ),
    );
    assert.deepEqual(tree(destdir), before, "nothing of /opt/b written, nothing of /opt/a changed");
    // Without the snippet in the way, the unit is refused the same way.
    Deno.renameSync(snippet, `${snippet}.away`);
    const unitOnly = await install(
      "--mode",
      "bundle",
      "--destdir",
      destdir,
      "--prefix",
      "/opt/b",
      "--conf-dir",
      confDir,
      "--broker",
    );
    assert.notEqual(unitOnly.code, 0, unitOnly.out);
    assert.match(unitOnly.out, new RegExp(`^install\\.sh: ${unit} exists and install\\.sh did not write it`, "m"));
    assert.equal(Deno.readTextFileSync(unit), unitA);
    Deno.renameSync(`${snippet}.away`, snippet);

    // --force: /opt/b replaces both, keeping /opt/a's for its --uninstall to put back.
    const forced = await install(
      "--mode",
      "bundle",
      "--destdir",
      destdir,
      "--prefix",
      "/opt/b",
      "--conf-dir",
      confDir,
      "--broker",
      "--force",
    );
    assert.equal(forced.code, 0, forced.out);
    const libB = `${destdir}/opt/b/lib/netauth-pam-helper`;
    assert.match(
      forced.out,
      new RegExp(
        `^kept the ${unit} install\\.sh did not write as ${libB}/system-netauth-pam-helper\\.service\\.orig`,
        "m",
      ),
    );
    assert.match(Deno.readTextFileSync(unit), /^ExecStart=\/opt\/b\/sbin\/netauth-pam-helper --serve$/m);
    assert.equal(Deno.readTextFileSync(`${libB}/system-netauth-pam-helper.service.orig`), unitA);
    assert.ok(Deno.statSync(`${libB}/logrotate.d-netauth-pam-helper.orig`).isFile, "the identical snippet is kept too");
    const goneB = await install("--uninstall", "--destdir", destdir, "--prefix", "/opt/b");
    assert.equal(goneB.code, 0, goneB.out);
    assert.match(goneB.out, new RegExp(`^restored: ${unit} \\(the one install\\.sh found there\\)$`, "m"));
    assert.equal(Deno.readTextFileSync(unit), unitA);
    assert.ok(!tree(destdir).some((f) => f.startsWith("opt/b/")), tree(destdir).join());

    // A host-wide file changed since /opt/a wrote it is someone's work: --uninstall keeps it.
    const man = `${destdir}/opt/a/share/man/man8/netauth-pam-helper.8`;
    Deno.writeTextFileSync(man, ".TH a site's own page\n");
    const goneA = await install("--uninstall", "--destdir", destdir, "--prefix", "/opt/a");
    assert.equal(goneA.code, 0, goneA.out);
    assert.match(goneA.out, new RegExp(`^kept: ${man} \\(changed since install\\.sh wrote it; `, "m"));
    assert.deepEqual(tree(destdir), ["opt/a/share/man/man8/netauth-pam-helper.8", "var/log/netauth-pam-helper.log"]);
  });
});

it("issue 26: a file the Debian package lists is refused even with --force; --uninstall leaves it", async () => {
  await withDestdir(async (destdir) => {
    const snippet = `${destdir}/etc/logrotate.d/netauth-pam-helper`;
    Deno.mkdirSync(`${destdir}/etc/logrotate.d`, { recursive: true });
    Deno.writeTextFileSync(snippet, "# the package's conffile\n");
    Deno.mkdirSync(`${destdir}/var/lib/dpkg/info`, { recursive: true });
    const list = `${destdir}/var/lib/dpkg/info/netauth-pam-helper.list`;
    Deno.writeTextFileSync(list, "/etc/logrotate.d/netauth-pam-helper\n");
    const before = tree(destdir);
    for (const force of [[], ["--force"]]) {
      const res = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir, ...force);
      assert.notEqual(res.code, 0, res.out);
      assert.match(
        res.out,
        new RegExp(
          `^install\\.sh: ${snippet} is the Debian package netauth-pam-helper's \\(dpkg lists it\\): install\\.sh ` +
            "replaces no package's file, not even with --force; use the package, or remove it first " +
            "\\(apt-get purge netauth-pam-helper\\)$",
          "m",
        ),
      );
      assert.deepEqual(tree(destdir), before);
    }
    // An install made before the package came: --uninstall does not remove the package's file.
    Deno.removeSync(list);
    const ours = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir, "--force");
    assert.equal(ours.code, 0, ours.out);
    Deno.writeTextFileSync(snippet, "# the package's conffile\n");
    Deno.writeTextFileSync(list, "/etc/logrotate.d/netauth-pam-helper\n");
    const gone = await install("--uninstall", "--destdir", destdir);
    assert.equal(gone.code, 0, gone.out);
    assert.match(gone.out, new RegExp(`^kept: ${snippet} \\(the Debian package netauth-pam-helper's\\)$`, "m"));
    assert.equal(Deno.readTextFileSync(snippet), "# the package's conffile\n");
  });
});

it("switching modes removes what only the other mode installed", async () => {
  await withDestdir(async (destdir) => {
    // What a compile-mode install leaves (no denort here to build one): its binary, recorded for --uninstall.
    const binary = `${destdir}${LIB}/netauth-pam-helper`;
    Deno.mkdirSync(`${destdir}${LIB}`, { recursive: true });
    Deno.writeTextFileSync(binary, "a compiled helper");
    Deno.writeTextFileSync(`${destdir}${LIB}/installed-files`, `${binary}\n`);
    const res = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir);
    assert.equal(res.code, 0, res.out);
    assert.match(res.out, new RegExp(`^removed: ${binary} \\(not used in bundle mode\\)$`, "m"));
    assert.throws(() => Deno.statSync(binary), Deno.errors.NotFound);
    assert.doesNotMatch(Deno.readTextFileSync(`${destdir}${LIB}/installed-files`), new RegExp(`^${binary}$`, "m"));
    assert.ok(tree(destdir).includes("usr/local/lib/netauth-pam-helper/netauth-pam-helper.js"));
  });
});

it("bad options exit 3 with one line", async () => {
  for (const args of [["--bogus"], ["--mode", "zip"], ["--prefix", "relative"], ["--conf-dir"]]) {
    const res = await install(...args);
    assert.equal(res.code, 3, args.join(" "));
    assert.equal(res.out.trim().split("\n").length, 1, res.out);
  }
});

it("the launcher keeps the runtime's own variables (DENO_AUDIT_PERMISSIONS, OTEL_*) away from Deno", async () => {
  const prefix = await Deno.makeTempDir({ prefix: "netauth-prefix-" });
  const collector = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // The client port of every connection accepted, in the kernel's (FIFO) accept order.
  const accepted: number[] = [];
  const accepting = (async () => {
    for await (const conn of collector) {
      accepted.push((conn.remoteAddr as Deno.NetAddr).port);
      conn.close();
    }
  })();
  /** Resolves once every connection made before this call has been accepted: ours queues behind them. */
  const drained = async () => {
    const marker = await Deno.connect({ hostname: "127.0.0.1", port: collector.addr.port });
    const port = (marker.localAddr as Deno.NetAddr).port;
    try {
      await until(() => accepted.includes(port), "the collector to accept our marker connection");
    } finally {
      marker.close();
    }
    return accepted.filter((p) => p !== port);
  };
  try {
    assert.equal((await install("--mode", "bundle", "--prefix", prefix, "--conf-dir", confDir)).code, 0);
    const hostile = (auditFile: string) => ({
      PAM_TYPE: "auth",
      PAM_USER: "alice",
      DENO_AUDIT_PERMISSIONS: auditFile,
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.addr.port}`,
    });
    const run = async (cmd: string, args: string[], env: Record<string, string>) => {
      const child = new Deno.Command(cmd, { args, clearEnv: true, env, stdin: "piped", stderr: "null" }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(SECRETS.alice));
      await writer.close();
      return (await child.status).code;
    };
    // Plain `deno run` honours them: the hazard the launcher exists for.
    const flags = await printFlags(confDir);
    const exposed = `${prefix}/exposed.jsonl`;
    const direct = await run(Deno.execPath(), [
      "run",
      ...flags,
      `${ROOT}src/main.ts`,
      "--config",
      `${confDir}/config.toml`,
    ], {
      ...hostile(exposed),
      DENO_DIR: denoDir(),
    });
    assert.equal(direct, 0);
    assert.ok(Deno.statSync(exposed).isFile, "deno run no longer honours DENO_AUDIT_PERMISSIONS: revisit this test");
    assert.ok((await drained()).length > 0, "deno run no longer honours OTEL_DENO: revisit this test");
    accepted.length = 0;
    const guarded = `${prefix}/guarded.jsonl`;
    assert.equal(await run(`${prefix}/sbin/netauth-pam-helper`, [], hostile(guarded)), 0);
    assert.throws(() => Deno.statSync(guarded), Deno.errors.NotFound);
    assert.deepEqual(await drained(), [], "telemetry left the sandbox");
  } finally {
    collector.close();
    await accepting.catch(() => {});
    await install("--uninstall", "--prefix", prefix);
    await Deno.remove(prefix, { recursive: true });
  }
});

/** Polls `condition` until it holds; fails naming `what` after `ms`, so a missing event never hangs a test. */
async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sha256 = async (path: string) => await sha256Hex(Deno.readFileSync(path));
const git = async (...args: string[]) =>
  new TextDecoder().decode((await new Deno.Command("git", { args: ["-C", ROOT, ...args] }).output()).stdout).trim();

it("the manifest records each file's hash, owner and mode and the build's provenance; --verify reports drift", async () => {
  await withDestdir(async (destdir) => {
    const res = await install("--mode", "bundle", "--destdir", destdir, "--conf-dir", confDir, "--pam");
    assert.equal(res.code, 0, res.out);
    const manifest = JSON.parse(Deno.readTextFileSync(`${destdir}${LIB}/manifest.json`));
    const bundle = `${LIB}/netauth-pam-helper.js`;
    assert.equal(manifest.artefact, bundle);
    const chunks = tree(`${destdir}${LIB}`).filter((f) => f.endsWith(".js") && f !== "netauth-pam-helper.js");
    assert.ok(chunks.length >= 3, chunks.join());
    assert.deepEqual(manifest.files.map((f: { path: string }) => f.path), [
      "/etc/logrotate.d/netauth-pam-helper",
      ...[...chunks, "deno", "netauth-pam-helper.js"].map((f) => `${LIB}/${f}`).sort(),
      "/usr/local/sbin/netauth-pam-helper",
      "/usr/local/share/man/man8/netauth-pam-helper.8",
      "/usr/share/pam-configs/netauth",
    ]);
    for (const file of manifest.files) {
      assert.equal(file.sha256, await sha256(`${destdir}${file.path}`), file.path);
      assert.equal(file.uid, 0);
    }
    const bundleSha = manifest.files.find((f: { path: string }) => f.path === bundle).sha256;
    const modeOf = (path: string) =>
      path.endsWith("/deno") || path.endsWith("/sbin/netauth-pam-helper") ? "0755" : "0644";
    assert.deepEqual(
      manifest.files.map((f: { mode: string }) => f.mode),
      manifest.files.map((f: { path: string }) => modeOf(f.path)),
    );
    assert.equal(manifest.version, VERSION);
    assert.equal(manifest.deno, Deno.version.deno);
    assert.equal(manifest.denoLockSha256, await sha256(`${ROOT}deno.lock`));
    assert.deepEqual(manifest.source, {
      commit: await git("rev-parse", "HEAD"),
      dirty: await git("status", "--porcelain") !== "",
    });
    assert.deepEqual(manifest.sandbox, await installedFlags(confDir));
    assert.deepEqual(manifest.runtimeDirs.map((d: { path: string; mode: string }) => `${d.path} ${d.mode}`), [
      `${RUNTIME} 0755`,
      `${RUNTIME}/home 0755`,
      `${RUNTIME}/deno 0755`,
      `${RUNTIME}/tmp 0755`,
    ]);
    assert.deepEqual(manifest.pam, { debianProfile: "/usr/share/pam-configs/netauth" });

    const pamDir = `${destdir}/etc/pam.d`;
    Deno.mkdirSync(pamDir, { recursive: true });
    const good =
      "auth [success=1 default=ignore] pam_exec.so expose_authtok quiet /usr/local/sbin/netauth-pam-helper\n" +
      "# account required pam_exec.so /usr/local/sbin/netauth-pam-helper\n";
    Deno.writeTextFileSync(`${pamDir}/login`, good);
    const clean = await install("--verify", "--destdir", destdir);
    assert.equal(clean.code, 0, clean.out);
    assert.doesNotMatch(clean.out, /^DRIFT/m);
    assert.match(clean.out, new RegExp(`^ok sha256 ${bundle}: ${bundleSha}$`, "m"));
    assert.match(clean.out, /^ok mode file \/usr\/local\/sbin\/netauth-pam-helper: 0755$/m);
    assert.match(clean.out, new RegExp(`^ok pam ${pamDir}/login:1 auth: expose_authtok quiet$`, "m"));
    assert.match(clean.out, /^verified: \d+ checks ok$/m);

    // One byte of the bundle, one mode, one PAM line.
    const bytes = Deno.readFileSync(`${destdir}${bundle}`);
    bytes[100] ^= 1;
    Deno.writeFileSync(`${destdir}${bundle}`, bytes);
    Deno.chmodSync(`${destdir}/usr/local/sbin/netauth-pam-helper`, 0o775);
    Deno.chownSync(`${destdir}/usr/local`, 65534, 65534); // whoever owns it can swap sbin/ for their own
    Deno.writeTextFileSync(
      `${pamDir}/sshd`,
      "account required pam_exec.so seteuid /usr/local/sbin/netauth-pam-helper\n" +
        `account required pam_exec.so quiet ${LIB}/deno run ${bundle}\n`, // the runtime itself (issue 26, 3)
    );
    const drifted = await install("--verify", "--destdir", destdir);
    assert.equal(drifted.code, 1, drifted.out);
    const driftLines = drifted.out.split("\n").filter((line) => line.startsWith("DRIFT"));
    assert.deepEqual(driftLines, [
      `DRIFT sha256 ${bundle}: ${await sha256(`${destdir}${bundle}`)}, manifest says ${bundleSha}`,
      "DRIFT mode file /usr/local/sbin/netauth-pam-helper: 0775 is writable by group or others",
      "DRIFT above /usr/local: is not owned by root (owner uid 65534, mode 755)",
      `DRIFT pam ${pamDir}/sshd:1 account: lacks quiet; carries seteuid (README, "PAM")`,
      `DRIFT pam ${pamDir}/sshd:2 account: runs ${LIB}/deno itself, not through the launcher ` +
      `(PAM's environment reaches it; setpriv never runs) (README, "PAM")`,
    ]);
    assert.match(drifted.out, /^5 of \d+ checks DRIFT$/m);
    // For monitoring (issue 30): --quiet, only those lines and the summary; --json, one object; the same exit.
    const quiet = await install("--verify", "--quiet", "--destdir", destdir);
    assert.equal(quiet.code, 1, quiet.out);
    assert.deepEqual(quiet.out.trimEnd().split("\n"), [
      ...driftLines,
      /^5 of \d+ checks DRIFT$/m.exec(drifted.out)![0],
    ]);
    const json = await install("--verify", "--json", "--destdir", destdir);
    assert.equal(json.code, 1, json.out);
    const report = JSON.parse(json.out);
    assert.equal(report.format, "netauth-pam-helper/verify/v1");
    assert.equal(report.status, 1);
    assert.equal(report.summary.drift, 5);
    assert.equal(report.summary.checks, drifted.out.split("\n").filter((l) => /^(ok|DRIFT) /.test(l)).length);
    assert.deepEqual(
      report.checks.filter((c: { result: string }) => c.result === "drift").map((c: { what: string }) =>
        `DRIFT ${c.what}`
      ),
      driftLines,
    );

    const none = await install("--verify", "--destdir", `${destdir}/nothing`);
    assert.equal(none.code, 2, none.out);
    assert.equal(none.out.trim().split("\n").length, 1, none.out);
    assert.match(none.out, /no .*manifest.json: nothing to verify/);
    const noneJson = await install("--verify", "--json", "--destdir", `${destdir}/nothing`);
    assert.equal(noneJson.code, 2, noneJson.out);
    assert.match(JSON.parse(noneJson.out).error, /no .*manifest.json: nothing to verify/);
  });
});

it("--audit of the installed helper ties it to the manifest: ok, then ok:false once the bundle changes", async () => {
  const prefix = await Deno.makeTempDir({ prefix: "netauth-prefix-" });
  try {
    assert.equal((await install("--mode", "bundle", "--prefix", prefix, "--conf-dir", confDir)).code, 0);
    // After a login the runtime directory holds Deno's node_compat_bin/node symlink: root's alone, kept as it is.
    const check = await new Deno.Command(`${prefix}/sbin/netauth-pam-helper`, { args: ["--check"] }).output();
    assert.equal(check.code, 0, new TextDecoder().decode(check.stdout));
    const again = await install("--mode", "bundle", "--prefix", prefix, "--conf-dir", confDir);
    assert.match(again.out, /^nothing changed: netauth-pam-helper is up to date$/m);
    assert.ok(Deno.lstatSync(`${prefix}/lib/netauth-pam-helper/runtime/deno/node_compat_bin/node`).isSymlink);
    const bundle = `${prefix}/lib/netauth-pam-helper/netauth-pam-helper.js`;
    // The installed bundle is what `deno task bundle` builds from this tree (docs/reviewing.md).
    const rebuilt = `${prefix}/rebuilt`;
    const task = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "--config", `${ROOT}deno.json`, "bundle", "--outdir", rebuilt],
    }).output();
    assert.equal(task.code, 0, new TextDecoder().decode(task.stderr));
    const lib = `${prefix}/lib/netauth-pam-helper`;
    const installedJs = tree(lib).filter((f) => f.endsWith(".js"));
    assert.deepEqual(installedJs, tree(rebuilt));
    for (const f of installedJs) {
      assert.equal(await sha256(`${rebuilt}/${f}`), await sha256(`${lib}/${f}`), f);
    }

    const audit = async () => {
      const out = await new Deno.Command(`${prefix}/sbin/netauth-pam-helper`, { args: ["--audit"], clearEnv: true })
        .output();
      return { code: out.code, report: JSON.parse(new TextDecoder().decode(out.stdout)) };
    };
    const before = await audit();
    assert.deepEqual(before.report.artefact, {
      path: bundle,
      sha256: await sha256(bundle),
      manifest: `${prefix}/lib/netauth-pam-helper/manifest.json`,
      expected: await sha256(bundle),
    });
    assert.equal(before.report.ok, true, JSON.stringify(before.report));
    assert.equal(before.code, 0);

    // Same length, still valid JavaScript: one letter of a string literal.
    const text = Deno.readTextFileSync(bundle);
    const at = text.indexOf("netauth-pam-helper-check") + 23;
    Deno.writeTextFileSync(bundle, text.slice(0, at) + "K" + text.slice(at + 1));
    const after = await audit();
    assert.equal(after.report.ok, false);
    assert.equal(after.code, 4);
    assert.equal(after.report.artefact.problem, `${bundle} does not match the manifest (changed since install?)`);
    assert.equal(after.report.artefact.sha256, await sha256(bundle));

    // A chunk counts as much as the entry: it runs as soon as a login needs gRPC.
    Deno.writeTextFileSync(bundle, text);
    const grpcChunk = `${lib}/${installedJs.find((f) => f.startsWith("grpc_client-"))}`;
    // Appended, not replaced: the chunk named after grpc_client.ts may only re-export a chunk it shares with the broker.
    Deno.writeTextFileSync(grpcChunk, `${Deno.readTextFileSync(grpcChunk)}\n/* changed */\n`);
    const chunkChanged = await audit();
    assert.equal(chunkChanged.report.ok, false);
    assert.equal(
      chunkChanged.report.artefact.problem,
      `${grpcChunk} does not match the manifest (changed since install?)`,
    );
  } finally {
    await install("--uninstall", "--prefix", prefix);
    await Deno.remove(prefix, { recursive: true });
  }
});

it("whatever root's umask, nothing installed is writable by group or others", async () => {
  await withDestdir(async (destdir) => {
    const args = ["-c", 'umask 000; exec "$0" "$@"', `${ROOT}install.sh`, "--mode", "bundle", "--destdir", destdir];
    const res = await new Deno.Command("/bin/sh", {
      args: [...args, "--conf-dir", confDir],
      env: { DENORT_BIN: "/nonexistent/denort" },
    }).output();
    assert.equal(res.code, 0, new TextDecoder().decode(res.stderr));
    const loose: string[] = [];
    const walk = (path: string) => {
      const info = Deno.lstatSync(path);
      if (!info.isSymlink && (info.mode! & 0o022) !== 0) loose.push(`${path} ${(info.mode! & 0o7777).toString(8)}`);
      if (info.isDirectory) { for (const e of Deno.readDirSync(path)) walk(`${path}/${e.name}`); }
    };
    walk(`${destdir}/usr`);
    assert.deepEqual(loose, []);
  });
});

testWhere(needsRoot("chown to another user and a root-run install.sh need root"), {
  name: "a --prefix another user could rename is refused before anything is built or written",
  sanitizeOps: false,

  sanitizeResources: false,
  async fn() {
    const parent = await Deno.makeTempDir({ prefix: "netauth-userdir-" });
    try {
      Deno.chownSync(parent, 65534, 65534);
      const res = await install("--mode", "bundle", "--prefix", `${parent}/p`, "--conf-dir", confDir);
      assert.notEqual(res.code, 0);
      const real = Deno.realPathSync(parent);
      assert.match(
        res.out,
        new RegExp(`unsafe --prefix ${parent}/p: ${real} is not owned by root \\(owner uid 65534, mode 700\\);`),
      );
      assert.deepEqual([...Deno.readDirSync(parent)], []);
    } finally {
      Deno.removeSync(parent, { recursive: true });
    }
  },
});
