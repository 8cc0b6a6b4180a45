import assert from "node:assert/strict";
import { pamExecLines, type PamLine, REFUSED_OPTIONS, requiredOptions } from "../../src/install/verify_install.ts";

const HELPER = "/usr/local/sbin/netauth-pam-helper";

Deno.test("every enabled pam_exec line that runs the helper is found, with pam_exec's own options", () => {
  const text = [
    "# auth required pam_exec.so /usr/local/sbin/netauth-pam-helper",
    "auth [success=1 default=ignore] pam_exec.so expose_authtok quiet seteuid /usr/local/sbin/netauth-pam-helper",
    "account required pam_exec.so quiet /usr/local/sbin/netauth-pam-helper --require-group seteuid",
    "-auth  sufficient  /lib/x86_64-linux-gnu/security/pam_exec.so \\",
    "   quiet seteuid /usr/local/sbin/netauth-pam-helper",
    "auth required pam_exec.so quiet /usr/bin/other-helper",
    "auth required pam_unix.so nullok",
    "@include common-auth",
    "session optional pam_exec.so seteuid /usr/local/sbin/netauth-pam-helper # a comment",
  ].join("\n");
  assert.deepEqual(pamExecLines("/etc/pam.d/x", text, [HELPER]), [
    { file: "/etc/pam.d/x", line: 2, type: "auth", options: ["expose_authtok", "quiet", "seteuid"] },
    // The helper's own arguments (after its path) are not pam_exec options.
    { file: "/etc/pam.d/x", line: 3, type: "account", options: ["quiet"] },
    { file: "/etc/pam.d/x", line: 4, type: "auth", options: ["quiet", "seteuid"] },
    { file: "/etc/pam.d/x", line: 9, type: "session", options: ["seteuid"] },
  ]);
});

/** Every pam_exec line that runs the helper in the shipped PAM files (pam.d/, the only copy of the PAM lines). */
function shippedPamLines(): PamLine[] {
  const dir = new URL("../../pam.d/", import.meta.url).pathname;
  const files = (sub: string): string[] =>
    [...Deno.readDirSync(`${dir}${sub}`)].flatMap((e) =>
      e.isDirectory ? files(`${sub}${e.name}/`) : e.name.endsWith(".md") ? [] : [`${dir}${sub}${e.name}`]
    );
  return files("").flatMap((file) => pamExecLines(file, Deno.readTextFileSync(file), [HELPER]));
}

Deno.test("the README's options: quiet everywhere, expose_authtok on auth, seteuid nowhere", () => {
  // What --verify requires is what every shipped line carries (log= is recommended, not required): read, not restated.
  const lines = shippedPamLines();
  for (const type of ["auth", "account"]) {
    const ofType = lines.filter((line) => line.type === type);
    assert.ok(ofType.length >= 4, `${type} lines in pam.d/: ${ofType.length}`);
    const common = ofType[0].options.filter((o) => !o.startsWith("log=") && ofType.every((l) => l.options.includes(o)));
    assert.deepEqual(requiredOptions(type), common.sort(), type);
  }
  for (const type of ["auth", "account"]) assert.ok(requiredOptions(type).includes("quiet"));
  assert.deepEqual(REFUSED_OPTIONS, ["seteuid"]);
  assert.ok(
    !lines.some((line) => line.options.some((o) => REFUSED_OPTIONS.includes(o))),
    "a shipped line carries seteuid",
  );
  assert.ok(
    requiredOptions("auth").includes("expose_authtok") && !requiredOptions("account").includes("expose_authtok"),
  );
});
