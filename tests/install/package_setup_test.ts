// `netauth-pam-helper --setup` and the front script of the Debian package, against a staged root (setup runs
// as root there: chown to 0). What an admin sees: the exit status, the lines printed, what is written.
import assert from "node:assert/strict";
import { debianArch, PACKAGED } from "../../src/install/package_layout.ts";
import { hostManifest, SETUP_EXIT, setupHost, verifyHost } from "../../src/install/package_setup.ts";
import { type Manifest, MANIFEST_FORMAT } from "../../src/manifest_format.ts";
import { parsePackageConf, profileCheck, withLogFile } from "../../src/install/package_conf.ts";
import { sha256Hex } from "../../src/digest.ts";
import { needsRoot, testWhere } from "../../testkit/skip.ts";

const root = needsRoot("setup chowns to root");

const build: Manifest = {
  format: MANIFEST_FORMAT,
  name: "netauth-pam-helper",
  version: "0.1.0",
  source: null,
  deno: "2.9.6",
  denoLockSha256: "00",
  mode: "bundle",
  prefix: "/usr",
  artefact: PACKAGED.artefact,
  launcher: PACKAGED.sbin,
  sandbox: [],
  runtimeDirs: [],
  pam: { debianProfile: PACKAGED.pamProfile },
  log: null,
  files: [
    { path: PACKAGED.artefact, sha256: "aa", uid: 0, gid: 0, mode: "0644" },
    { path: PACKAGED.sbin, sha256: "bb", uid: 0, gid: 0, mode: "0755" },
  ],
};

/** A staged root with the build manifest and, when given, /etc/netauth/config.toml in `configMode`. */
async function stagedRoot(configMode?: number): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "netauth-pkg-setup-" });
  Deno.chmodSync(root, 0o755);
  for (const dir of [PACKAGED.lib, PACKAGED.confDir, "/var/log"]) Deno.mkdirSync(`${root}${dir}`, { recursive: true });
  Deno.writeTextFileSync(`${root}${PACKAGED.buildManifest}`, JSON.stringify(build));
  if (configMode !== undefined) {
    const config = `${root}${PACKAGED.confDir}/config.toml`;
    Deno.writeTextFileSync(config, `[core]\nserver = "netauth.test"\nport = 1729\n[tls]\nPWN_ME = true\n`);
    Deno.chmodSync(config, configMode);
  }
  return root;
}

