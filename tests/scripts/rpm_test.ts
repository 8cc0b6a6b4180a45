// scripts/rpm.ts's pieces that need no rpmbuild: which versions an RPM can carry, and how %files marks the tree.
import assert from "node:assert/strict";
import { checkRpmVersion, filesSection } from "../../scripts/rpm.ts";
import { BuildError } from "../../scripts/package_settings.ts";

Deno.test("checkRpmVersion: a Debian version without '-' (rpm's release separator); nothing else", () => {
  for (const good of ["0.1.0", "0.1.1+fleet1", "1.0~rc1"]) assert.equal(checkRpmVersion(good), good);
  for (const bad of ["0.1.0-2", "v1", '0.1"', ""]) assert.throws(() => checkRpmVersion(bad), BuildError, bad);
});

Deno.test("filesSection: root's files; the conffile, licence and docs marked; only the package's own directories", async () => {
  const tree = await Deno.makeTempDir({ prefix: "netauth-rpm-files-" });
  try {
    for (
      const path of [
        "/etc/logrotate.d/netauth-pam-helper",
        "/usr/sbin/netauth-pam-helper",
        "/usr/lib/netauth-pam-helper/deno",
        "/usr/lib/systemd/system/netauth-pam-helper.service",
        "/usr/share/authselect/vendor/netauth/system-auth",
        "/usr/share/doc/netauth-pam-helper/copyright",
        "/usr/share/licenses/netauth-pam-helper/LICENSE",
      ]
    ) {
      Deno.mkdirSync(`${tree}${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
      Deno.writeTextFileSync(`${tree}${path}`, "x\n");
    }
    assert.deepEqual(filesSection(tree).split("\n"), [
      "%defattr(-,root,root,-)",
      "%config(noreplace) /etc/logrotate.d/netauth-pam-helper",
      "%dir /usr/lib/netauth-pam-helper",
      "/usr/lib/netauth-pam-helper/deno",
      "/usr/lib/systemd/system/netauth-pam-helper.service",
      "/usr/sbin/netauth-pam-helper",
      "%dir /usr/share/authselect/vendor/netauth",
      "/usr/share/authselect/vendor/netauth/system-auth",
      "%dir /usr/share/doc/netauth-pam-helper",
      "%doc /usr/share/doc/netauth-pam-helper/copyright",
      "%dir /usr/share/licenses/netauth-pam-helper",
      "%license /usr/share/licenses/netauth-pam-helper/LICENSE",
    ]);
  } finally {
    await Deno.remove(tree, { recursive: true });
  }
});
