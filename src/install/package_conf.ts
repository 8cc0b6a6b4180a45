/**
 * The Debian package's own settings, `/etc/netauth-pam-helper.conf` (a conffile, shipped from packaging/):
 * `--setup` reads the log file's path there and writes it into what names it (the log, the PAM profile's
 * `log=`, manifest.json); `--verify` compares. One `key = value` a line, `#` comments; one key, `log_file`.
 *
 * @module
 */
import { sha256Hex } from "../digest.ts";
import { logPathProblem } from "./log_dir.ts";
import type { Check } from "./verify_report.ts";
import { PACKAGED } from "./package_layout.ts";

/** What the conffile sets. */
export interface PackageConf {
  /** The file pam_exec appends to (`log=`). */
  logFile: string;
}

/** The settings in `text` (`path` names the file in errors), or one line saying what is wrong. */
export function parsePackageConf(text: string, path = PACKAGED.conf): PackageConf | { error: string } {
  const conf: PackageConf = { logFile: PACKAGED.logFile };
  const seen = new Set<string>();
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const at = `${path}:${i + 1}`;
    const match = /^([a-z_]+)\s*=\s*(.*)$/.exec(line);
    if (!match) return { error: `${at}: expected key = value, got ${JSON.stringify(line.slice(0, 64))}` };
    const [, key, value] = match;
    if (key !== "log_file") return { error: `${at}: unknown setting ${key} (the one setting is log_file)` };
    if (seen.has(key)) return { error: `${at}: ${key} is set twice` };
    seen.add(key);
    const problem = logPathProblem(value);
    if (problem) return { error: `${at}: log_file: ${problem}` };
    conf.logFile = value;
  }
  return conf;
}

/** The host's settings below `destdir`; without the file (the admin removed it), the defaults. */
export function readPackageConf(destdir: string): PackageConf | { error: string } {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${destdir}${PACKAGED.conf}`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { logFile: PACKAGED.logFile };
    return { error: `cannot read ${PACKAGED.conf} (${(err as Error).name})` };
  }
  return parsePackageConf(text);
}

/** The PAM profile `text` with every pam_exec line's `log=` naming `logFile`. */
export function withLogFile(text: string, logFile: string): string {
  return text.replace(/(\spam_exec\.so\s[^\n]*?\blog=)\S+/g, `$1${logFile}`);
}

/** The PAM profile setup rewrote for a moved log: as shipped but for `log=`, which names `logFile`. */
export async function profileCheck(destdir: string, shipped: string, logFile: string): Promise<Check> {
  const what = `build ${PACKAGED.pamProfile}`;
  let text: string;
  try {
    text = Deno.readTextFileSync(`${destdir}${PACKAGED.pamProfile}`);
  } catch (err) {
    return { ok: false, what: `${what}: cannot be read (${(err as Error).name})` };
  }
  const asShipped = await sha256Hex(new TextEncoder().encode(withLogFile(text, PACKAGED.logFile))) === shipped;
  if (!asShipped) return { ok: false, what: `${what}: differs from the build's in more than log=` };
  if (withLogFile(text, logFile) !== text) return { ok: false, what: `${what}: log= does not name ${logFile}` };
  return { ok: true, what: `${what}: as shipped, with log=${logFile} (${PACKAGED.conf})` };
}
