// The Debian package end to end: `deno task deb` builds it, `apt-get install ./….deb` installs it on a root
// where deno is not on PATH and npm's directory is hidden, against the real netauthd with a config in
// /etc/netauth. Then PAM through common-auth/common-account (pam-auth-update), pamtester and a real sshd,
// dpkg --verify and --verify, an upgrade (the helper reports each package's version), `apt-get remove`, and
// `apt-get purge` leaving /etc/pam.d as it was.
// Everything the package touches (/etc, /usr, /var, /run) is an overlay on a tmpfs in a private mount
// namespace: the host's dpkg database, /etc/pam.d and /etc/netauth never change, and a killed test
// leaves nothing behind.
import assert from "node:assert/strict";
import { ALICE_SECRET, type NetAuthd, startNetAuthd } from "../../testkit/netauthd.ts";
import { freeIds, missingNssCache } from "./nss_cache.ts";
import { e2eTest, missingPrerequisite, pamtester, ROOT, sh } from "./pam.ts";
import { missingOpenSsh, type Sshd, sshLogin, startSshd } from "./sshd.ts";
import { watchBroker } from "../../testkit/broker.ts";
import { DEFAULT_MAINTAINER } from "../../scripts/package_settings.ts";
import { buildDeb, privateRoot } from "./private_root.ts";

const missing = (await missingPrerequisite()) ?? (await missingNssCache()) ?? (await missingOpenSsh()) ??
  ((await sh("sh", ["-c", "command -v dpkg-deb apt-get pam-auth-update nsenter"])).code !== 0
    ? "dpkg-deb, apt-get, pam-auth-update or nsenter missing"
    : undefined);

const PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
/** The second build's `--maintainer`: the upgrade shows it, the first build has the default. */
const FLEET_MAINTAINER = "Fleet Ops <fleet-ops@netauth-e2e.invalid>";

/** Every file in the host's /etc/pam.d with its bytes' hash, by name. */
async function hostPamFiles(): Promise<Map<string, string>> {
  const out = await sh("sh", ["-c", "cd /etc/pam.d && find . -type f -exec sha256sum {} +"]);
  return new Map(out.output.trim().split("\n").map((line) => line.split(/\s+/).reverse() as [string, string]));
}

