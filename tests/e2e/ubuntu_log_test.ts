// Issue 30, 1: Ubuntu's /var/log is root:syslog 0775 (rsyslog runs as syslog). In a private root laid out so
// (tests/e2e/private_root.ts, a system group and user syslog in its /etc), install.sh and the Debian package
// install, --verify has no DRIFT, and real pamtester logins through pam-auth-update's common-auth land in the log.
// A human in syslog is refused by both; the log moves with install.sh --log-file and the package's conffile,
// and the move survives the package's reinstall (dpkg puts the shipped profile back, postinst's --setup the path).
import assert from "node:assert/strict";
import { ALICE_SECRET, type NetAuthd, startNetAuthd } from "../../testkit/netauthd.ts";
import { freeIds, missingNssCache } from "./nss_cache.ts";
import { e2eTest, missingPrerequisite, pamtester, ROOT, sh } from "./pam.ts";
import { buildDeb, privateRoot } from "./private_root.ts";

const missing = (await missingPrerequisite()) ?? (await missingNssCache()) ??
  ((await sh("sh", ["-c", "command -v dpkg-deb apt-get pam-auth-update nsenter groupadd"])).code !== 0
    ? "dpkg-deb, apt-get, pam-auth-update, nsenter or groupadd missing"
    : undefined);

const PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
/** Ubuntu's layout: the system group and user syslog, /var/log root:syslog 0775. */
const UBUNTU = [
  "groupadd --system syslog",
  "useradd --system --gid syslog --no-create-home --shell /usr/sbin/nologin syslog",
  "chgrp syslog /var/log && chmod 0775 /var/log",
];
const LOG = "/var/log/netauth-pam-helper.log";
const DRIFT = /^DRIFT /m;

