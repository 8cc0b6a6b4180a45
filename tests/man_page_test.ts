// man/netauth-pam-helper.8 against --help: the same options with the same words, and exactly the exit codes
// of src/exit_codes.ts. The page is written by hand; this test is what keeps it from drifting.
import assert from "node:assert/strict";
import { helpText } from "../src/commands/help.ts";
import { EXIT_CODES } from "../src/exit_codes.ts";

const PAGE = Deno.readTextFileSync(new URL("../man/netauth-pam-helper.8", import.meta.url));
/** Options only the Debian package's front script takes (packaging/netauth-pam-helper.sh). */
const PACKAGE_ONLY = ["--setup", "--verify"];

/** Plain text of roff source lines: `\-` as `-`, font requests and quotes dropped. */
const plain = (line: string) =>
  line.replace(/^\.(BI|B|I|BR|IR|RB)\s+/, "").replaceAll('"', "").replaceAll("\\-", "-").replace(/\s+/g, " ").trim();

/** The `.TP` entries of one section: term -> body. */
function entries(section: string): Map<string, string> {
  const text = PAGE.split(`.SH ${section}\n`)[1].split("\n.SH ")[0];
  const map = new Map<string, string>();
  for (const item of text.split(".TP\n").slice(1)) {
    const [term, ...body] = item.trimEnd().split("\n");
    map.set(plain(term), body.map(plain).join(" "));
  }
  return map;
}

/** --help's options: signature -> description, continuation lines joined. */
function helpOptions(): Map<string, string> {
  const lines = helpText().split("Options:\n")[1].split("\n\n")[0].split("\n");
  const map = new Map<string, string>();
  let last = "";
  for (const line of lines) {
    const match = /^ {2}(--\S+(?: [A-Z]+)?)\s{2,}(.*)$/.exec(line);
    if (match) map.set(last = match[1], match[2]);
    else if (/^\s+\S/.test(line) && last && !line.trim().startsWith("--")) {
      map.set(last, `${map.get(last)} ${line.trim()}`);
    } else for (const name of line.trim().split(", ")) map.set(last = name, "");
  }
  return map;
}

Deno.test("man page: every --help option with --help's own words, and nothing --help lacks", () => {
  const man = entries("OPTIONS");
  const help = helpOptions();
  for (const [option, words] of help) {
    assert.ok(man.has(option), `the man page lacks ${option}`);
    if (words) assert.equal(man.get(option), words, `${option} is described differently`);
  }
  const extra = [...man.keys()].filter((o) => !help.has(o) && !PACKAGE_ONLY.includes(o));
  assert.deepEqual(extra, [], "options in the man page that --help does not know");
});

Deno.test("man page: exactly the exit codes of src/exit_codes.ts, with their meanings", () => {
  const man = entries("EXIT STATUS");
  const want = new Map(EXIT_CODES.map((e) => [String(e.code), `${e.pamName}: ${e.meaning}`]));
  assert.deepEqual(man, want);
});

Deno.test("man page: the sections issue 18 asks for, in order", () => {
  const sections = [...PAGE.matchAll(/^\.SH (.+)$/gm)].map((m) => m[1]);
  assert.deepEqual(sections, [
    "NAME",
    "SYNOPSIS",
    "DESCRIPTION",
    "OPTIONS",
    "EXIT STATUS",
    "FILES",
    "PAM LINES",
    "OFFLINE CACHE",
    "EXAMPLES",
    "SEE ALSO",
  ]);
});

Deno.test("man page: PAM LINES are the package's profile (pam.d/debian/netauth with /usr/sbin), word for word", () => {
  const profile = Deno.readTextFileSync(new URL("../pam.d/debian/netauth", import.meta.url));
  const words = (line: string) => line.trim().split(/\s+/).join(" ");
  const want: string[] = [];
  let type = "";
  for (const line of profile.split("\n")) {
    const header = /^(Auth|Account):$/.exec(line);
    if (header) type = header[1].toLowerCase();
    else if (/^\s/.test(line) && line.trim() && type) {
      want.push(words(`${type} ${line.replaceAll("/usr/local/sbin/", "/usr/sbin/")}`));
    } else if (!/^\s/.test(line)) type = "";
  }
  const section = PAGE.split(".SH PAM LINES\n")[1].split("\n.SH ")[0];
  const got = section.split(".nf\n")[1].split("\n.fi")[0].split("\n").filter((l) => !l.startsWith("."))
    .map((l) => words(l.replaceAll("\\-", "-")));
  assert.deepEqual(got, want);
});
