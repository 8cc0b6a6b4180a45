/**
 * What `--verify` prints, for `install.sh --verify` and the package's `netauth-pam-helper --verify` alike: every
 * check as a line (plain), only the DRIFT lines (`--quiet`), or one JSON object on one line (`--json`, for
 * monitoring). Plain and quiet end with the same summary line; every form exits the same: 0 when every check is
 * ok, 1 on any DRIFT, 2 without a usable manifest (3: the words after --verify were wrong).
 *
 * @module
 */

/** One check of `--verify`. */
export interface Check {
  /** `ok` or `DRIFT`. */
  ok: boolean;
  /** What was checked, and what was found; its first word names the kind of check (sha256, owner, pam, ...). */
  what: string;
}

/** How the report is printed. */
export type ReportForm = "plain" | "quiet" | "json";

/** `--verify`'s exit statuses, the same in every form. */
export const VERIFY_EXIT = { OK: 0, DRIFT: 1, NO_MANIFEST: 2, USAGE: 3 } as const;

/** The `format` of `--json`'s object: a new one only when a key changes meaning or goes away. */
export const VERIFY_REPORT_FORMAT = "netauth-pam-helper/verify/v1";

/** `--verify --json`: one object, its keys stable for monitoring. */
export interface VerifyReport {
  /** `VERIFY_REPORT_FORMAT`. */
  format: typeof VERIFY_REPORT_FORMAT;
  /** The exit status `--verify` ends with. */
  status: number;
  /** Why there was nothing to check (exit 2), else null. */
  error: string | null;
  /** How many checks, how many ok, how many DRIFT. */
  summary: { checks: number; ok: number; drift: number };
  /** Every check in the order the plain form prints them. */
  checks: { result: "ok" | "drift"; kind: string; what: string }[];
}

/** The form the words after `--verify` ask for: none, `--quiet` or `--json`; an error text otherwise. */
export function reportForm(words: string[]): ReportForm | { error: string } {
  const unknown = words.find((word) => word !== "--quiet" && word !== "--json");
  if (unknown !== undefined) return { error: `--verify takes --quiet or --json, not ${unknown}` };
  if (new Set(words).size > 1) return { error: "--quiet and --json exclude each other" };
  return words[0] === "--quiet" ? "quiet" : words[0] === "--json" ? "json" : "plain";
}

/** Prints the checks in `form` and gives back the exit status (0 all ok, 1 any DRIFT). */
export function reportChecks(checks: Check[], print: (line: string) => void, form: ReportForm = "plain"): number {
  const drift = checks.filter((c) => !c.ok).length;
  const status = drift === 0 ? VERIFY_EXIT.OK : VERIFY_EXIT.DRIFT;
  if (form === "json") {
    print(JSON.stringify(jsonReport(status, null, checks)));
    return status;
  }
  for (const check of checks) {
    if (form === "plain" || !check.ok) print(`${check.ok ? "ok" : "DRIFT"} ${check.what}`);
  }
  print(drift === 0 ? `verified: ${checks.length} checks ok` : `${drift} of ${checks.length} checks DRIFT`);
  return status;
}

/** No usable manifest: `message` as one line, or in `--json` the object with it as `error`; exit 2. */
export function reportUnusable(message: string, print: (line: string) => void, form: ReportForm): number {
  print(form === "json" ? JSON.stringify(jsonReport(VERIFY_EXIT.NO_MANIFEST, message, [])) : message);
  return VERIFY_EXIT.NO_MANIFEST;
}

function jsonReport(status: number, error: string | null, checks: Check[]): VerifyReport {
  const drift = checks.filter((c) => !c.ok).length;
  return {
    format: VERIFY_REPORT_FORMAT,
    status,
    error,
    summary: { checks: checks.length, ok: checks.length - drift, drift },
    checks: checks.map((c) => ({ result: c.ok ? "ok" : "drift", kind: c.what.split(" ")[0], what: c.what })),
  };
}
