/**
 * The foreign-file rule for install.sh's host-wide files: every file it writes outside its own directory
 * PREFIX/lib/netauth-pam-helper/ (the launcher in PREFIX/sbin, the man page, the logrotate snippet, the broker's
 * unit, the Debian PAM profile). Such a file is this install's only when its installed-files records it and its
 * manifest.json holds the file's hash as it is now. Any other is someone else's (another `install.sh --prefix`,
 * the admin, the Debian package): refused unless `--force`, which keeps it as a backup in the install's
 * directory for `--uninstall` to put back. A file the Debian package lists (or a unit of the package's that ours
 * would override) is refused even with `--force`, and `--uninstall` never removes a file that is not ours.
 * install.sh asks (`host_files.ts --lib DIR ... PATH...`) and acts on the lines it prints.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { sha256Hex } from "../digest.ts";
import { PACKAGE } from "./package_layout.ts";

/** Who a host-wide path is: nothing there, this install's, the Debian package's, or someone else's. */
export type Owner = "absent" | "ours" | "package" | "foreign";

/** What is known about one host-wide path, as installed (without DESTDIR). */
export interface PathFacts {
  /** The path as installed. */
  path: string;
  /** Its SHA-256 now; `null` when it is something other than a regular file; undefined when absent. */
  sha256?: string | null;
}

/** What this install recorded, and what the Debian package lists. */
export interface Records {
  /** installed-files, without DESTDIR. */
  recorded: ReadonlySet<string>;
  /** manifest.json's files: path -> SHA-256. */
  hashes: ReadonlyMap<string, string>;
  /** The paths dpkg lists for the package (its `.list`), empty without it. */
  packageFiles: ReadonlySet<string>;
}

/** Paths of the package's that a file of ours at `path` would stand in for (systemd prefers /etc to /lib). */
export function shadowed(path: string): string[] {
  const unit = path.match(/^\/etc\/systemd\/system\/([^/]+\.service)$/);
  return unit ? [`/lib/systemd/system/${unit[1]}`, `/usr/lib/systemd/system/${unit[1]}`] : [];
}

/** The package's path that `path` is or would override, if any. */
export function packagePath(path: string, packageFiles: ReadonlySet<string>): string | undefined {
  return [path, ...shadowed(path)].find((p) => packageFiles.has(p));
}

/** Whose `facts.path` is: the package's first (whatever is on disk), then absent, ours by recorded hash, or foreign. */
export function ownerOf(facts: PathFacts, records: Records): Owner {
  if (packagePath(facts.path, records.packageFiles)) return "package";
  if (facts.sha256 === undefined) return "absent";
  const ours = facts.sha256 !== null && records.recorded.has(facts.path) &&
    records.hashes.get(facts.path) === facts.sha256;
  return ours ? "ours" : "foreign";
}

/** Where `--force` keeps the file it found at `path`, in the install's directory: `<directory>-<name>.orig`. */
export function backupName(path: string): string {
  const parts = path.split("/").filter((p) => p !== "");
  return `${parts.slice(-2).join("-")}.orig`;
}

/** The install's directory, its DESTDIR, and `--force`. */
export interface Context {
  /** PREFIX/lib/netauth-pam-helper as on this machine (with DESTDIR). */
  lib: string;
  /** `--destdir` ("" for a real install). */
  destdir: string;
  /** `--force`. */
  force: boolean;
}

/** One line install.sh acts on: fields separated by tabs. */
export type Decision =
  | ["refuse", string]
  | ["backup", string, string]
  | ["drop", string]
  | ["remove", string]
  | ["keep", string, string]
  | ["restore", string, string, string];

const PROFILE = "/usr/share/pam-configs/netauth";

function refusal(at: string, owner: Owner, path: string, records: Records, ctx: Context): string {
  const pkg = packagePath(path, records.packageFiles);
  if (owner === "package") {
    const what = pkg === path ? "is" : `would override ${pkg}, which is`;
    return `${at} ${what} the Debian package ${PACKAGE}'s (dpkg lists it): install.sh replaces no package's file, ` +
      `not even with --force; use the package, or remove it first (apt-get purge ${PACKAGE})`;
  }
  return `${at} exists and install.sh did not write it for this install (another install.sh --prefix's, or the ` +
    `admin's): pass --force to replace it (it is kept in ${ctx.lib}/${backupName(path)} and --uninstall puts it back)`;
}

/**
 * Before an install: for each host-wide `target` it will write, a refusal (someone else's, no `--force`; the
 * package's, always) or, with `--force`, where to keep the file found there; for each other recorded host-wide
 * path that is not ours any more, `drop` (the record must not take it over by hashing it again).
 */
export function installDecisions(
  targets: PathFacts[],
  others: PathFacts[],
  records: Records,
  ctx: Context,
): Decision[] {
  const out: Decision[] = [];
  for (const facts of targets) {
    const owner = ownerOf(facts, records);
    const at = `${ctx.destdir}${facts.path}`;
    if (owner === "package" || (owner === "foreign" && !ctx.force)) {
      out.push(["refuse", refusal(at, owner, facts.path, records, ctx)]);
    } else if (owner === "foreign") out.push(["backup", at, `${ctx.lib}/${backupName(facts.path)}`]);
  }
  for (const facts of others) {
    const owner = ownerOf(facts, records);
    if (owner === "package" || owner === "foreign") out.push(["drop", `${ctx.destdir}${facts.path}`]);
  }
  return out;
}

