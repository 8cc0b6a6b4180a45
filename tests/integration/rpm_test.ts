// The RPM (scripts/rpm.ts), as far as a Debian host can judge it: `deno task rpm` from two clones of one commit in
// different directories gives one .rpm byte for byte; rpmlint finds nothing but packaging/rpm/rpmlintrc's kept
// findings; rpm lists exactly the files the staged tree's build manifest records, with their SHA-256, modes and
// root:root; the authselect profile inside holds pam.d/rhel/'s rules line for line. Then rpm itself installs it in
// a private root (overlays on /etc, /usr, /var, /run) and runs its scriptlets: %pre refusing a source install,
// %post's --setup without and with a config (the real netauthd), an upgrade in place, erase; and pamtester logs in
// through the profile's system-auth. What Debian cannot show (authselect, SELinux, dnf) is in docs/install.md.
import assert from "node:assert/strict";
import { commitAsClone, copyCheckout } from "./checkout.ts";
import { ALICE_SECRET, type NetAuthd, startNetAuthd } from "../../testkit/netauthd.ts";
import { missingPrerequisite, pamtester } from "../e2e/pam.ts";
import { privateRoot } from "../../testkit/private_root.ts";
import { expectedAuthselectRules, rulesOf } from "../../testkit/pam_rules.ts";
import { testWhere } from "../../testkit/skip.ts";
import { DEFAULT_MAINTAINER } from "../../scripts/package_settings.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const decoder = new TextDecoder();
/** Not src/version.ts's: rpm's label and what the installed helper says must both be this. */
const VERSION = "0.1.1";
const LIB = "/usr/lib/netauth-pam-helper";
const DB = "/var/lib/netauth-rpm-test";

const tools = await new Deno.Command("sh", { args: ["-c", "command -v rpmbuild rpmlint rpm2cpio cpio nsenter"] })
  .output();
const missing = (await missingPrerequisite()) ??
  (tools.success ? undefined : "rpm, rpmlint, cpio or nsenter missing (apt-get install rpm rpmlint cpio)");

