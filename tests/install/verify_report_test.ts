// --verify's three forms (plain, --quiet, --json) for install.sh and the package: what a monitoring system reads,
// and the same exit status in each: 0 all ok, 1 any DRIFT, 2 no usable manifest, 3 wrong words.
import assert from "node:assert/strict";
import {
  type Check,
  reportChecks,
  reportForm,
  reportUnusable,
  VERIFY_REPORT_FORMAT,
  type VerifyReport,
} from "../../src/install/verify_report.ts";
import { verifyHost } from "../../src/install/package_setup.ts";
import { PACKAGED } from "../../src/install/package_layout.ts";

const ALL_OK: Check[] = [
  { ok: true, what: "sha256 /usr/sbin/netauth-pam-helper: 00" },
  { ok: true, what: "pam /etc/pam.d/sshd:1 auth: expose_authtok quiet" },
];
const ONE_DRIFT: Check[] = [
  ...ALL_OK,
  { ok: false, what: `pam /etc/pam.d/su:1 auth: lacks expose_authtok, quiet; carries seteuid (README, "PAM")` },
];

function printed(fn: (print: (line: string) => void) => number): { code: number; lines: string[] } {
  const lines: string[] = [];
  const code = fn((line) => lines.push(line));
  return { code, lines };
}

Deno.test("--verify's words: none, --quiet or --json; anything else is a usage error", () => {
  assert.equal(reportForm([]), "plain");
  assert.equal(reportForm(["--quiet"]), "quiet");
  assert.equal(reportForm(["--json"]), "json");
  assert.deepEqual(reportForm(["--quiet", "--json"]), { error: "--quiet and --json exclude each other" });
  assert.deepEqual(reportForm(["--verbose"]), { error: "--verify takes --quiet or --json, not --verbose" });
});

Deno.test("plain: every check and the summary; --quiet: only the DRIFT lines and the same summary; same exits", () => {
  assert.deepEqual(printed((p) => reportChecks(ALL_OK, p)), {
    code: 0,
    lines: [`ok ${ALL_OK[0].what}`, `ok ${ALL_OK[1].what}`, "verified: 2 checks ok"],
  });
  assert.deepEqual(printed((p) => reportChecks(ALL_OK, p, "quiet")), { code: 0, lines: ["verified: 2 checks ok"] });
  const plain = printed((p) => reportChecks(ONE_DRIFT, p));
  assert.equal(plain.code, 1);
  assert.equal(plain.lines.length, 4);
  assert.deepEqual(printed((p) => reportChecks(ONE_DRIFT, p, "quiet")), {
    code: 1,
    lines: [`DRIFT ${ONE_DRIFT[2].what}`, "1 of 3 checks DRIFT"],
  });
});

Deno.test("--json: one line, one object with stable keys: format, status, error, summary, every check", () => {
  const ok = printed((p) => reportChecks(ALL_OK, p, "json"));
  assert.equal(ok.code, 0);
  assert.equal(ok.lines.length, 1);
  const report: VerifyReport = JSON.parse(ok.lines[0]);
  assert.deepEqual(report, {
    format: VERIFY_REPORT_FORMAT,
    status: 0,
    error: null,
    summary: { checks: 2, ok: 2, drift: 0 },
    checks: [
      { result: "ok", kind: "sha256", what: ALL_OK[0].what },
      { result: "ok", kind: "pam", what: ALL_OK[1].what },
    ],
  });
  assert.equal(VERIFY_REPORT_FORMAT, "netauth-pam-helper/verify/v1");
  const drift = printed((p) => reportChecks(ONE_DRIFT, p, "json"));
  assert.equal(drift.code, 1);
  const drifted: VerifyReport = JSON.parse(drift.lines[0]);
  assert.equal(drifted.status, 1);
  assert.deepEqual(drifted.summary, { checks: 3, ok: 2, drift: 1 });
  assert.deepEqual(drifted.checks[2], { result: "drift", kind: "pam", what: ONE_DRIFT[2].what });
});

Deno.test("no usable manifest: exit 2 in every form; one line, or in --json the object with the error", () => {
  for (const form of ["plain", "quiet"] as const) {
    assert.deepEqual(printed((p) => reportUnusable("verify: no manifest", p, form)), {
      code: 2,
      lines: ["verify: no manifest"],
    });
  }
  const json = printed((p) => reportUnusable("verify: no manifest", p, "json"));
  assert.equal(json.code, 2);
  assert.deepEqual(JSON.parse(json.lines[0]), {
    format: VERIFY_REPORT_FORMAT,
    status: 2,
    error: "verify: no manifest",
    summary: { checks: 0, ok: 0, drift: 0 },
    checks: [],
  });
});

Deno.test("the package's --verify --json without a manifest: the object, exit 2", async () => {
  const root = await Deno.makeTempDir({ prefix: "netauth-verify-json-" });
  try {
    const lines: string[] = [];
    assert.equal(await verifyHost(root, (line) => lines.push(line), "json"), 2);
    assert.equal(lines.length, 1);
    const report: VerifyReport = JSON.parse(lines[0]);
    assert.equal(report.status, 2);
    assert.match(report.error!, new RegExp(`cannot use ${PACKAGED.manifest} .*run netauth-pam-helper --setup$`));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** Runs an entry point as its front end does (install.sh, the package's front script); stdout, stderr apart. */
async function run(module: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-all", new URL(`../../src/install/${module}`, import.meta.url).pathname, ...args],
    stdin: "null",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("the entry points take the words: wrong ones exit 3 with one line; --json with no manifest, exit 2", async () => {
  const missing = "/nonexistent/lib/netauth-pam-helper/manifest.json";
  const install = await run("verify_install.ts", ["--manifest", missing, "--json"]);
  assert.equal(install.code, 2, install.stderr);
  assert.equal(
    JSON.parse(install.stdout).error,
    `verify: no ${missing}: nothing to verify ` +
      "(install first, or pass its --prefix/--destdir)",
  );
  const both = await run("verify_install.ts", ["--manifest", missing, "--json", "--quiet"]);
  assert.deepEqual(both, { code: 3, stdout: "", stderr: "verify: --quiet and --json exclude each other\n" });
  const quiet = await run("verify_install.ts", ["--manifest", missing, "--quiet"]);
  assert.deepEqual([quiet.code, quiet.stdout, quiet.stderr.split("\n").length], [2, "", 2]);
  const setup = await run("package_setup.ts", ["--verify", "--loud"]);
  assert.deepEqual(setup, {
    code: 3,
    stdout: "",
    stderr: "netauth-pam-helper: --verify takes --quiet or --json, not --loud " +
      "(usage: netauth-pam-helper --setup [--login-slots N] | --verify [--quiet | --json])\n",
  });
  assert.equal((await run("package_setup.ts", ["--setup", "--json"])).code, 3);
});
