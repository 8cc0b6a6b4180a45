// Issue 16: under a storm the log said ms=1478 while the user waited 5-11 s, because the deadline started when the
// module ran. Through the installed launcher both count from the kernel's start of the process pam_exec forked:
// a process that spent two seconds before it exec'd the launcher has already used up a one-second deadline.
import assert from "node:assert/strict";
import { ALICE_SECRET, type NetAuthd, startNetAuthd } from "../support/netauthd.ts";
import { e2eTest, installHelper, missingPrerequisite, ROOT, sh } from "./pam.ts";

const missing = await missingPrerequisite();

e2eTest("the deadline and ms= count from the process's start, time before the launcher included", missing, async () => {
  const prefix = await Deno.makeTempDir({ prefix: "netauth-prefix-" });
  await Deno.chmod(prefix, 0o755);
  let server: NetAuthd | undefined;
  try {
    server = await startNetAuthd();
    await installHelper(prefix, server.clientConfigDir);
    const login = async (delay: string) => {
      // The forked process waits, then execs the launcher in place, as pam_exec's child does after its set-up.
      const child = new Deno.Command("/bin/sh", {
        args: ["-c", `sleep ${delay}; exec "$0" "$@"`, `${prefix}/sbin/netauth-pam-helper`, "--timeout", "1"],
        clearEnv: true,
        env: { PAM_TYPE: "auth", PAM_USER: "alice", PAM_SERVICE: "netauth-deadline" },
        stdin: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(ALICE_SECRET));
      await writer.close();
      const out = await child.output();
      return { code: out.code, line: new TextDecoder().decode(out.stderr).trim().split("\n").at(-1) ?? "" };
    };
    const prompt = await login("0");
    assert.equal(prompt.code, 0, prompt.line); // the right password, in time
    const late = await login("2");
    assert.equal(late.code, 9, late.line);
    assert.match(late.line, /outcome=deadline /);
    const ms = Number(late.line.match(/ ms=(\d+)/)?.[1]);
    assert.ok(ms >= 2000, `ms=${ms} leaves out the two seconds before the launcher ran`);
  } finally {
    await sh(`${ROOT}install.sh`, ["--uninstall", "--prefix", prefix]);
    await server?.cleanup();
    await Deno.remove(prefix, { recursive: true });
  }
});
