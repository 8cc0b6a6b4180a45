import assert from "node:assert/strict";
import { parseManifest, REFUSED_OPTIONS, requiredOptions } from "../../src/install/verify_install.ts";
import { MANIFEST_FORMAT } from "../../src/manifest_format.ts";
import { hostPamSource, pamExecLines, type PamLine } from "../../src/install/pam_files.ts";

const HELPER = "/usr/local/sbin/netauth-pam-helper";

/** Every pam_exec line that runs the helper in the shipped PAM files (pam.d/, the only copy of the PAM lines). */
function shippedPamLines(): PamLine[] {
  const dir = new URL("../../pam.d/", import.meta.url).pathname;
  const source = hostPamSource({ destdir: "", pamDir: dir, targets: [HELPER] });
  const files = (sub: string): string[] =>
    [...Deno.readDirSync(`${dir}${sub}`)].flatMap((e) =>
      e.isDirectory ? files(`${sub}${e.name}/`) : e.name.endsWith(".md") ? [] : [`${dir}${sub}${e.name}`]
    );
  return files("").flatMap((file) => pamExecLines(file, Deno.readTextFileSync(file), source));
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

Deno.test("a hand-edited manifest without its sandbox or runtime directories is no usable manifest, not a crash", () => {
  const whole = {
    format: MANIFEST_FORMAT,
    files: [],
    artefact: "/a",
    sandbox: ["--allow-read=/etc/netauth"],
    runtimeDirs: [],
  };
  assert.deepEqual(parseManifest(JSON.stringify(whole)), whole);
  for (const broken of [{ sandbox: undefined }, { sandbox: [1] }, { sandbox: "--allow-all" }, { runtimeDirs: null }]) {
    assert.throws(() => parseManifest(JSON.stringify({ ...whole, ...broken })), /^Error: not a .* manifest$/);
  }
});
