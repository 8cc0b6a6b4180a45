// The package's build settings (scripts/package_settings.ts): the version the helper reports is the package's,
// the maintainer is one checked setting, and the licence is one fact in LICENSE and debian/copyright.
import assert from "node:assert/strict";
import {
  BuildError,
  checkMaintainer,
  checkVersion,
  DEFAULT_MAINTAINER,
  LICENSE,
  versionModule,
} from "../../scripts/package_settings.ts";
import { VERSION } from "../../src/version.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const text = (rel: string) => Deno.readTextFileSync(`${ROOT}${rel}`);

Deno.test("versionModule: src/version.ts with the package's version, every other line as it was", async () => {
  const source = text("src/version.ts");
  const rewritten = versionModule(source, "0.1.1+fleet1");
  const changed = rewritten.split("\n").filter((line, i) => line !== source.split("\n")[i]);
  assert.deepEqual(changed, ['export const VERSION = "0.1.1+fleet1";']);
  const dir = await Deno.makeTempDir();
  try {
    Deno.writeTextFileSync(`${dir}/version.ts`, rewritten);
    assert.equal((await import(`file://${dir}/version.ts`)).VERSION, "0.1.1+fleet1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(versionModule(source, VERSION), source);
});

Deno.test("versionModule: no code through the version, no guessing when version.ts changed shape", () => {
  for (const bad of ['0.1"; Deno.exit(0); "', "0.1\\", "v1", "0.1 1", "0.1\n", ""]) {
    assert.throws(() => versionModule(text("src/version.ts"), bad), BuildError, JSON.stringify(bad));
    assert.throws(() => checkVersion(bad), /^BuildError: not a Debian version|not a Debian version/);
  }
  assert.throws(() => versionModule('export const VERSION = "1";\nexport const VERSION = "2";\n', "3"), BuildError);
  assert.throws(() => versionModule("export let VERSION = '1';\n", "3"), /no single line/);
});

Deno.test("checkMaintainer: `Name <address>` on one line; the default is one and not an example address", () => {
  assert.equal(checkMaintainer(DEFAULT_MAINTAINER), DEFAULT_MAINTAINER);
  assert.doesNotMatch(DEFAULT_MAINTAINER, /example\.|\.invalid>|\.test>|localhost/);
  assert.equal(checkMaintainer("Fleet Ops <fleet-ops@corp.example.net>"), "Fleet Ops <fleet-ops@corp.example.net>");
  const bad = [
    "",
    "fleet-ops@corp.net",
    "<fleet-ops@corp.net>",
    "Fleet Ops fleet-ops@corp.net",
    "Fleet Ops <fleet-ops>",
    "Fleet Ops <fleet-ops@corp.net> ",
    "Fleet Ops <fleet-ops@corp.net>\nDepends: evil",
    "Fleet\tOps <fleet-ops@corp.net>",
    "Fleet <Ops> <fleet-ops@corp.net>",
  ];
  for (const text of bad) {
    assert.throws(
      () => checkMaintainer(text),
      /--maintainer expects "Name <address>" on one line/,
      JSON.stringify(text),
    );
  }
});

Deno.test("the licence: LICENSE is MIT, debian/copyright says so for every file of ours, with the same text", () => {
  const license = text("LICENSE");
  assert.equal(LICENSE.spdx, "MIT");
  assert.match(license, /^MIT License\n\nCopyright \(c\) 2026 The netauth-pam-helper authors\n\n/);
  const paragraphs = text("packaging/debian/copyright").split("\n\n");
  const ours = paragraphs.find((p) => p.startsWith("Files: *\n"));
  assert.ok(ours, "no `Files: *` paragraph");
  assert.match(ours, /^Copyright: 2026 The netauth-pam-helper authors$/m);
  assert.match(ours, new RegExp(`^License: ${LICENSE.debian}$`, "m"));
  const standalone = paragraphs.find((p) => p.startsWith(`License: ${LICENSE.debian}\n`));
  assert.ok(standalone, `no stand-alone License: ${LICENSE.debian} paragraph with the text`);
  const words = (s: string) => s.replace(/^ \.$/gm, "").split(/\s+/).filter(Boolean).join(" ");
  const body = standalone.split("\n").slice(1).join("\n");
  assert.equal(words(body), words(license.split("\n\n").slice(2).join("\n\n")));
});