async function run(cmd: string, args: string[], cwd?: string) {
  const out = await new Deno.Command(cmd, { args, cwd, stdin: "null" }).output();
  return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

async function sha256(path: string): Promise<string> {
  return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", Deno.readFileSync(path))))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** `deno task rpm --outdir OUT --version VERSION` in `checkout`; the one .rpm it wrote and the seconds it took. */
async function buildRpm(checkout: string, out: string): Promise<{ rpm: string; seconds: number }> {
  const started = performance.now();
  const res = await run(Deno.execPath(), [
    "task",
    "--quiet",
    "--config",
    `${checkout}/deno.json`,
    "rpm",
    "--outdir",
    out,
    "--version",
    VERSION,
  ], checkout);
  assert.equal(res.code, 0, res.output);
  const rpms = [...Deno.readDirSync(out)].filter((e) => e.name.endsWith(".rpm")).map((e) => `${out}/${e.name}`);
  assert.deepEqual(rpms.map((p) => p.slice(out.length + 1)), [
    `netauth-pam-helper-${VERSION}-1.${Deno.build.arch}.rpm`,
  ]);
  return { rpm: rpms[0], seconds: (performance.now() - started) / 1000 };
}

/** One line per packaged path: name, octal mode, owner, SHA-256 (empty for directories) and rpm's file flags. */
async function rpmFiles(rpm: string) {
  const qf =
    "[%{FILENAMES}\t%{FILEMODES:octal}\t%{FILEUSERNAME}:%{FILEGROUPNAME}\t%{FILEDIGESTS}\t%{FILEFLAGS:fflags}\n]";
  const res = await run("rpm", ["-qp", "--qf", qf, rpm]);
  assert.equal(res.code, 0, res.output);
  return res.output.trim().split("\n").map((line) => {
    const [path, mode, owner, digest, flags] = line.split("\t");
    return { path, mode, owner, digest, flags };
  });
}

testWhere(missing, {
  name: "deno task rpm: reproducible, rpmlint-clean, lists the tree; installed by rpm, its scriptlets run",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const base = await Deno.makeTempDir({ prefix: "netauth-rpm-" });
    let server: NetAuthd | undefined;
    let root: Awaited<ReturnType<typeof privateRoot>> | undefined;
    try {
      Deno.chmodSync(base, 0o755);
      const a = `${base}/a/netauth-pam-helper`;
      const b = `${base}/somewhere/much/deeper/copy`;
      for (const dir of [a, b]) {
        await copyCheckout(dir);
        await commitAsClone(dir);
      }
      const first = await buildRpm(a, `${base}/out-a`);
      const second = await buildRpm(b, `${base}/out-b`);
      const rpm = first.rpm;
      console.log(
        `rpm: ${Deno.statSync(rpm).size} bytes; builds ${first.seconds.toFixed(1)} s, ${second.seconds.toFixed(1)} s`,
      );

      await t.step("two clones, two directories: one .rpm byte for byte", async () => {
        assert.equal(await sha256(second.rpm), await sha256(rpm));
      });

      await t.step(
        "rpm -qip: the version, MIT, the default maintainer, the commit's time, a fixed build host",
        async () => {
          const qf = "%{NAME} %{VERSION}-%{RELEASE} %{ARCH}\n%{LICENSE}\n%{PACKAGER}\n%{BUILDTIME}\n%{BUILDHOST}\n";
          const res = await run("rpm", ["-qp", "--qf", qf, rpm]);
          const commitTime = (await run("git", ["-C", a, "log", "-1", "--format=%ct"])).output.trim();
          assert.equal(
            res.output,
            `netauth-pam-helper ${VERSION}-1 ${Deno.build.arch}\nMIT\n${DEFAULT_MAINTAINER}\n${commitTime}\nreproducible.invalid\n`,
          );
          const info = await run("rpm", ["-qip", rpm]);
          assert.match(info.output, /^License\s+: MIT$/m);
          assert.match(info.output, /authselect select netauth/);
        },
      );

      await t.step("rpmlint: no finding beyond packaging/rpm/rpmlintrc's, each of which still applies", async () => {
        const res = await run("rpmlint", ["-r", `${ROOT}packaging/rpm/rpmlintrc`, rpm]);
        console.log(res.output.trim().split("\n").slice(-1)[0]);
        assert.equal(res.code, 0, res.output);
        assert.match(res.output, / 0 errors, 0 warnings, 0 badness/);
        assert.doesNotMatch(res.output, /unused-rpmlintrc-filter/);
      });

      const x = `${base}/x`;
      Deno.mkdirSync(x);
      const cpio = await run("sh", ["-c", `rpm2cpio "$1" | cpio -idm --quiet`, "sh", rpm], x);
      assert.equal(cpio.code, 0, cpio.output);

      await t.step(
        "rpm -qlp: the tree's build manifest's files, SHA-256 and modes, root:root, and nothing else",
        async () => {
          const manifest = JSON.parse(Deno.readTextFileSync(`${x}${LIB}/build-manifest.json`));
          assert.equal(manifest.version, VERSION);
          assert.equal(manifest.pam.debianProfile, null);
          const files = await rpmFiles(rpm);
          const byPath = new Map(files.map((f) => [f.path, f]));
          for (const f of manifest.files as { path: string; sha256: string; mode: string }[]) {
            const packed = byPath.get(f.path);
            assert.ok(packed, `${f.path} is not in the rpm`);
            assert.equal(packed.digest, f.sha256, f.path);
            assert.equal(packed.mode, `10${f.mode}`, f.path);
          }
          assert.ok(files.every((f) => f.owner === "root:root"), JSON.stringify(files));
          const listed = (await run("rpm", ["-qlp", rpm])).output.trim().split("\n");
          const expected = [
            ...manifest.files.map((f: { path: string }) => f.path),
            `${LIB}/build-manifest.json`,
            "/etc/logrotate.d/netauth-pam-helper",
            "/etc/netauth-pam-helper.conf", // the log path's setting (log_file), a conffile as in the .deb
            LIB,
            "/usr/share/authselect/vendor/netauth",
            "/usr/share/doc/netauth-pam-helper",
            "/usr/share/licenses/netauth-pam-helper",
          ].sort();
          assert.deepEqual(listed, expected);
          assert.equal(byPath.get("/etc/logrotate.d/netauth-pam-helper")?.flags, "cn"); // %config(noreplace)
          assert.equal(byPath.get("/etc/netauth-pam-helper.conf")?.flags, "cn");
          assert.equal(byPath.get("/usr/share/licenses/netauth-pam-helper/LICENSE")?.flags, "l");
          assert.ok(listed.includes("/usr/lib/systemd/system/netauth-pam-helper.service"));
          assert.ok(
            !listed.some((p) => p.startsWith("/lib/") || p.startsWith("/usr/share/pam-configs")),
            listed.join(),
          );
          const unit = Deno.readTextFileSync(`${x}/usr/lib/systemd/system/netauth-pam-helper.service`);
          assert.match(unit, /^ExecStart=\/usr\/sbin\/netauth-pam-helper --serve$/m);
        },
      );

      await t.step("the authselect profile: its files hold pam.d/rhel/'s rules, line for line", () => {
        const profile = `${x}/usr/share/authselect/vendor/netauth`;
        assert.deepEqual([...Deno.readDirSync(profile)].map((e) => e.name).sort(), [
          "README",
          "REQUIREMENTS",
          "nsswitch.conf",
          "password-auth",
          "postlogin",
          "system-auth",
        ]);
        for (const [name, rules] of Object.entries(expectedAuthselectRules(`${ROOT}pam.d`))) {
          assert.deepEqual(rulesOf(Deno.readTextFileSync(`${profile}/${name}`)), rules, name);
        }
      });

      server = await startNetAuthd();
      root = await privateRoot(base);
      const r = root;
      const rpmCmd = (...args: string[]) => r.run("rpm", "--dbpath", DB, ...args);
      const clean = await r.run(
        "sh",
        "-c",
        `rm -rf /etc/netauth ${LIB} /usr/local/lib/netauth-pam-helper /etc/logrotate.d/netauth-pam-helper ` +
          `/var/log/netauth-pam-helper.log && mkdir -p ${DB} && rpm --dbpath ${DB} --initdb`,
      );
      assert.equal(clean.code, 0, clean.output);
      const installed = async () => (await rpmCmd("-q", "netauth-pam-helper")).code === 0;
      const left = async (path: string) => (await r.run("test", "-e", path)).code === 0;

      await t.step("%pre: a source install's record refuses the install, nothing unpacked", async () => {
        await r.run(
          "sh",
          "-c",
          "mkdir -p /usr/local/lib/netauth-pam-helper && touch /usr/local/lib/netauth-pam-helper/installed-files",
        );
        const res = await rpmCmd("-i", "--nodeps", rpm);
        assert.notEqual(res.code, 0, res.output);
        assert.match(res.output, /a source install \(install\.sh\) is on this host[\s\S]*--prefix \/usr\/local'/);
        assert.ok(!await installed());
        assert.ok(!await left("/usr/sbin/netauth-pam-helper"));
        await r.run("rm", "-rf", "/usr/local/lib/netauth-pam-helper");
      });

      await t.step("%post without a config: installs, says so; the front script refuses logins (exit 3)", async () => {
        const res = await rpmCmd("-i", "--nodeps", rpm);
        assert.equal(res.code, 0, res.output);
        assert.match(res.output, /no \/etc\/netauth\/config\.toml yet: NetAuth logins are refused \(exit 3\)/);
        assert.ok(await installed());
        assert.ok(!await left(`${LIB}/launcher`));
        const front = await r.run("env", "PAM_TYPE=auth", "PAM_USER=alice", "/usr/sbin/netauth-pam-helper");
        assert.equal(front.code, 3, front.output);
        assert.match(front.output, /not set up: .*outcome=not_set_up exit=3/);
        const log = await r.run("stat", "-c", "%U %a", "/var/log/netauth-pam-helper.log");
        assert.equal(log.output.trim(), "root 640");
      });

      await t.step("erase: %preun removes what --setup made, rpm the rest; the log stays", async () => {
        const res = await rpmCmd("-e", "netauth-pam-helper");
        assert.equal(res.code, 0, res.output);
        assert.doesNotMatch(res.output, /warning/i);
        assert.ok(!await left(LIB));
        assert.ok(await left("/var/log/netauth-pam-helper.log"));
      });

      await t.step(
        "%post with a config: --setup writes the launcher and --check passes; --verify is clean",
        async () => {
          const copy = await r.run(
            "sh",
            "-c",
            `cp -r ${server!.clientConfigDir} /etc/netauth && chmod -R go-w /etc/netauth`,
          );
          assert.equal(copy.code, 0, copy.output);
          const res = await rpmCmd("-i", "--nodeps", rpm);
          assert.equal(res.code, 0, res.output);
          assert.match(res.output, /check: server: ok/);
          assert.equal((await r.run("netauth-pam-helper", "--version")).output, `netauth-pam-helper ${VERSION}\n`);
          const verify = await r.run("netauth-pam-helper", "--verify", "--quiet");
          assert.equal(verify.code, 0, verify.output);
        },
      );

      await t.step("an upgrade in place (rpm -U --replacepkgs): old %preun/%postun keep setup's files", async () => {
        const res = await rpmCmd("-U", "--replacepkgs", "--nodeps", rpm);
        assert.equal(res.code, 0, res.output);
        assert.match(res.output, /check: server: ok/);
        assert.ok(await left(`${LIB}/launcher`));
        assert.equal((await r.run("netauth-pam-helper", "--verify", "--quiet")).code, 0);
      });

      await t.step("pamtester through the profile's system-auth: alice in, a wrong password out", async () => {
        const service = `netauth-rpm-test-${Deno.pid}`;
        const cp = await r.run("cp", "/usr/share/authselect/vendor/netauth/system-auth", `/etc/pam.d/${service}`);
        assert.equal(cp.code, 0, cp.output);
        const ok = await pamtester(service, "alice", "authenticate", ALICE_SECRET, r.prefix);
        assert.equal(ok.code, 0, ok.output);
        const wrong = await pamtester(service, "alice", "authenticate", "not-her-password", r.prefix);
        assert.notEqual(wrong.code, 0, wrong.output);
        const log = (await r.run("cat", "/var/log/netauth-pam-helper.log")).output;
        assert.match(log, /outcome=authenticated exit=0/);
        assert.match(log, /exit=7/);
      });

      await t.step("erase with a config: setup's launcher, manifest and runtime go with the package", async () => {
        const res = await rpmCmd("-e", "netauth-pam-helper");
        assert.equal(res.code, 0, res.output);
        assert.doesNotMatch(res.output, /warning/i);
        for (const path of [LIB, "/usr/sbin/netauth-pam-helper", "/usr/share/authselect/vendor/netauth"]) {
          assert.ok(!await left(path), path);
        }
        assert.ok(await left("/var/log/netauth-pam-helper.log"));
      });
    } finally {
      await root?.stop();
      await server?.cleanup();
      await Deno.remove(base, { recursive: true });
    }
  },
});