e2eTest("Debian package: apt-get install without deno, PAM via pam-auth-update, upgrade, purge", missing, async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "netauth-deb-e2e-" });
  await Deno.chmod(dir, 0o755); // apt's _apt user reads the .deb
  const hostPam = await hostPamFiles();
  let server: NetAuthd | undefined;
  let root: Awaited<ReturnType<typeof privateRoot>> | undefined;
  let sshd: Sshd | undefined;
  try {
    server = await startNetAuthd();
    const first = await buildDeb(`${dir}/v1`, "0.1.0+e2e1");
    const second = await buildDeb(`${dir}/v2`, "0.1.0+e2e2", "--maintainer", FLEET_MAINTAINER);
    root = await privateRoot(dir);
    const r = root;
    let pamBefore = (await r.run("sh", "-c", r.pamChanges)).output;
    const service = `netauth-deb-e2e-${Deno.pid}`;
    const log = async () => (await r.run("cat", "/var/log/netauth-pam-helper.log")).output;
    /** One inventory: what dpkg, the helper's --version and manifest.json say, and dpkg's Maintainer. */
    const inventory = async () => ({
      dpkg: (await r.run("dpkg-query", "-W", "-f=${Version}", "netauth-pam-helper")).output,
      helper: (await r.run("netauth-pam-helper", "--version")).output.trim(),
      manifest: JSON.parse((await r.run("cat", "/usr/lib/netauth-pam-helper/manifest.json")).output).version,
      maintainer: (await r.run("dpkg-query", "-W", "-f=${Maintainer}", "netauth-pam-helper")).output,
    });
    const login = async (user: string, password: string) => {
      const before = (await log()).length;
      const res = await pamtester(service, user, "authenticate", password, root!.prefix);
      const acct = res.code === 0 ? await pamtester(service, user, "acct_mgmt", "", root!.prefix) : undefined;
      return {
        code: acct?.code ?? res.code,
        output: `${res.output}${acct?.output ?? ""}`,
        log: (await log()).slice(before),
      };
    };

    await t.step(
      "a fresh host: no source install's files (this host's tests may leave them below the overlay)",
      async () => {
        const clean = await r.run(
          "sh",
          "-c",
          [
            "rm -rf /usr/local/lib/netauth-pam-helper /usr/local/sbin/netauth-pam-helper /etc/logrotate.d/netauth-pam-helper",
            "if ! dpkg -S /usr/share/pam-configs/netauth >/dev/null 2>&1; then rm -f /usr/share/pam-configs/netauth; fi",
            "pam-auth-update --package",
          ].join(" && "),
        );
        assert.equal(clean.code, 0, clean.output);
        pamBefore = (await r.run("sh", "-c", r.pamChanges)).output;
      },
    );

    await t.step(
      "a source install in /usr/local: apt-get install refuses it with a message, changes nothing",
      async () => {
        const record = "/usr/local/lib/netauth-pam-helper/installed-files";
        await r.run("sh", "-c", `mkdir -p /usr/local/lib/netauth-pam-helper && touch ${record}`);
        try {
          const res = await r.run("apt-get", "install", "-y", "-q", first);
          assert.notEqual(res.code, 0, res.output);
          assert.match(res.output, /a source install \(install\.sh\) is on this host[\s\S]*install\.sh --uninstall/);
          const status = await r.run("dpkg-query", "-W", "-f=${db:Status-Status}", "netauth-pam-helper");
          assert.notEqual(status.output, "installed", status.output);
          assert.equal((await r.run("sh", "-c", r.pamChanges)).output, pamBefore);
        } finally {
          await r.run("rm", "-rf", "/usr/local/lib/netauth-pam-helper");
        }
      },
    );

    // install.sh in the private root: deno from a copy (npm's directory is hidden there), root's DENO_DIR.
    await Deno.mkdir(`${dir}/bin`);
    await Deno.copyFile(Deno.execPath(), `${dir}/bin/deno`);
    await Deno.chmod(`${dir}/bin/deno`, 0o755);
    const installSh = (...args: string[]) =>
      r.run("env", `PATH=${dir}/bin:${PATH}`, "HOME=/root", `${ROOT}install.sh`, ...args);
    const systemd = (await r.run("test", "-d", "/run/systemd/system")).code === 0;
    const srcPrefix = `${dir}/src-prefix`;

    await t.step(
      "issue 26: a source install in any --prefix: apt-get install refuses it by each host-wide file, no conffile prompt",
      async () => {
        await Deno.mkdir(srcPrefix, { mode: 0o755 });
        const src = await installSh(
          "--mode",
          "bundle",
          "--prefix",
          srcPrefix,
          "--conf-dir",
          server!.clientConfigDir,
          "--pam",
          ...(systemd ? [] : ["--broker"]), // never the host's systemd
        );
        assert.equal(src.code, 0, src.output);
        const unit = "/etc/systemd/system/netauth-pam-helper.service";
        const files: [string, string][] = [
          ["/etc/logrotate.d/netauth-pam-helper", "PREFIX"],
          ["/usr/share/pam-configs/netauth", srcPrefix],
          ...(systemd ? [] : [[unit, srcPrefix] as [string, string]]),
        ];
        try {
          for (const [i, [file, named]] of files.entries()) {
            const res = await r.run("apt-get", "install", "-y", "-q", first);
            assert.notEqual(res.code, 0, res.output);
            assert.ok(
              res.output.includes(`a source install (install.sh) is on this host: ${file} is not this package's.`) &&
                res.output.includes(`'./install.sh --uninstall --prefix ${named}'`),
              res.output,
            );
            assert.doesNotMatch(res.output, /conffile/i);
            const status = await r.run("dpkg-query", "-W", "-f=${db:Status-Status}", "netauth-pam-helper");
            assert.notEqual(status.output, "installed", status.output);
            // The next one alone must be enough too.
            if (i < files.length - 1) await r.run("mv", file, `${file}.away`);
          }
        } finally {
          for (const [file] of files) await r.run("sh", "-c", `[ ! -e ${file}.away ] || mv ${file}.away ${file}`);
          const un = await installSh("--uninstall", "--prefix", srcPrefix);
          assert.equal(un.code, 0, un.output);
        }
        assert.equal((await r.run("sh", "-c", r.pamChanges)).output, pamBefore);
        const left = await r.run("sh", "-c", `ls -d ${files.map(([f]) => f).join(" ")} 2>&1`);
        assert.equal(left.output.match(/No such file or directory/g)?.length, files.length, left.output);
      },
    );

    await t.step("NetAuth's alice in NSS (libnss-cache files, as nsscache writes them), PAM services", async () => {
      const id = await freeIds(1);
      const nss = await r.run(
        "sh",
        "-c",
        [
          "sed -i 's/^\\(passwd\\|group\\):\\(\\s*\\)files\\b/\\1:\\2files cache/' /etc/nsswitch.conf",
          `echo 'alice:*:${id}:${id}:NetAuth alice:/tmp:/bin/sh' >/etc/passwd.cache`,
          `echo 'netauth${id}:*:${id}:' >/etc/group.cache`,
          `printf '@include common-auth\\n@include common-account\\n' >/etc/pam.d/${service}`,
          `printf '@include common-auth\\n@include common-account\\nsession required pam_permit.so\\n' >/etc/pam.d/sshd-${service}`,
        ].join(" && "),
      );
      assert.equal(nss.code, 0, nss.output);
      assert.match((await r.run("getent", "passwd", "alice")).output, /^alice:/);
    });

    await t.step("no deno on PATH and npm's directory hidden in the private root", async () => {
      const which = await r.run("sh", "-c", "command -v deno || ls /usr/lib/node_modules");
      assert.equal(which.output.trim(), "", which.output);
    });

    await t.step(
      "apt-get install with no config yet: installs cleanly, NetAuth logins refused with exit 3",
      async () => {
        const started = performance.now();
        const res = await r.run("apt-get", "install", "-y", "-q", first);
        console.log(`apt-get install: ${Math.round(performance.now() - started)} ms`);
        assert.equal(res.code, 0, res.output);
        assert.match(res.output, /no \/etc\/netauth\/config\.toml yet/, res.output);
        const common = (await r.run("cat", "/etc/pam.d/common-auth", "/etc/pam.d/common-account")).output;
        assert.equal(common.match(/pam_exec\.so .*\/usr\/sbin\/netauth-pam-helper/g)?.length, 2, common);
        const refused = await login("alice", ALICE_SECRET);
        assert.notEqual(refused.code, 0, refused.output);
        assert.match(refused.log, /not set up: .*\/etc\/netauth\/config\.toml.*netauth-pam-helper --setup.*exit=3/);
      },
    );

    await t.step(
      "config in /etc/netauth, then `netauth-pam-helper --setup` (or dpkg-reconfigure): --check passes",
      async () => {
        const copy = await r.run(
          "sh",
          "-c",
          `cp -r ${server!.clientConfigDir} /etc/netauth && chmod -R go-w /etc/netauth`,
        );
        assert.equal(copy.code, 0, copy.output);
        const bad = await r.run("netauth-pam-helper", "--setup", "--login-slots", "0");
        assert.equal(bad.code, 2, bad.output);
        assert.match(bad.output, /--login-slots expects a whole number from 1 to 1024, got "0"/);
        const res = await r.run("netauth-pam-helper", "--setup", "--login-slots", "3");
        assert.equal(res.code, 0, res.output);
        assert.match(res.output, /check: server: ok/, res.output);
        // What a Debian admin may reach for instead: postinst runs the same setup, and keeps the slots chosen.
        const reconfigure = await r.run("dpkg-reconfigure", "netauth-pam-helper");
        assert.equal(reconfigure.code, 0, reconfigure.output);
        assert.match(reconfigure.output, /check: server: ok/, reconfigure.output);
        assert.deepEqual(await inventory(), {
          dpkg: "0.1.0+e2e1",
          helper: "netauth-pam-helper 0.1.0+e2e1",
          manifest: "0.1.0+e2e1",
          maintainer: DEFAULT_MAINTAINER,
        });
        const launcher = await r.run("cat", "/usr/lib/netauth-pam-helper/launcher");
        assert.match(launcher.output, / netauth-admission 3 \/usr\/lib\/netauth-pam-helper\/runtime\/slots /);
      },
    );

    await t.step(
      "the broker's units: the package's paths, the socket enabled (no systemd here: not started); its directory 0700",
      async () => {
        const unit = await r.run("cat", "/lib/systemd/system/netauth-pam-helper.service");
        assert.equal(unit.code, 0, unit.output);
        assert.match(unit.output, /^ExecStart=\/usr\/sbin\/netauth-pam-helper --serve$/m);
        assert.match(unit.output, /^ReadWritePaths=\/usr\/lib\/netauth-pam-helper\/runtime\/tmp$/m); // the outage record
        const wants = await r.run("sh", "-c", "ls /etc/systemd/system/*/netauth-pam-helper.* 2>&1");
        assert.equal(wants.output.trim(), "/etc/systemd/system/sockets.target.wants/netauth-pam-helper.socket");
        const dir = await r.run("stat", "-c", "%u %a", "/usr/lib/netauth-pam-helper/runtime/broker");
        assert.equal(dir.output.trim(), "0 700");
        const launcher = await r.run("cat", "/usr/lib/netauth-pam-helper/launcher");
        assert.match(launcher.output, /--broker-socket \/usr\/lib\/netauth-pam-helper\/runtime\/broker\/socket/);
      },
    );

    await t.step("pam-auth-update puts the profile before pam_unix: pam_localuser routes first", async () => {
      const auth = (await r.run("cat", "/etc/pam.d/common-auth")).output.split("\n").filter((l) => /^auth\s/.test(l));
      const at = (module: string) => auth.findIndex((line) => line.includes(module));
      assert.ok(at("pam_localuser.so") >= 0 && at("pam_localuser.so") < at("pam_exec.so"), auth.join("\n"));
      assert.ok(at("pam_exec.so") < at("pam_unix.so"), auth.join("\n"));
      assert.match(auth[at("pam_exec.so")], /\[success=3 default=ignore\]/, auth.join("\n"));
      assert.match(auth[at("pam_exec.so") + 1], /requisite\s+pam_deny\.so/, auth.join("\n"));
    });

    await t.step(
      "--check --user alice through the package's front script: the host's lines, then NetAuth's",
      async () => {
        const res = await r.run("netauth-pam-helper", "--check", "--user", "alice", "--service", service);
        assert.equal(res.code, 0, res.output);
        assert.match(res.output, /^user: ok alice is not in \/etc\/passwd/m, res.output);
        assert.match(res.output, /^nss: ok alice uid /m, res.output);
        assert.match(
          res.output,
          new RegExp(`^pam: ok ${service} runs the helper for auth \\(/etc/pam.d/common-auth:`, "m"),
        );
        assert.match(res.output, /^entity: ok alice exists and is not locked$/m, res.output);
        const root = await r.run("netauth-pam-helper", "--check", "--user", "root", "--service", service);
        assert.match(root.output, /^user: root is a local account \(in \/etc\/passwd\)/m, root.output);
        assert.doesNotMatch(root.output, /\$[0-9a-z]+\$/, "a shadow hash reached the output");
      },
    );

    await t.step("pamtester through common-auth/common-account: NetAuth user in, wrong password out", async () => {
      const ok = await login("alice", ALICE_SECRET);
      assert.equal(ok.code, 0, `${ok.output}\n${ok.log}`);
      const wrong = await login("alice", "not-her-password");
      assert.notEqual(wrong.code, 0, wrong.output);
      assert.match(wrong.log, /exit=7/);
    });

    await t.step("the unit's ExecStart, run by hand (no systemd here): logins go through the broker", async () => {
      const broker = await watchBroker(
        new Deno.Command(r.prefix[0], {
          args: [...r.prefix.slice(1), "/usr/sbin/netauth-pam-helper", "--serve"],
          stdin: "null",
          stdout: "null",
          stderr: "piped",
        }).spawn(),
      );
      try {
        const ok = await login("alice", ALICE_SECRET);
        assert.equal(ok.code, 0, `${ok.output}\n${ok.log}`);
        assert.match(ok.log, /path=broker outcome=authenticated exit=0/);
        // --verify vouches for the broker that is listening: the package's runtime, bundle and sandbox, started
        // after the files last changed, from the code the manifest records (docs/broker.md).
        const own = await r.run("netauth-pam-helper", "--verify");
        assert.equal(own.code, 0, own.output);
        assert.match(own.output, /^ok broker PID \d+ command: \/usr\/lib\/netauth-pam-helper\/deno run .* --serve$/m);
        assert.match(own.output, /^ok broker PID \d+ started \S+, after its files last changed$/m);
        assert.match(own.output, /^ok broker \S+\/broker\/socket code: it started from the installed files/m);
      } finally {
        await broker.stop();
      }
    });

    await t.step("a real sshd password login through the package's PAM lines", async () => {
      sshd = await startSshd(dir, `sshd-${service}`, root!.prefix);
      const ok = await sshLogin(sshd.port, "alice", "password", { password: ALICE_SECRET });
      assert.equal(ok.code, 0, `${ok.output}\n${sshd.log()}`);
      const wrong = await sshLogin(sshd.port, "alice", "password", { password: "nope" });
      assert.equal(wrong.code, 255, wrong.output);
    });

    await t.step("dpkg --verify clean, --verify clean; a changed byte in the bundle is reported by both", async () => {
      const dpkg = await r.run("dpkg", "--verify", "netauth-pam-helper");
      assert.equal(dpkg.code, 0, dpkg.output);
      assert.equal(dpkg.output, "");
      const own = await r.run("netauth-pam-helper", "--verify");
      assert.equal(own.code, 0, own.output);
      assert.match(own.output, /^ok broker \/usr\/lib\/netauth-pam-helper\/runtime\/broker: root's, mode 700$/m);
      // For monitoring (issue 30): the front script passes --quiet and --json on to setup.js.
      const quiet = await r.run("netauth-pam-helper", "--verify", "--quiet");
      assert.deepEqual([quiet.code, quiet.output], [0, `${own.output.trimEnd().split("\n").at(-1)}\n`]);
      const json = await r.run("netauth-pam-helper", "--verify", "--json");
      assert.equal(json.code, 0, json.output);
      const report = JSON.parse(json.output);
      assert.deepEqual([report.status, report.summary.drift], [0, 0]);
      assert.equal(report.summary.checks, own.output.split("\n").filter((l) => l.startsWith("ok ")).length);
      const js = "/usr/lib/netauth-pam-helper/netauth-pam-helper.js";
      await r.run("cp", "-p", js, `${js}.orig`);
      await r.run("sh", "-c", `printf ' ' >>${js}`);
      const changed = await r.run("dpkg", "--verify", "netauth-pam-helper");
      assert.match(changed.output, /^\?\?5\?\?\?\?\?\? +\/usr\/lib\/netauth-pam-helper\/netauth-pam-helper\.js$/m);
      const drift = await r.run("netauth-pam-helper", "--verify");
      assert.equal(drift.code, 1, drift.output);
      assert.match(drift.output, /DRIFT sha256 \/usr\/lib\/netauth-pam-helper\/netauth-pam-helper\.js/);
      await r.run("mv", `${js}.orig`, js);
      assert.equal((await r.run("netauth-pam-helper", "--verify")).code, 0);
    });

    await t.step("issue 26, 3: a PAM line that runs the generated launcher with seteuid is a DRIFT", async () => {
      const file = `/etc/pam.d/${service}-launcher`;
      const line = "auth required pam_exec.so seteuid log=/var/log/x.log /usr/lib/netauth-pam-helper/launcher";
      await r.run("sh", "-c", `echo '${line}' >${file}`);
      const drift = await r.run("netauth-pam-helper", "--verify");
      await r.run("rm", "-f", file);
      assert.equal(drift.code, 1, drift.output);
      assert.deepEqual(drift.output.split("\n").filter((l) => l.startsWith("DRIFT")), [
        `DRIFT pam ${file}:1 auth: lacks expose_authtok, quiet; carries seteuid (README, "PAM")`,
      ]);
      assert.equal((await r.run("netauth-pam-helper", "--verify")).code, 0);
    });

    await t.step(
      "issue 26: install.sh --prefix with the package installed: refused even with --force; --uninstall keeps its files",
      async () => {
        const other = `${dir}/other-prefix`;
        await Deno.mkdir(other, { mode: 0o755 });
        const res = await installSh(
          "--mode",
          "bundle",
          "--prefix",
          other,
          "--conf-dir",
          "/etc/netauth",
          "--pam",
          "--force",
          ...(systemd ? [] : ["--broker"]),
        );
        assert.notEqual(res.code, 0, res.output);
        assert.match(
          res.output,
          /^install\.sh: \/etc\/logrotate\.d\/netauth-pam-helper is the Debian package netauth-pam-helper's \(dpkg lists it\): install\.sh replaces no package's file, not even with --force; /m,
        );
        assert.deepEqual([...Deno.readDirSync(other)], [], "nothing written in the prefix");
        const dpkg = await r.run("dpkg", "--verify", "netauth-pam-helper");
        assert.equal(dpkg.output, "", "the package's files unchanged");
        // An install whose record names the package's files (it wrote them before the package came): its
        // --uninstall removes its own and none of the package's.
        const lib = `${other}/lib/netauth-pam-helper`;
        const shared = ["/etc/logrotate.d/netauth-pam-helper", "/usr/share/pam-configs/netauth"];
        const record = await r.run(
          "sh",
          "-c",
          `mkdir -p ${lib} && printf '%s\\n' ${shared.join(" ")} ${lib}/manifest.json >${lib}/installed-files && ` +
            `printf '{"files":[%s]}' "$(for f in ${shared.join(" ")}; do ` +
            `printf '{"path":"%s","sha256":"%s"},' "$f" "$(sha256sum <"$f" | cut -d ' ' -f 1)"; done | sed 's/,$//')" ` +
            `>${lib}/manifest.json`,
        );
        assert.equal(record.code, 0, record.output);
        const un = await installSh("--uninstall", "--prefix", other);
        assert.equal(un.code, 0, un.output);
        for (const file of shared) {
          assert.match(un.output, new RegExp(`^kept: ${file} \\(the Debian package netauth-pam-helper's\\)$`, "m"));
        }
        assert.equal((await r.run("dpkg", "--verify", "netauth-pam-helper")).output, "");
      },
    );

    await t.step(
      "a config changed since setup: --verify says the launcher is stale and names the command",
      async () => {
        const config = "/etc/netauth/config.toml";
        await r.run("cp", "-p", config, `${config}.orig`);
        await r.run("sed", "-i", "s/^port = .*/port = 1/", config);
        const stale = await r.run("netauth-pam-helper", "--verify");
        assert.equal(stale.code, 1, stale.output);
        assert.match(
          stale.output,
          /^DRIFT launcher .*not what the config asks for now: run netauth-pam-helper --setup$/m,
        );
        await r.run("mv", `${config}.orig`, config);
        const again = await r.run("netauth-pam-helper", "--verify");
        assert.equal(again.code, 0, again.output);
        assert.match(again.output, /^ok launcher .*as --setup writes it for the config now$/m);
      },
    );

    await t.step(
      "upgrade to a bumped version: the helper reports it, logins keep working, --verify clean",
      async () => {
        const res = await r.run("apt-get", "install", "-y", "-q", second);
        assert.equal(res.code, 0, res.output);
        assert.deepEqual(await inventory(), {
          dpkg: "0.1.0+e2e2",
          helper: "netauth-pam-helper 0.1.0+e2e2",
          manifest: "0.1.0+e2e2",
          maintainer: FLEET_MAINTAINER,
        });
        const ok = await login("alice", ALICE_SECRET);
        assert.equal(ok.code, 0, `${ok.output}\n${ok.log}`);
        const own = await r.run("netauth-pam-helper", "--verify");
        assert.equal(own.code, 0, own.output);
      },
    );

    await t.step("apt-get remove: /etc/pam.d as before, setup's files and the conffile kept until purge", async () => {
      await r.run("rm", "-f", `/etc/pam.d/${service}`, `/etc/pam.d/sshd-${service}`);
      const res = await r.run("apt-get", "remove", "-y", "-q", "netauth-pam-helper");
      console.log(
        `apt-get remove says:\n${res.output.split("\n").filter((l) => !/Reading database/.test(l)).join("\n")}`,
      );
      assert.equal(res.code, 0, res.output);
      assert.doesNotMatch(res.output, /not empty/);
      assert.equal((await r.run("sh", "-c", r.pamChanges)).output, pamBefore);
      const status = await r.run("dpkg-query", "-W", "-f=${db:Status-Status}", "netauth-pam-helper");
      assert.equal(status.output, "config-files");
      const paths = ["/usr/lib/netauth-pam-helper/launcher", "/usr/lib/netauth-pam-helper/manifest.json"]
        .concat(["/usr/lib/netauth-pam-helper/runtime", "/etc/logrotate.d/netauth-pam-helper"])
        .concat(["/usr/sbin/netauth-pam-helper", "/usr/lib/netauth-pam-helper/deno", "/usr/share/pam-configs/netauth"]);
      const left = await r.run(
        "sh",
        "-c",
        'for f; do if [ -e "$f" ]; then echo "kept $f"; else echo "gone $f"; fi; done',
        "sh",
        ...paths,
      );
      assert.deepEqual(left.output.trim().split("\n"), paths.map((p, i) => `${i < 4 ? "kept" : "gone"} ${p}`));
    });

    await t.step("apt-get purge: /etc/pam.d byte for byte as before, setup's files gone, the log kept", async () => {
      // What `systemctl enable` leaves (no systemd in the private root): purge takes it away.
      const wants = "/etc/systemd/system/multi-user.target.wants";
      await r.run("sh", "-c", `mkdir -p ${wants} && ln -sf /lib/systemd/system/netauth-pam-helper.service ${wants}/`);
      const res = await r.run("apt-get", "purge", "-y", "-q", "netauth-pam-helper");
      assert.equal(res.code, 0, res.output);
      assert.equal((await r.run("sh", "-c", r.pamChanges)).output, pamBefore);
      const left = await r.run(
        "sh",
        "-c",
        "ls -d /usr/lib/netauth-pam-helper /lib/systemd/system/netauth-pam-helper.* /etc/systemd/system/netauth-pam-helper.* /etc/systemd/system/*/netauth-pam-helper.* 2>&1; ls /var/log/netauth-pam-helper.log",
      );
      assert.match(
        left.output,
        /^(ls: cannot access .*: No such file or directory\n){4}\/var\/log\/netauth-pam-helper\.log\n$/,
        left.output,
      );
    });
  } finally {
    await sshd?.stop();
    await root?.stop();
    await server?.cleanup();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    // The host's own /etc/pam.d never saw any of it: every file as it was (other tests on this host may add and
    // remove their own services meanwhile), and none of this test's.
    const after = await hostPamFiles();
    for (const [name, hash] of hostPam) {
      if (after.has(name)) assert.equal(after.get(name), hash, `the host's /etc/pam.d/${name} changed`);
    }
    assert.deepEqual([...after.keys()].filter((name) => name.includes("netauth-deb-e2e")), []);
  }
});
