import assert from "node:assert/strict";
import { type LauncherRun, verifyBuild } from "../../src/install/verify_build.ts";
import { VERSION } from "../../src/version.ts";

const FLAGS = ["--no-prompt", "--allow-read=/etc/netauth"];
const good: Record<string, LauncherRun> = {
  "--version": { code: 0, stdout: `netauth-pam-helper ${VERSION}\n` },
  "": { code: 3, stdout: "" },
  "--audit": { code: 0, stdout: JSON.stringify({ declared: FLAGS, unexpected: [] }) },
};
const verify = (answers: Record<string, LauncherRun>) =>
  verifyBuild((args) => Promise.resolve({ ...good, ...answers }[args.join(" ")]), FLAGS);

Deno.test("a good build passes", async () => {
  assert.deepEqual(await verify({}), []);
});

Deno.test("a REPL or another program in the helper's place is refused on every count", async () => {
  const repl = { code: 0, stdout: "deno 2.9.6 (stable)\n" };
  assert.deepEqual(await verify({ "--version": repl, "": { code: 0, stdout: "" }, "--audit": repl }), [
    `--version printed "deno 2.9.6 (stable)" (exit 0), not "netauth-pam-helper ${VERSION}"`,
    "without PAM_TYPE it exited 0, not 3 (fail closed)",
    "--audit printed no JSON report (exit 0)",
  ]);
});

Deno.test("a sandbox wider or other than declared is refused", async () => {
  const wider = { code: 4, stdout: JSON.stringify({ declared: [...FLAGS, "--allow-run"], unexpected: ["run:any"] }) };
  const problems = await verify({ "--audit": wider });
  assert.equal(problems.length, 2, problems.join("\n"));
  assert.match(problems[0], /^--audit declares .*--allow-run.*, not /);
  assert.equal(problems[1], '--audit found permissions beyond the declared ones: ["run:any"]');
});
