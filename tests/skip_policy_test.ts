// testkit/skip.ts, the one skip policy: a test whose prerequisite is missing is skipped (and said so) outside
// CI, and fails under CI=true. Run as a child `deno test`, as CI would run it.
import assert from "node:assert/strict";

const SKIP = new URL("../testkit/skip.ts", import.meta.url).href;

async function runGated(ci: boolean): Promise<{ code: number; out: string }> {
  const dir = await Deno.makeTempDir({ prefix: "netauth-skip-" });
  try {
    const file = `${dir}/gated_test.ts`;
    Deno.writeTextFileSync(
      file,
      `import { testWhere } from "${SKIP}";\n` +
        `testWhere("no frobnicator here", { name: "gated", fn() {} });\n` +
        `testWhere(undefined, { name: "ungated", fn() {} });\n`,
    );
    const env: Record<string, string> = { NO_COLOR: "1", CI: ci ? "true" : "" };
    const res = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--no-check", "--allow-env=CI", file],
      env,
      cwd: dir,
    }).output();
    const text = new TextDecoder();
    return { code: res.code, out: text.decode(res.stdout) + text.decode(res.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("outside CI a missing prerequisite skips the test and says why", async () => {
  const run = await runGated(false);
  assert.equal(run.code, 0, run.out);
  assert.match(run.out, /skipping "gated": no frobnicator here/);
  assert.match(run.out, /gated \.\.\. ignored/);
  assert.match(run.out, /1 passed \| 0 failed \| 1 ignored/);
});

Deno.test("under CI=true nothing is skipped: the test fails, naming what is missing", async () => {
  const run = await runGated(true);
  assert.equal(run.code, 1, run.out);
  assert.match(run.out, /CI=true needs every prerequisite, but no frobnicator here/);
  assert.match(run.out, /1 passed \| 1 failed/);
  assert.doesNotMatch(run.out, /ignored/);
});