/**
 * At `--uninstall`: each recorded host-wide path is removed when ours and kept (with why) when not; a backup
 * `--force` made is put back when its path is ours or gone, and kept when someone else's file is there now.
 */
export function uninstallDecisions(
  paths: PathFacts[],
  backups: ReadonlySet<string>,
  records: Records,
  ctx: Context,
): Decision[] {
  const out: Decision[] = [];
  for (const facts of paths) {
    const recorded = records.recorded.has(facts.path);
    const hasBackup = backups.has(backupName(facts.path));
    if (!recorded && !hasBackup) continue;
    const owner = ownerOf(facts, records);
    const at = `${ctx.destdir}${facts.path}`;
    const backup = `${ctx.lib}/${backupName(facts.path)}`;
    if (owner === "ours") out.push(["remove", at]);
    if (recorded && owner === "package") {
      out.push(["keep", at, `kept: ${at} (the Debian package ${PACKAGE}'s)`]);
    } else if (recorded && owner === "foreign") {
      const hint = facts.path === PROFILE
        ? "remove it and run pam-auth-update yourself"
        : "someone else's now; remove it by hand if it is not wanted";
      out.push(["keep", at, `kept: ${at} (changed since install.sh wrote it; ${hint})`]);
    }
    if (!hasBackup) continue;
    if (owner === "ours" || owner === "absent") {
      const enable = facts.path === PROFILE ? "; if it was enabled: pam-auth-update --enable netauth" : "";
      out.push(["restore", backup, at, `restored: ${at} (the one install.sh found there${enable})`]);
    } else {
      out.push([
        "keep",
        backup,
        `kept: ${backup} (the file install.sh found before its own; not put back over the one there now)`,
      ]);
    }
  }
  return out;
}

/** What is at `path` now: its hash, `null` for anything but a regular file, undefined when nothing is there. */
export async function factsOf(path: string, destdir: string): Promise<PathFacts> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(`${destdir}${path}`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { path };
    throw err;
  }
  return { path, sha256: info.isFile ? await sha256Hex(await Deno.readFile(`${destdir}${path}`)) : null };
}

function readOr(path: string, fallback: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return fallback;
    throw err;
  }
}

/** The names in `dir`; none when it does not exist. */
function listDir(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

/** The paths dpkg lists for the package under `destdir`: `var/lib/dpkg/info/netauth-pam-helper[:ARCH].list`. */
export function packageFiles(destdir: string): Set<string> {
  const info = `${destdir}/var/lib/dpkg/info`;
  const files = new Set<string>();
  for (const name of listDir(info).filter((n) => new RegExp(`^${PACKAGE}(:[a-z0-9]+)?\\.list$`).test(n))) {
    for (const line of Deno.readTextFileSync(`${info}/${name}`).split("\n")) if (line) files.add(line);
  }
  return files;
}

/** installed-files and manifest.json in `lib` (missing or unreadable as JSON: nothing recorded with a hash). */
export function readRecords(lib: string, destdir: string): Records {
  const recorded = new Set(
    readOr(`${lib}/installed-files`, "").split("\n").filter((l) => l !== "").map((l) =>
      destdir && l.startsWith(destdir) ? l.slice(destdir.length) : l
    ),
  );
  const hashes = new Map<string, string>();
  try {
    const files = JSON.parse(readOr(`${lib}/manifest.json`, "{}")).files;
    for (const f of Array.isArray(files) ? files : []) {
      if (typeof f?.path === "string" && typeof f?.sha256 === "string") hashes.set(f.path, f.sha256);
    }
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
  }
  return { recorded, hashes, packageFiles: packageFiles(destdir) };
}

if (import.meta.main) {
  // host_files.ts --lib DIR [--destdir DIR] [--force] [--uninstall] [--keep PATH...] TARGET...
  // TARGET: a host-wide path (as installed) this run writes, or at --uninstall may have written. --keep: paths
  // install.sh keeps whatever happens (the log file). Prints one tab-separated decision per line.
  try {
    const { values, positionals } = parseArgs({
      args: Deno.args,
      allowPositionals: true,
      options: {
        lib: { type: "string" },
        destdir: { type: "string", default: "" },
        force: { type: "boolean", default: false },
        uninstall: { type: "boolean", default: false },
        keep: { type: "string", multiple: true, default: [] },
      },
    });
    if (!values.lib) throw new Error("needs --lib DIR");
    const ctx: Context = { lib: values.lib, destdir: values.destdir, force: values.force };
    const records = readRecords(ctx.lib, ctx.destdir);
    const libPath = ctx.lib.slice(ctx.destdir.length);
    const hostWide = (p: string) => p !== libPath && !p.startsWith(`${libPath}/`) && !values.keep.includes(p);
    const targets = await Promise.all(positionals.map((p) => factsOf(p, ctx.destdir)));
    const others = await Promise.all(
      [...records.recorded].filter((p) => hostWide(p) && !positionals.includes(p)).map((p) => factsOf(p, ctx.destdir)),
    );
    let decisions: Decision[];
    if (values.uninstall) {
      const backups = new Set(listDir(ctx.lib));
      decisions = uninstallDecisions([...targets, ...others], backups, records, ctx);
    } else {
      decisions = installDecisions(targets, others, records, ctx);
    }
    for (const d of decisions) console.log(d.join("\t"));
  } catch (err) {
    console.error(`host-files: ${(err as Error).message.split("\n")[0]}`);
    Deno.exit(2);
  }
}