e2eTest(
  "issue 30: Ubuntu's /var/log (root:syslog 0775): install.sh, the package, logins, no DRIFT",
  missing,
  async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "netauth-ubuntu-e2e-" });
    await Deno.chmod(dir, 0o755); // apt's _apt user reads the .deb
    let server: NetAuthd | undefined;
    let root: Awaited<ReturnType<typeof privateRoot>> | undefined;
    try {
      server = await startNetAuthd();
      const deb = await buildDeb(`${dir}/deb`, "0.1.0+ubuntu1");
      root = await privateRoot(dir, UBUNTU);
      const r = root;
      const service = `netauth-ubuntu-e2e-${Deno.pid}`;
      const read = async (path: string) => (await r.run("cat", path)).output;
      /** alice's authenticate and acct_mgmt through common-auth/common-account; what each log gained. */
      const login = async (password: string, log = LOG) => {
        const before = (await read(log)).length;
        const auth = await pamtester(service, "alice", "authenticate", password, r.prefix);
        const acct = auth.code === 0 ? await pamtester(service, "alice", "acct_mgmt", "", r.prefix) : undefined;
        return {
          code: acct?.code ?? auth.code,
          output: auth.output + (acct?.output ?? ""),
          log: (await read(log)).slice(before),
        };
      };
      await Deno.mkdir(`${dir}/bin`);
      await Deno.copyFile(Deno.execPath(), `${dir}/bin/deno`);
      await Deno.chmod(`${dir}/bin/deno`, 0o755);
      const installSh = (...args: string[]) =>
        r.run("env", `PATH=${dir}/bin:${PATH}`, "HOME=/root", `${ROOT}install.sh`, ...args);
      const prefix = `${dir}/prefix`;
      await Deno.mkdir(prefix, { mode: 0o755 });
      const source = ["--mode", "bundle", "--prefix", prefix, "--conf-dir", server.clientConfigDir, "--pam"];
      let pamBefore = "";

      await t.step("the private root: /var/log root:syslog 0775, alice in NSS, a PAM service on common-*", async () => {
        assert.equal((await r.run("stat", "-c", "%U:%G %a", "/var/log")).output, "root:syslog 775\n");
        const id = await freeIds(1);
        const nss = await r.run(
          "sh",
          "-c",
          [
            "rm -rf /usr/local/lib/netauth-pam-helper /etc/logrotate.d/netauth-pam-helper",
            "if ! dpkg -S /usr/share/pam-configs/netauth >/dev/null 2>&1; then rm -f /usr/share/pam-configs/netauth; fi",
            "pam-auth-update --package",
            "sed -i 's/^\\(passwd\\|group\\):\\(\\s*\\)files\\b/\\1:\\2files cache/' /etc/nsswitch.conf",
            `echo 'alice:*:${id}:${id}:NetAuth alice:/tmp:/bin/sh' >/etc/passwd.cache`,
            `echo 'netauth${id}:*:${id}:' >/etc/group.cache`,
            `printf '@include common-auth\\n@include common-account\\n' >/etc/pam.d/${service}`,
          ].join(" && "),
        );
        assert.equal(nss.code, 0, nss.output);
        pamBefore = (await r.run("sh", "-c", r.pamChanges)).output;
      });

      await t.step(
        "install.sh --pam installs; --verify clean, naming syslog's write; logins land in /var/log",
        async () => {
          const res = await installSh(...source);
          assert.equal(res.code, 0, res.output);
          const verify = await installSh("--verify", "--prefix", prefix);
          assert.equal(verify.code, 0, verify.output);
          assert.doesNotMatch(verify.output, DRIFT);
          assert.match(
            verify.output,
            /^ok path log directory \/var\/log: root's and closed to others, up to \/ \(group syslog writes \/var\/log: a system log group\)$/m,
          );
          const ok = await login(ALICE_SECRET);
          assert.equal(ok.code, 0, `${ok.output}\n${ok.log}`);
          assert.match(ok.log, /outcome=authenticated exit=0/);
          const wrong = await login("not-her-password");
          assert.notEqual(wrong.code, 0, wrong.output);
          assert.match(wrong.log, /exit=7/);
        },
      );

      await t.step("install.sh --log-file: the PAM lines and logrotate name it; --uninstall keeps it", async () => {
        const moved = "/var/lib/netauth-ubuntu-e2e/helper.log";
        const res = await installSh(...source, "--log-file", moved);
        assert.equal(res.code, 0, res.output);
        assert.match(await read("/etc/pam.d/common-auth"), new RegExp(`pam_exec\\.so .*log=${moved} `));
        assert.match(await read("/etc/logrotate.d/netauth-pam-helper"), new RegExp(`^${moved} \\{$`, "m"));
        const verify = await installSh("--verify", "--prefix", prefix);
        assert.equal(verify.code, 0, verify.output);
        assert.match(
          verify.output,
          /^ok path log directory \/var\/lib\/netauth-ubuntu-e2e: root's and closed to others, up to \/$/m,
        );
        const ok = await login(ALICE_SECRET, moved);
        assert.equal(ok.code, 0, `${ok.output}\n${ok.log}`);
        assert.match(ok.log, /outcome=authenticated exit=0/);
        const un = await installSh("--uninstall", "--prefix", prefix);
        assert.equal(un.code, 0, un.output);
        assert.match(un.output, new RegExp(`^kept: ${moved} \\(the login log`, "m"));
        assert.equal((await r.run("sh", "-c", r.pamChanges)).output, pamBefore);
      });

      await t.step("a human in syslog: install.sh refuses, naming the member and the risk", async () => {
        await r.run("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--groups", "syslog", "nph-human");
        try {
          const res = await installSh(...source, "--dry-run");
          assert.match(
            res.output,
            /a real install would stop here: unsafe log directory \/var\/log: \/var\/log is writable by group syslog, whose member nph-human \(uid \d+\) is not a system account \(UID_MIN \d+\) \(owner uid 0, mode 775\); whoever can rename or replace it could point pam_exec's appends as root elsewhere/,
          );
        } finally {
          await r.run("userdel", "nph-human");
        }
      });

      await t.step(
        "the package: config first, apt-get install; --setup and --verify clean; logins logged",
        async () => {
          const copy = await r.run(
            "sh",
            "-c",
            `cp -r ${server!.clientConfigDir} /etc/netauth && chmod -R go-w /etc/netauth`,
          );
          assert.equal(copy.code, 0, copy.output);
          const res = await r.run("apt-get", "install", "-y", "-q", deb);
          assert.equal(res.code, 0, res.output);
          assert.match(res.output, /check: server: ok/);
          const setup = await r.run("netauth-pam-helper", "--setup");
          assert.equal(setup.code, 0, setup.output);
          const verify = await r.run("netauth-pam-helper", "--verify");
          assert.equal(verify.code, 0, verify.output);
          assert.doesNotMatch(verify.output, DRIFT);
          assert.match(
            verify.output,
            /^ok path log directory \/var\/log: .*\(group syslog writes \/var\/log: a system log group\)$/m,
          );
          assert.match(
            verify.output,
            /^ok log \/etc\/netauth-pam-helper\.conf: log_file \/var\/log\/netauth-pam-helper\.log, as --setup wrote it$/m,
          );
          const ok = await login(ALICE_SECRET);
          assert.equal(ok.code, 0, `${ok.output}\n${ok.log}`);
          assert.match(ok.log, /outcome=authenticated exit=0/);
        },
      );

      const moved = "/var/lib/netauth-pam-helper-log/netauth-pam-helper.log";
      await t.step(
        "log_file in /etc/netauth-pam-helper.conf: DRIFT until --setup, then PAM and logins follow",
        async () => {
          const edit = await r.run(
            "sed",
            "-i",
            `s#^log_file = .*#log_file = ${moved}#`,
            "/etc/netauth-pam-helper.conf",
          );
          assert.equal(edit.code, 0, edit.output);
          const stale = await r.run("netauth-pam-helper", "--verify", "--quiet");
          assert.equal(stale.code, 1, stale.output);
          assert.match(
            stale.output,
            new RegExp(
              `^DRIFT log /etc/netauth-pam-helper\\.conf: log_file ${moved}, but --setup wrote ${LOG}: run netauth-pam-helper --setup$`,
              "m",
            ),
          );
          const setup = await r.run("netauth-pam-helper", "--setup");
          assert.equal(setup.code, 0, setup.output);
          assert.match(setup.output, /pam-configs\/netauth: log=.* PAM updated/);
          assert.equal((await read("/etc/pam.d/common-auth")).match(new RegExp(`log=${moved} `, "g"))?.length, 1);
          const verify = await r.run("netauth-pam-helper", "--verify");
          assert.equal(verify.code, 0, verify.output);
          assert.match(
            verify.output,
            new RegExp(`^ok build /usr/share/pam-configs/netauth: as shipped, with log=${moved}`, "m"),
          );
          const ok = await login(ALICE_SECRET, moved);
          assert.equal(ok.code, 0, `${ok.output}\n${ok.log}`);
          assert.match(ok.log, /outcome=authenticated exit=0/);
        },
      );

      await t.step("reinstall: dpkg puts the shipped profile back, postinst's --setup the moved path", async () => {
        const res = await r.run("dpkg", "-i", deb);
        assert.equal(res.code, 0, res.output);
        assert.match(await read("/usr/share/pam-configs/netauth"), new RegExp(`log=${moved} `));
        assert.match(await read("/etc/pam.d/common-account"), new RegExp(`log=${moved} `));
        const verify = await r.run("netauth-pam-helper", "--verify", "--quiet");
        assert.equal(verify.code, 0, verify.output);
      });

      await t.step("purge: the conffile goes, /etc/pam.d as before", async () => {
        const res = await r.run("apt-get", "purge", "-y", "-q", "netauth-pam-helper");
        assert.equal(res.code, 0, res.output);
        assert.notEqual((await r.run("test", "-e", "/etc/netauth-pam-helper.conf")).code, 0);
        assert.equal((await r.run("sh", "-c", r.pamChanges)).output, pamBefore);
      });
    } finally {
      await root?.stop();
      await server?.cleanup();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);
