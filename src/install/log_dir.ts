/**
 * The one rule for the log file's directories, for install.sh and the package alike. pam_exec opens `log=` as
 * root, following links: whoever can rename a name in a directory on the way can point root's appends at any file.
 * So each directory up to "/" must pass file_modes.ts's strict rule, with one exception: a root-owned directory
 * that its group (and no one else) may write passes when that group is a system log group (`syslog`, Ubuntu's
 * `/var/log` is `root:syslog 0775`) whose every member is a system account. That group can already redirect the
 * root daemons' own appends there (dpkg's, sshd's `btmp`); rsyslog runs as its user. `adm` is not one: it is the
 * group of people who read logs. The reasoning is in docs/security.md ("The log file").
 *
 * @module
 */
import { type Checked, denoFs, type Fs, onlyGroupWrites, walkModes, type WalkResult } from "../file_modes.ts";
import { dirname } from "../paths.ts";

/** The groups whose write on a directory of the log's path is the system's own. */
export const SYSTEM_LOG_GROUPS: readonly string[] = ["syslog"];

/** The account files the rule reads (their text; "" when missing). */
export interface Accounts {
  /** /etc/group. */
  group: string;
  /** /etc/passwd. */
  passwd: string;
  /** /etc/login.defs: its UID_MIN ends the system accounts (1000 without one). */
  loginDefs: string;
}

/** The account files below `root` ("" for the host's). */
export function readAccounts(root = ""): Accounts {
  const read = (path: string) => {
    try {
      return Deno.readTextFileSync(`${root}${path}`);
    } catch {
      return "";
    }
  };
  return { group: read("/etc/group"), passwd: read("/etc/passwd"), loginDefs: read("/etc/login.defs") };
}

const rows = (text: string) => text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(":"));

/** The name /etc/group gives `gid`, if any. */
export function groupName(gid: number | null, accounts: Accounts): string | undefined {
  return rows(accounts.group).find((f) => gid !== null && f[2] === String(gid))?.[0];
}

/** Why group `gid`'s write on a directory of the log's path is not the system's own, or undefined when it is. */
export function logGroupProblem(gid: number | null, accounts: Accounts): string | undefined {
  const name = groupName(gid, accounts);
  if (name === undefined) return `is writable by its group (gid ${gid}), which /etc/group does not name`;
  if (!SYSTEM_LOG_GROUPS.includes(name)) {
    return `is writable by group ${name}, not a system log group (${SYSTEM_LOG_GROUPS.join(", ")})`;
  }
  const uidMin = Number(/^\s*UID_MIN\s+(\d+)/m.exec(accounts.loginDefs)?.[1] ?? 1000);
  const users = rows(accounts.passwd);
  const listed = rows(accounts.group).find((f) => f[0] === name)?.[3]?.split(",").filter(Boolean) ?? [];
  const members = [...listed, ...users.filter((f) => f[3] === String(gid)).map((f) => f[0])];
  for (const member of new Set(members)) {
    const uid = users.find((f) => f[0] === member)?.[2];
    if (uid === undefined) return `is writable by group ${name}, whose member ${member} is not in /etc/passwd`;
    if (Number(uid) >= uidMin) {
      return `is writable by group ${name}, whose member ${member} (uid ${uid}) is not a system account (UID_MIN ${uidMin})`;
    }
  }
  return undefined;
}

/** The log file's directory and every one above it, by the rule above; what is missing install.sh creates. */
export function walkLogDir(logFile: string, fs: Fs = denoFs, accounts = readAccounts()): Promise<WalkResult> {
  return walkModes(dirname(logFile), {
    uid: null,
    fs,
    absentOk: true,
    groupWrite: (gid) => logGroupProblem(gid, accounts),
  });
}

/** For an `ok` line: which directories a system log group may write (" (group syslog writes /var/log)"), or "". */
export function groupWriteNote(checked: Checked[], accounts: Accounts): string {
  const found = checked.filter((c) => onlyGroupWrites(c.info));
  return found.map((c) => ` (group ${groupName(c.info.gid ?? null, accounts)} writes ${c.path}: a system log group)`)
    .join("");
}

/**
 * Why `path` cannot be the log file's path, or undefined: an absolute path of plain characters (it is a word on
 * a PAM line), no "." or ".." parts.
 */
export function logPathProblem(path: string): string | undefined {
  return /^(\/[A-Za-z0-9_+-][A-Za-z0-9._+-]*)+$/.test(path) && path.length <= 255
    ? undefined
    : `${JSON.stringify(path)} is not an absolute path of letters, digits and ._+- (a word on the PAM lines)`;
}

/**
 * Why the log file cannot be made at `destdir` + `path`: a bad spelling, or something there that is not a regular
 * file (pam_exec appends to it as root: a link could point those appends anywhere).
 */
export function logFileProblem(path: string, destdir = ""): string | undefined {
  const spelling = logPathProblem(path);
  if (spelling) return `log file: ${spelling}`;
  try {
    if (Deno.lstatSync(`${destdir}${path}`).isFile) return undefined;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
  }
  return `${destdir}${path} is not a regular file (a symbolic link?): remove it; pam_exec appends to it as root`;
}

/** The log file `manifest.json` at `path` recorded, or `fallback` (no manifest, or one without a log). */
export function recordedLogFile(path: string, fallback: string): string {
  try {
    const log = JSON.parse(Deno.readTextFileSync(path))?.log?.path;
    return typeof log === "string" && !logPathProblem(log) ? log : fallback;
  } catch {
    return fallback;
  }
}

if (import.meta.main) {
  // install.sh: log_dir.ts [--destdir DIR] LOG_FILE prints logFileProblem's line, if any (exit 0 either way);
  // log_dir.ts --recorded MANIFEST_JSON DEFAULT prints the log file the manifest recorded, else DEFAULT.
  const [first, second, third] = Deno.args;
  if (first === "--recorded") console.log(recordedLogFile(second, third));
  else {
    const problem = first === "--destdir" ? logFileProblem(third ?? "", second) : logFileProblem(first ?? "");
    if (problem) console.log(problem);
  }
}