async function inStagedRoot(configMode: number | undefined, fn: (root: string) => Promise<void>) {
  const root = await stagedRoot(configMode);
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function setup(
  root: string,
  check = { code: 0, output: "server: ok\n" },
  problems: string[] = [],
  slots: { loginSlots?: string; cpus?: number } = {},
) {
  const lines: string[] = [];
  const ran: string[] = [];
  const code = await setupHost({
    destdir: root,
    print: (line) => lines.push(line),
    runLauncher: (path, arg) => (ran.push(`${path} ${arg}`), Promise.resolve(check)),
    verifyLauncher: (path) => (ran.push(`${path} verified`), Promise.resolve(problems)),
    ...slots,
    updatePam: () => (ran.push("pam-auth-update --package"), Promise.resolve(undefined)),
  });
  return { code, out: lines.join("\n"), ran };
}

const exists = (path: string) => {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
};

Deno.test("Debian architectures: Deno's two Linux builds, nothing else", () => {
  assert.equal(debianArch("x86_64"), "amd64");
  assert.equal(debianArch("aarch64"), "arm64");
  assert.equal(debianArch("riscv64"), undefined);
});

Deno.test("the host's manifest: the build's files plus the launcher, sorted; the sandbox and runtime dirs", () => {
  const launcher = { path: PACKAGED.launcher, sha256: "cc", uid: 0, gid: 0, mode: "0755" };
  const runtime = [{ path: PACKAGED.runtimeDir, uid: 0, gid: 0, mode: "0755" }];
  const host = hostManifest(build, { launcher, sandbox: ["--no-prompt"], runtimeDirs: runtime, log: null });
  assert.deepEqual(host.files.map((f) => f.path), [PACKAGED.launcher, PACKAGED.artefact, PACKAGED.sbin].sort());
  assert.deepEqual(host.sandbox, ["--no-prompt"]);
  assert.deepEqual(host.runtimeDirs, runtime);
  assert.equal(host.artefact, PACKAGED.artefact);
});

testWhere(root, {
  name: "--setup without a config: exit 2, one line naming the file and the command, no launcher",
  async fn() {
    await inStagedRoot(undefined, async (root) => {
      const r = await setup(root);
      assert.equal(r.code, SETUP_EXIT.NOT_SET_UP);
      assert.match(r.out, /no \/etc\/netauth\/config\.toml yet: .*exit 3.* netauth-pam-helper --setup$/);
      assert.ok(!exists(`${root}${PACKAGED.launcher}`));
      assert.deepEqual(r.ran, []);
      // The runtime's directories and the log are root's from the start.
      const info = Deno.statSync(`${root}${PACKAGED.runtimeDir}/deno`);
      assert.equal(info.uid, 0);
      assert.equal(info.mode! & 0o777, 0o755);
      assert.equal(Deno.statSync(`${root}${PACKAGED.logFile}`).mode! & 0o777, 0o640);
    });
  },
});

testWhere(root, {
  name: "--setup with a config others may write: a warning naming the file, nothing written (fail closed)",
  async fn() {
    await inStagedRoot(0o666, async (root) => {
      const r = await setup(root);
      assert.equal(r.code, SETUP_EXIT.NOT_SET_UP);
      assert.match(r.out, /warning: .*config\.toml.*writable/);
      assert.match(
        r.out,
        /NetAuth logins are refused \(exit 3\) until it is fixed and you run: netauth-pam-helper --setup/,
      );
      assert.ok(!exists(`${root}${PACKAGED.launcher}`));
      assert.ok(!exists(`${root}${PACKAGED.manifest}`));
    });
  },
});

testWhere(root, {
  name: "--setup with a config: the launcher with the host's sandbox verified, then placed, manifest.json, --check",
  async fn() {
    await inStagedRoot(0o644, async (root) => {
      const r = await setup(root);
      assert.equal(r.code, SETUP_EXIT.OK, r.out);
      const launcher = Deno.readTextFileSync(`${root}${PACKAGED.launcher}`);
      // The broker's socket is baked in (the shipped unit's --serve needs it), and its directory is root's 0700.
      assert.match(
        launcher,
        /--allow-net=netauth\.test:1729,unix:\/usr\/lib\/netauth-pam-helper\/runtime\/broker\/socket /,
      );
      assert.match(launcher, / --broker-socket \/usr\/lib\/netauth-pam-helper\/runtime\/broker\/socket/);
      assert.equal(Deno.statSync(`${root}${PACKAGED.runtimeDir}/broker`).mode! & 0o777, 0o700);
      assert.match(launcher, / \/usr\/lib\/netauth-pam-helper\/deno run .* --config \/etc\/netauth\/config\.toml /);
      assert.equal(Deno.statSync(`${root}${PACKAGED.launcher}`).mode! & 0o777, 0o755);
      const manifest = JSON.parse(Deno.readTextFileSync(`${root}${PACKAGED.manifest}`)) as Manifest;
      assert.ok(manifest.files.some((f) => f.path === PACKAGED.launcher));
      assert.ok(manifest.sandbox.includes(`--allow-net=netauth.test:1729,unix:${PACKAGED.brokerSocket}`));
      assert.deepEqual(r.ran, [
        `${root}${PACKAGED.launcher}.new verified`,
        `${root}${PACKAGED.launcher} --check`,
        `${root}${PACKAGED.launcher} --audit`,
      ]);
      assert.match(r.out, /^check: server: ok$/m);
    });
  },
});

testWhere(root, {
  name: "--setup --login-slots N bakes N; a later --setup keeps it; without a choice, four a CPU",
  async fn() {
    await inStagedRoot(0o644, async (root) => {
      const slots = () =>
        Deno.readTextFileSync(`${root}${PACKAGED.launcher}`).match(/netauth-admission (\d+) \/usr\/lib\/\S+\/slots /)
          ?.[1];
      assert.equal((await setup(root, undefined, [], { cpus: 3 })).code, SETUP_EXIT.OK);
      assert.equal(slots(), "12");
      assert.equal(Deno.statSync(`${root}${PACKAGED.runtimeDir}/slots`).mode! & 0o777, 0o700);
      assert.equal((await setup(root, undefined, [], { loginSlots: "5", cpus: 3 })).code, SETUP_EXIT.OK);
      assert.equal(slots(), "5");
      // An upgrade's postinst runs --setup alone: the admin's choice stays, and --verify agrees with it.
      assert.equal((await setup(root, undefined, [], { cpus: 8 })).code, SETUP_EXIT.OK);
      assert.equal(slots(), "5");
      const lines: string[] = [];
      await verifyHost(root, (line) => lines.push(line), "plain", 8);
      assert.ok(
        lines.some((l) => /^ok .*launcher .*as --setup writes it for the config now/.test(l)),
        lines.join("\n"),
      );
    });
  },
});

testWhere(root, {
  name: "--setup whose --check fails: the launcher is written, exit 1 and a warning with the command",
  async fn() {
    await inStagedRoot(0o644, async (root) => {
      const r = await setup(root, { code: 9, output: "server: FAIL unreachable\n" });
      assert.equal(r.code, SETUP_EXIT.CHECK_FAILED);
      assert.match(r.out, /^check: server: FAIL unreachable$/m);
      assert.match(r.out, /warning: --check failed \(exit 9.*run: netauth-pam-helper --setup$/);
      assert.ok(exists(`${root}${PACKAGED.launcher}`));
    });
  },
});

testWhere(root, {
  name: "--setup whose new launcher fails verification: the previous launcher stays, exit 2, the problem named",
  async fn() {
    await inStagedRoot(0o644, async (root) => {
      Deno.writeTextFileSync(`${root}${PACKAGED.launcher}`, "#!/bin/sh\n# the previous one\n", { mode: 0o755 });
      const r = await setup(root, undefined, ['--version printed "" (exit 1), not "netauth-pam-helper 0.1.0"']);
      assert.equal(r.code, SETUP_EXIT.NOT_SET_UP);
      assert.match(r.out, /^netauth-pam-helper: verify: --version printed/m);
      assert.match(
        r.out,
        /failed verification .*go through the launcher written before .*netauth-pam-helper --setup$/m,
      );
      assert.equal(Deno.readTextFileSync(`${root}${PACKAGED.launcher}`), "#!/bin/sh\n# the previous one\n");
      assert.ok(!exists(`${root}${PACKAGED.launcher}.new`));
      assert.ok(!r.ran.some((run) => run.endsWith("--check")));
    });
  },
});

testWhere(
  exists(PACKAGED.launcher) ? `a packaged install is on this host (${PACKAGED.launcher})` : undefined,
  {
    name: "the package's front script without a launcher: exit 3, one log line naming the config and the command",
    async fn() {
      const script = new URL("../../packaging/netauth-pam-helper.sh", import.meta.url).pathname;
      const out = await new Deno.Command(script, { env: { PAM_TYPE: "auth", PAM_USER: "alice" }, stdin: "null" })
        .output();
      assert.equal(out.code, 3);
      assert.equal(new TextDecoder().decode(out.stdout), "");
      const lines = new TextDecoder().decode(out.stderr).trimEnd().split("\n");
      assert.equal(lines.length, 1, lines.join("\n"));
      assert.match(lines[0], /^level=error msg=".*\/etc\/netauth\/config\.toml.*netauth-pam-helper --setup" .*exit=3$/);
    },
  },
);

/** pam.d/debian/netauth as the package ships it (scripts/package_tree.ts): /usr/sbin, Default: yes. */
const PROFILE = Deno.readTextFileSync(new URL("../../pam.d/debian/netauth", import.meta.url))
  .replaceAll("/usr/local/sbin/", "/usr/sbin/");

Deno.test("the package's conffile: log_file, or one line naming the file, the line and what is wrong", () => {
  assert.deepEqual(
    parsePackageConf(Deno.readTextFileSync(new URL("../../packaging/netauth-pam-helper.conf", import.meta.url))),
    {
      logFile: PACKAGED.logFile,
    },
  );
  assert.deepEqual(parsePackageConf("# moved\n  log_file =  /srv/log/nph.log  \n"), { logFile: "/srv/log/nph.log" });
  assert.deepEqual(parsePackageConf("log_file = /var/log/a b.log\n"), {
    error: `${PACKAGED.conf}:1: log_file: "/var/log/a b.log" is not an absolute path of letters, digits and ._+- ` +
      "(a word on the PAM lines)",
  });
  assert.deepEqual(parsePackageConf("\nlog = /x\n"), {
    error: `${PACKAGED.conf}:2: unknown setting log (the one setting is log_file)`,
  });
  assert.match(
    (parsePackageConf("log_file = /a\nlog_file = /b\n") as { error: string }).error,
    /:2: log_file is set twice/,
  );
  assert.match((parsePackageConf("[core]\n") as { error: string }).error, /:1: expected key = value, got "\[core\]"/);
  // Every pam_exec line's log= names the setting, nothing else changes; back again gives the shipped bytes.
  const moved = withLogFile(PROFILE, "/srv/log/nph.log");
  assert.equal(moved.match(/log=\/srv\/log\/nph\.log /g)?.length, 2);
  assert.equal(moved.match(/log=/g)?.length, 2);
  assert.equal(withLogFile(moved, PACKAGED.logFile), PROFILE);
});

/** A staged root laid out as the package leaves it, with Ubuntu's accounts and /var/log (root:syslog 0775). */
function ubuntu(root: string, syslogMembers = "") {
  Deno.mkdirSync(`${root}/etc`, { recursive: true });
  Deno.writeTextFileSync(`${root}/etc/group`, `root:x:0:\nadm:x:4:syslog\nsyslog:x:4110:${syslogMembers}\n`);
  Deno.writeTextFileSync(
    `${root}/etc/passwd`,
    "root:x:0:0::/root:/bin/sh\nsyslog:x:104:4110::/home/syslog:/usr/sbin/nologin\nbob:x:1001:1001::/home/bob:/bin/sh\n",
  );
  Deno.chownSync(`${root}/var/log`, 0, 4110);
  Deno.chmodSync(`${root}/var/log`, 0o775);
  Deno.mkdirSync(`${root}/usr/share/pam-configs`, { recursive: true });
  Deno.writeTextFileSync(`${root}${PACKAGED.pamProfile}`, PROFILE);
}

testWhere(root, {
  name: "issue 30: --setup on Ubuntu's /var/log (root:syslog 0775) sets up; syslog with a human member is refused",
  async fn() {
    await inStagedRoot(0o644, async (root) => {
      ubuntu(root);
      const r = await setup(root);
      assert.equal(r.code, SETUP_EXIT.OK, r.out);
      assert.ok(exists(`${root}${PACKAGED.launcher}`));
      assert.equal(Deno.readTextFileSync(`${root}${PACKAGED.pamProfile}`), PROFILE, "the profile as shipped");
      assert.ok(!r.ran.includes("pam-auth-update --package"));
    });
    await inStagedRoot(0o644, async (root) => {
      ubuntu(root, "bob");
      const r = await setup(root);
      assert.equal(r.code, SETUP_EXIT.NOT_SET_UP, r.out);
      assert.match(
        r.out,
        /^netauth-pam-helper: unsafe log directory for \/var\/log\/netauth-pam-helper\.log \(\/etc\/netauth-pam-helper\.conf\): \/var\/log is writable by group syslog, whose member bob \(uid 1001\) is not a system account/m,
      );
      assert.ok(!exists(`${root}${PACKAGED.launcher}`));
    });
  },
});

testWhere(root, {
  name: "issue 30: log_file in the conffile: --setup makes it, names it in the profile, runs pam-auth-update",
  async fn() {
    await inStagedRoot(0o644, async (root) => {
      ubuntu(root);
      const log = "/var/lib/netauth-pam-helper/log/netauth-pam-helper.log";
      Deno.writeTextFileSync(`${root}${PACKAGED.conf}`, `log_file = ${log}\n`);
      const r = await setup(root);
      assert.equal(r.code, SETUP_EXIT.OK, r.out);
      assert.match(r.out, /^netauth-pam-helper: \/usr\/share\/pam-configs\/netauth: log=\/var\/lib\/.* PAM updated$/m);
      assert.equal(r.ran[0], "pam-auth-update --package");
      const profile = Deno.readTextFileSync(`${root}${PACKAGED.pamProfile}`);
      assert.equal(profile, withLogFile(PROFILE, log));
      const info = Deno.statSync(`${root}${log}`);
      assert.deepEqual([info.uid, info.gid, info.mode! & 0o777], [0, 4, 0o640]);
      const manifest = JSON.parse(Deno.readTextFileSync(`${root}${PACKAGED.manifest}`)) as Manifest;
      assert.equal(manifest.log?.path, log);
      const entry = manifest.files.find((f) => f.path === PACKAGED.pamProfile);
      assert.equal(entry?.sha256, await sha256Hex(new TextEncoder().encode(profile)));
      // Run again: nothing to change in PAM.
      const again = await setup(root);
      assert.equal(again.code, SETUP_EXIT.OK, again.out);
      assert.ok(!again.ran.includes("pam-auth-update --package"));
      // A broken conffile changes nothing.
      Deno.writeTextFileSync(`${root}${PACKAGED.conf}`, "log_file = relative.log\n");
      const broken = await setup(root);
      assert.equal(broken.code, SETUP_EXIT.NOT_SET_UP);
      assert.match(
        broken.out,
        /^netauth-pam-helper: \/etc\/netauth-pam-helper\.conf:1: log_file: "relative\.log" is not/m,
      );
      assert.equal(Deno.readTextFileSync(`${root}${PACKAGED.pamProfile}`), profile);
    });
  },
});

Deno.test("--verify's view of a rewritten profile: as shipped but for log=, which names the setting", async () => {
  const root = await Deno.makeTempDir({ prefix: "netauth-pkg-profile-" });
  try {
    Deno.mkdirSync(`${root}/usr/share/pam-configs`, { recursive: true });
    const shipped = await sha256Hex(new TextEncoder().encode(PROFILE));
    const log = "/srv/log/nph.log";
    const write = (text: string) => Deno.writeTextFileSync(`${root}${PACKAGED.pamProfile}`, text);
    write(withLogFile(PROFILE, log));
    assert.deepEqual(await profileCheck(root, shipped, log), {
      ok: true,
      what: `build ${PACKAGED.pamProfile}: as shipped, with log=${log} (${PACKAGED.conf})`,
    });
    assert.deepEqual(await profileCheck(root, shipped, "/srv/log/other.log"), {
      ok: false,
      what: `build ${PACKAGED.pamProfile}: log= does not name /srv/log/other.log`,
    });
    write(withLogFile(PROFILE, log).replace("Default: no", "Default: yes"));
    assert.deepEqual(await profileCheck(root, shipped, log), {
      ok: false,
      what: `build ${PACKAGED.pamProfile}: differs from the build's in more than log=`,
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
