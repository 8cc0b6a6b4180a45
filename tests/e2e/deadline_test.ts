// Issue 16: under a storm the log said ms=1478 while the user waited 5-11 s, because the deadline started when the
// module ran. Through the installed launcher both count from the kernel's start of the process pam_exec forked:
// a process that spent three seconds before it exec'd the launcher has already used up a two-second deadline.
import assert from "node:assert/strict";
import { ALICE_SECRET } from "../../testkit/netauthd.ts";
import { authAsPamExec, e2eTest, missingPrerequisite, withInstalledHelper } from "./pam.ts";

const missing = await missingPrerequisite();

e2eTest("the deadline and ms= count from the process's start, time before the launcher included", missing, async () => {
  await withInstalledHelper(async ({ prefix }) => {
    // The forked process waits, then execs the launcher in place, as pam_exec's child does after its set-up.
    const login = (delay: string) =>
      authAsPamExec(
        ["/bin/sh", "-c", `sleep ${delay}; exec "$0" "$@"`, `${prefix}/sbin/netauth-pam-helper`, "--timeout", "2"],
        ALICE_SECRET,
        "netauth-deadline",
      );
    const prompt = await login("0");
    assert.equal(prompt.code, 0, prompt.line); // the right password, in time
    const late = await login("3");
    assert.equal(late.code, 9, late.line);
    // The deadline's timer, or the check that NetAuth's share still holds a real try (deadline.ts), whichever first.
    assert.match(late.line, /outcome=(deadline|no_time) /);
    const ms = Number(late.line.match(/ ms=(\d+)/)?.[1]);
    assert.ok(ms >= 3000, `ms=${ms} leaves out the three seconds before the launcher ran`);
  });
});
