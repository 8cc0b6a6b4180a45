// scripts/package_tree.ts's stageSource: the package's bundles are built from a copy of the source whose helper
// reports the package's version, so `deno task deb --version V` gives a helper that says V.
import assert from "node:assert/strict";
import { stageSource } from "../../scripts/package_tree.ts";
import { denoDir } from "../../testkit/run_helper.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("stageSource: the staged helper's --version says the package's version; the checkout is untouched", async () => {
  const versionBefore = Deno.readTextFileSync(`${ROOT}src/version.ts`);
  const dir = await Deno.makeTempDir({ prefix: "netauth-stage-source-" });
  try {
    stageSource(dir, "0.1.1+fleet1");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--frozen", "--allow-env", "--config", `${dir}/deno.json`, `${dir}/src/main.ts`]
        .concat(["--version"]),
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin", DENO_DIR: denoDir() },
    }).output();
    const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(said, "netauth-pam-helper 0.1.1+fleet1\n");
    assert.equal(out.code, 0);
    for (const rel of ["src/main.ts", "src/install/package_setup.ts", "scripts/bundle.ts", "deno.lock"]) {
      assert.equal(Deno.readTextFileSync(`${dir}/${rel}`), Deno.readTextFileSync(`${ROOT}${rel}`), rel);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(Deno.readTextFileSync(`${ROOT}src/version.ts`), versionBefore);
});
