import assert from "node:assert/strict";
import { pamExecLines, REFUSED_OPTIONS, requiredOptions } from "../src/verify_install.ts";

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

Deno.test("the README's options: quiet everywhere, expose_authtok on auth, seteuid nowhere", () => {
  assert.deepEqual(requiredOptions("auth"), ["expose_authtok", "quiet"]);
  assert.deepEqual(requiredOptions("account"), ["quiet"]);
  assert.deepEqual(REFUSED_OPTIONS, ["seteuid"]);
});
