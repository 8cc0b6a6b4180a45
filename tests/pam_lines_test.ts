// The PAM lines live in pam.d/ alone: install.sh prints pam.d/common-lines, and every PAM rule that README.md,
// docs/*.md, pam.d/README.md or `--help` quotes must be a line of some file there, word for word; the RPM's
// authselect profile is written from pam.d/rhel/ and must hold its rules, line for line.
import assert from "node:assert/strict";
import { helpText } from "../src/commands/help.ts";
import { codeBlocks, readDoc } from "../testkit/markdown.ts";
import { expectedAuthselectRules, isRule, normalize, rulesOf } from "../testkit/pam_rules.ts";
import { authselectProfile } from "../scripts/authselect_profile.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const PAM_DIR = `${ROOT}pam.d`;

function stackFiles(dir = PAM_DIR): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) files.push(...stackFiles(path));
    else if (!entry.name.endsWith(".md")) files.push(path);
  }
  return files.sort();
}

const known = new Set(stackFiles().flatMap((file) => rulesOf(Deno.readTextFileSync(file))));

/** PAM rules inside the fenced code blocks of a Markdown page. */
function quotedInMarkdown(path: string): string[] {
  return codeBlocks(readDoc(path)).flatMap((block) => block.split("\n").filter(isRule).map(normalize));
}

const docs = [
  "README.md",
  "pam.d/README.md",
  ...[...Deno.readDirSync(`${ROOT}docs`)].filter((e) => e.name.endsWith(".md")).map((e) => `docs/${e.name}`).sort(),
];

Deno.test("pam.d/ holds rules, and the profile's pam_exec lines are among them", () => {
  assert.ok(known.size > 20, [...known].join("\n"));
  assert.ok(known.has(
    "auth [success=end default=ignore] pam_exec.so expose_authtok quiet " +
      "log=/var/log/netauth-pam-helper.log /usr/local/sbin/netauth-pam-helper",
  ));
});

for (const doc of docs) {
  Deno.test(`every PAM rule ${doc} quotes is a line in pam.d/`, () => {
    const quoted = quotedInMarkdown(doc);
    assert.deepEqual(quoted.filter((rule) => !known.has(rule)), []);
  });
}

for (const doc of ["README.md", "docs/pam.md"]) {
  Deno.test(`${doc} quotes pam.d/common-lines in full`, () => {
    const common = rulesOf(Deno.readTextFileSync(`${PAM_DIR}/common-lines`));
    const quoted = quotedInMarkdown(doc);
    assert.deepEqual(common.filter((rule) => !quoted.includes(rule)), []);
  });
}

Deno.test("the PAM lines in --help are lines of pam.d/common-lines", () => {
  const quoted = helpText().split("\n").filter((line) => /^\s+(auth|account)\s/.test(line)).map(normalize);
  assert.equal(quoted.length, 2, helpText());
  const common = rulesOf(Deno.readTextFileSync(`${PAM_DIR}/common-lines`));
  assert.deepEqual(quoted.filter((rule) => !common.includes(rule)), []);
});

Deno.test("install.sh prints pam.d/common-lines for its --prefix, line for line", async () => {
  const out = await new Deno.Command(`${ROOT}install.sh`, {
    args: ["--dry-run", "--mode", "bundle", "--prefix", "/opt/na", "--conf-dir", "/nonexistent"],
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const text = new TextDecoder().decode(out.stdout);
  const printed = text.split(/^PAM lines to add.*$/m)[1]?.split("\n").filter((line) => /^ {2}\S/.test(line));
  const expected = rulesOf(Deno.readTextFileSync(`${PAM_DIR}/common-lines`))
    .map((rule) => rule.replace("/usr/local/sbin/", "/opt/na/sbin/"));
  assert.ok(expected.some((rule) => rule.includes("/opt/na/sbin/netauth-pam-helper")));
  assert.deepEqual(printed?.map(normalize), expected);
});

Deno.test("the RPM's authselect profile: system-auth, password-auth and postlogin hold pam.d/rhel/'s rules in order", () => {
  const profile = authselectProfile();
  const expected = expectedAuthselectRules(PAM_DIR);
  for (const [name, rules] of Object.entries(expected)) assert.deepEqual(rulesOf(profile[name]), rules, name);
  assert.ok(expected["system-auth"].includes(
    "auth sufficient pam_exec.so expose_authtok quiet log=/var/log/netauth-pam-helper.log /usr/sbin/netauth-pam-helper",
  ));
  assert.ok(expected["system-auth"].some((rule) => rule.startsWith("account required pam_exec.so quiet ")));
  // Nothing else in the profile is a rule: README, REQUIREMENTS and nsswitch.conf only describe it.
  for (const name of ["README", "REQUIREMENTS", "nsswitch.conf"]) assert.deepEqual(rulesOf(profile[name]), [], name);
  assert.match(profile["nsswitch.conf"], /^passwd: +files cache systemd$/m);
});
