// --verify reads PAM files as libpam and pam_exec do: each spelling that runs the helper is found.
import assert from "node:assert/strict";
import {
  hasOption,
  hostPamSource,
  logicalLines,
  pamExecLines,
  type PamLine,
  type PamSource,
  pamTokens,
} from "../src/pam_files.ts";
import { requiredOptions } from "../src/install/verify_install.ts";

const HELPER = "/usr/local/sbin/netauth-pam-helper";

/** Files by path; include names resolve in /etc/pam.d unless absolute. */
function source(files: Record<string, string>): PamSource {
  return {
    read: (path) => files[path],
    resolve: (name) => name.startsWith("/") ? name : `/etc/pam.d/${name}`,
    runsHelper: (command) => command.replace(/\/+/g, "/").replace(/\/\.\//g, "/") === HELPER,
  };
}

const lines = (text: string, files: Record<string, string> = {}) =>
  pamExecLines("/etc/pam.d/x", text, source({ "/etc/pam.d/x": text, ...files }));

/** What --verify would say of the line: the README's options it lacks (none: it passes). */
const lacking = (line: PamLine) => requiredOptions(line.type).filter((o) => !hasOption(line.options, o));

Deno.test("every enabled pam_exec line that runs the helper is found, with pam_exec's own options", () => {
  const text = [
    "# auth required pam_exec.so /usr/local/sbin/netauth-pam-helper",
    "auth [success=1 default=ignore] pam_exec.so expose_authtok quiet seteuid /usr/local/sbin/netauth-pam-helper",
    "account required pam_exec.so quiet /usr/local/sbin/netauth-pam-helper --require-group seteuid",
    "-auth  sufficient  /lib/x86_64-linux-gnu/security/pam_exec.so \\",
    "   quiet seteuid /usr/local/sbin/netauth-pam-helper",
    "auth required pam_exec.so quiet /usr/bin/other-helper",
    "auth required pam_unix.so nullok",
    "session optional pam_exec.so seteuid /usr/local/sbin/netauth-pam-helper # a comment",
  ].join("\n");
  const at = { file: "/etc/pam.d/x", command: HELPER };
  assert.deepEqual(lines(text), [
    { ...at, line: 2, type: "auth", options: ["expose_authtok", "quiet", "seteuid"] },
    // The helper's own arguments (after its path) are not pam_exec options.
    { ...at, line: 3, type: "account", options: ["quiet"] },
    { ...at, line: 4, type: "auth", options: ["quiet", "seteuid"] },
    { ...at, line: 8, type: "session", options: ["seteuid"] },
  ]);
});

Deno.test("issue 16: each spelling PAM runs is found, and reported when it lacks the README's options", () => {
  const spellings: [string, string][] = [
    ["a type in capitals", `AUTH required pam_exec.so quiet ${HELPER}`],
    ["a type in mixed case, silent", `-Auth required pam_exec.so quiet ${HELPER}`],
    ["the command in brackets", `auth required pam_exec.so quiet [${HELPER}]`],
    ["the module in brackets", `auth required [pam_exec.so] quiet ${HELPER}`],
    ["the options in brackets", `auth required pam_exec.so [quiet] ${HELPER}`],
    ["a doubled slash", `auth required pam_exec.so quiet /usr/local//sbin/netauth-pam-helper`],
    ["a /./", `auth required pam_exec.so quiet /usr/local/./sbin/netauth-pam-helper`],
    ["a continuation", `auth required \\\n  pam_exec.so quiet \\\n\n# between\n ${HELPER}`],
    ["an Include control", `auth Include common-auth`],
    ["a substack", `auth substack /etc/pam.d/common-auth`],
    ["@include", `@include common-auth`],
  ];
  const common = { "/etc/pam.d/common-auth": `auth required pam_exec.so quiet ${HELPER}\n` };
  for (const [what, text] of spellings) {
    const found = lines(text, common);
    assert.equal(found.length, 1, `${what}: ${JSON.stringify(found)}`);
    assert.deepEqual(lacking(found[0]), ["expose_authtok"], what);
  }
  // pam_exec compares its options without regard to case: these pass.
  const upper = lines(`auth required pam_exec.so EXPOSE_AUTHTOK Quiet SETEUID ${HELPER}`);
  assert.deepEqual(lacking(upper[0]), []);
});

Deno.test("what PAM does not run is not reported: comments, other types of an include, unknown options first", () => {
  const common = {
    "/etc/pam.d/common-auth": `account required pam_exec.so quiet ${HELPER}\n`,
    "/etc/pam.d/loop": "@include loop\nauth include loop\n",
  };
  assert.deepEqual(lines(`auth include common-auth`, common), [], "an auth include reads auth lines only");
  assert.equal(lines(`@include common-auth`, common).length, 1, "@include reads every type");
  assert.deepEqual(lines(`@include loop`, common), [], "a loop ends");
  assert.deepEqual(lines(`auth include missing`), []);
  // pam_exec runs the first word it does not know: here "bogus", not the helper.
  assert.deepEqual(lines(`auth required pam_exec.so quiet bogus ${HELPER}`), []);
  assert.deepEqual(lines(`auth required pam_exec.so quiet # ${HELPER}`), []);
  assert.deepEqual(lines(`auth required pam_exec.so quiet \\ # ${HELPER}\n${HELPER}`), [], "# ends a continued line");
  assert.deepEqual(lines(`auth required pam_exec.so quiet ${HELPER}\r`), [], "PAM keeps the CR in the word");
});

Deno.test("libpam's words and lines", () => {
  assert.deepEqual(pamTokens("auth [success=1 default=ignore] pam_exec.so [a\\]b] [x]y [open"), [
    "auth",
    "success=1 default=ignore",
    "pam_exec.so",
    "a]b",
    "x",
    "y",
    "open",
  ]);
  assert.deepEqual(logicalLines("a \\\n\n  # c\nb\n#d\n e # f\ng \\"), [
    { line: 1, text: "a  b" },
    { line: 6, text: " e " },
    { line: 7, text: "g  " },
  ]);
});

Deno.test("the host's PAM files: includes resolve as libpam's, the helper is known by any spelling of its path", () => {
  const files: Record<string, string> = { "/etc/pam.d/a": "", "/usr/lib/pam.d/a": "", "/usr/lib/pam.d/b": "" };
  const links: Record<string, string> = { "/usr/sbin/nh": HELPER, [HELPER]: HELPER };
  const host = hostPamSource({
    destdir: "",
    pamDir: "/etc/pam.d",
    targets: [HELPER],
    readText: (path) =>
      files[path] ?? (() => {
        throw new Deno.errors.NotFound(path);
      })(),
    realPath: (path) =>
      links[path] ?? (() => {
        throw new Deno.errors.NotFound(path);
      })(),
  });
  assert.deepEqual(["a", "b", "c", "/etc//x/./y"].map(host.resolve), [
    "/etc/pam.d/a",
    "/usr/lib/pam.d/b",
    undefined,
    "/etc/x/y",
  ]);
  assert.deepEqual(
    ["/usr/local//sbin/./netauth-pam-helper/", "/usr/sbin/nh", "/usr/bin/other"].map(host.runsHelper),
    [true, true, false],
  );
});
