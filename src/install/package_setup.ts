/**
 * `netauth-pam-helper --setup` and `--verify` for the Debian package (bundled into
 * /usr/lib/netauth-pam-helper/setup.js, run by the packaged deno as root; postinst runs --setup).
 * The sandbox names the host's server, so the launcher is written here, on the host, by the same
 * src/install/install_plan.ts install.sh uses. Without a usable config nothing is written: the shipped front
 * script keeps refusing NetAuth logins with exit 3.
 *
 * @module
 */
import { flagsFor, loginSlotsFor, planFiles, type PlanSpec } from "./install_plan.ts";
import { chosenLoginSlots } from "./launcher.ts";
import type { DirEntry, FileEntry, Manifest } from "../manifest_format.ts";
import { dirEntry } from "../file_modes.ts";
import { runtimeDirs, slotDir } from "../runtime_dir.ts";
import { dirname } from "../paths.ts";
import { filesBelow, parseManifest, verifyInstall } from "./verify_install.ts";
import { logFileProblem, readAccounts, walkLogDir } from "./log_dir.ts";
import { profileCheck, readPackageConf, withLogFile } from "./package_conf.ts";
import { reportChecks, type ReportForm, reportForm, reportUnusable, VERIFY_EXIT } from "./verify_report.ts";
import { spawnLauncher, verifyBuild } from "./verify_build.ts";
import { sha256Hex } from "../digest.ts";
import { PACKAGED, SETUP_COMMAND } from "./package_layout.ts";
import { clearCodeCache, codeCachePath, sealCodeCache } from "./code_cache.ts";

const SETPRIV = "/usr/bin/setpriv";

/** Exit statuses of --setup: 0 set up and checked; 1 set up, but --check failed; 2 nothing written. */
export const SETUP_EXIT = { OK: 0, CHECK_FAILED: 1, NOT_SET_UP: 2 } as const;

/** How --setup reaches the host. */
export interface SetupOptions {
  /** Where the packaged tree is: "" on a host, a staging directory in tests. */
  destdir: string;
  /** Prints one line for the admin. */
  print: (line: string) => void;
  /** Runs the written launcher with one argument (--check); gives back its exit code and output. */
  runLauncher: (path: string, arg: string) => Promise<{ code: number; output: string }>;
  /** What is wrong with a new launcher before it replaces the old (verify_build.ts's checks); empty when nothing. */
  verifyLauncher: (path: string, flags: string[]) => Promise<string[]>;
  /** `--login-slots N`; without it, the N an earlier `--login-slots` chose, else the default for the CPUs. */
  loginSlots?: string;
  /** The CPU count the default slots come from (tests pass their own). */
  cpus?: number;
  /** Puts a changed PAM profile into /etc/pam.d (`pam-auth-update --package`); gives back what went wrong. */
  updatePam: () => Promise<string | undefined>;
}

/**
 * The host's manifest: what the package shipped, plus the launcher, sandbox, runtime directories and log; `written`:
 * files setup wrote or rewrote (the PAM profile when the log is not at its default path).
 */
export function hostManifest(
  build: Manifest,
  host: {
    launcher: FileEntry;
    sandbox: string[];
    runtimeDirs: DirEntry[];
    log: DirEntry | null;
    written?: FileEntry[];
  },
): Manifest {
  const own = [host.launcher, ...host.written ?? []];
  const files = [...build.files.filter((f) => !own.some((o) => o.path === f.path)), ...own]
    .sort((a, b) => a.path < b.path ? -1 : 1);
  return { ...build, sandbox: host.sandbox, runtimeDirs: host.runtimeDirs, log: host.log, files };
}

/** Whether anything at or below `path` is not root's or is writable by group or others. */
function foreignInside(path: string): boolean {
  const info = Deno.lstatSync(path);
  if (info.uid !== 0 || (!info.isSymlink && ((info.mode ?? 0) & 0o022) !== 0)) return true;
  if (!info.isDirectory) return false;
  return [...Deno.readDirSync(path)].some((e) => foreignInside(`${path}/${e.name}`));
}

/** The runtime's HOME, DENO_DIR and TMPDIR, root's alone: made afresh when missing or when anything in them is not. */
function makeRuntimeDirs(root: string): void {
  const dirs = [root, ...Object.values(runtimeDirs(root))];
  let fresh: boolean;
  try {
    fresh = foreignInside(root);
  } catch {
    fresh = false; // missing: made below
  }
  if (fresh) Deno.removeSync(root, { recursive: true });
  for (const dir of dirs) {
    Deno.mkdirSync(dir, { recursive: true });
    Deno.chownSync(dir, 0, 0);
    Deno.chmodSync(dir, 0o755);
  }
  // The broker's socket directory and the login slots' (the launcher makes that one too, on a first login): root's
  // alone, or neither the broker nor the helper trusts the socket, and anyone could hold a slot.
  const brokerDir = `${root}${dirname(PACKAGED.brokerSocket).slice(PACKAGED.runtimeDir.length)}`;
  for (const dir of [brokerDir, slotDir(root)]) {
    Deno.mkdirSync(dir, { recursive: true });
    Deno.chownSync(dir, 0, 0);
    Deno.chmodSync(dir, 0o700);
  }
}

/** The log file pam_exec appends to: root's, readable by adm (root's group without one), 0640. */
function makeLogFile(path: string): void {
  // pam_exec appends to it as root: a link (or anything but a file) there could point root's writes elsewhere.
  const problem = logFileProblem(path);
  if (problem) throw new Error(problem);
  Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  Deno.openSync(path, { append: true, create: true, mode: 0o640 }).close();
  let gid = 0;
  try {
    const group = Deno.readTextFileSync("/etc/group").split("\n").find((l) => l.startsWith("adm:"));
    if (group) gid = Number(group.split(":")[2]);
  } catch { /* no /etc/group: root's group */ }
  Deno.chownSync(path, 0, gid);
  Deno.chmodSync(path, 0o640);
}

/** Writes `path`.new, root's with `mode`; `place` renames it over `path`. */
function writeBeside(path: string, text: string, mode: number): string {
  Deno.writeTextFileSync(`${path}.new`, text, { mode });
  Deno.chmodSync(`${path}.new`, mode);
  Deno.chownSync(`${path}.new`, 0, 0);
  return `${path}.new`;
}

const place = (path: string) => Deno.renameSync(`${path}.new`, path);

/**
 * The login slots --setup bakes: `raw` (--login-slots) when given, else the count the current launcher says an
 * earlier --login-slots chose (so an upgrade's --setup keeps it), else the default for `cpus`.
 */
export function setupLoginSlots(destdir: string, raw?: string, cpus?: number): PlanSpec["loginSlots"] {
  let kept: number | undefined;
  try {
    kept = chosenLoginSlots(Deno.readTextFileSync(`${destdir}${PACKAGED.launcher}`));
  } catch { /* no launcher yet */ }
  return raw === undefined && kept !== undefined ? { count: kept, chosen: true } : loginSlotsFor(raw, cpus);
}

/**
 * The log file the conffile names: its directories judged by log_dir.ts's rule, the file made, and the PAM profile's
 * `log=` naming it (pam-auth-update run when that changed). Gives back the rewritten profile's manifest entry (none
 * while it is as shipped), or why nothing was done.
 */
async function logSettings(options: SetupOptions, logFile: string): Promise<FileEntry[] | string> {
  const at = (path: string) => `${options.destdir}${path}`;
  const walk = await walkLogDir(logFile, filesBelow(options.destdir), readAccounts(options.destdir));
  if (walk.state === "unsafe") {
    return `unsafe log directory for ${logFile} (${PACKAGED.conf}): ${walk.path} ${walk.reason}; ` +
      "whoever can rename there could point pam_exec's appends as root elsewhere";
  }
  makeLogFile(at(logFile));
  if (!exists(at(PACKAGED.pamProfile))) return []; // not the package's tree: nothing names the path
  const current = Deno.readTextFileSync(at(PACKAGED.pamProfile));
  const text = withLogFile(current, logFile);
  if (text !== current) {
    writeBeside(at(PACKAGED.pamProfile), text, 0o644);
    place(at(PACKAGED.pamProfile));
    const failed = await options.updatePam();
    if (failed) return `pam-auth-update --package failed (${failed})`;
    options.print(`netauth-pam-helper: ${PACKAGED.pamProfile}: log=${logFile} (${PACKAGED.conf}); PAM updated`);
  }
  if (logFile === PACKAGED.logFile) return [];
  const info = Deno.lstatSync(at(PACKAGED.pamProfile));
  return [{ ...dirEntry(PACKAGED.pamProfile, info), sha256: await sha256Hex(new TextEncoder().encode(text)) }];
}

/** The sandbox flags for the host's config and the launcher text with them (install.sh's launcher, bundle mode). */
async function launcherFor(
  destdir: string,
  loginSlots: PlanSpec["loginSlots"],
): Promise<{ flags: string[]; launcher: string }> {
  const runtime = { runtimeDir: PACKAGED.runtimeDir, brokerSocket: PACKAGED.brokerSocket };
  const flags = await flagsFor({ confDir: `${destdir}${PACKAGED.confDir}`, ...runtime });
  const placement = { artefact: PACKAGED.artefact, deno: PACKAGED.deno, runtimeDir: PACKAGED.runtimeDir };
  const { launcher } = planFiles({
    mode: "bundle",
    paths: { confDir: PACKAGED.confDir, ...runtime },
    setpriv: SETPRIV,
    loginSlots,
    installed: placement,
    staged: placement,
  }, flags);
  return { flags, launcher };
}

/** `--setup`: derive the sandbox from the config, write the launcher and manifest, then run --check. */
export async function setupHost(options: SetupOptions): Promise<number> {
  const at = (path: string) => `${options.destdir}${path}`;
  const say = options.print;
  const config = `${PACKAGED.confDir}/config.toml`;
  const keep = `nothing changed; NetAuth logins ${
    exists(at(PACKAGED.launcher)) ? "go through the launcher written before" : "are refused (exit 3)"
  } until it is fixed and you run: ${SETUP_COMMAND}`;
  // Root's before anything else, config or not: pam_exec appends to the log from the first login on.
  makeRuntimeDirs(at(PACKAGED.runtimeDir));
  const conf = readPackageConf(options.destdir);
  if ("error" in conf) {
    say(`netauth-pam-helper: ${conf.error}: ${keep}`);
    return SETUP_EXIT.NOT_SET_UP;
  }
  const profile = await logSettings(options, conf.logFile);
  if (typeof profile === "string") {
    say(`netauth-pam-helper: ${profile}: ${keep}`);
    return SETUP_EXIT.NOT_SET_UP;
  }
  if (!exists(at(config))) {
    say(
      `netauth-pam-helper: no ${config} yet: NetAuth logins are refused (exit 3) until you write it and run: ${SETUP_COMMAND}`,
    );
    return SETUP_EXIT.NOT_SET_UP;
  }
  let flags: string[], launcher: string;
  try {
    const slots = setupLoginSlots(options.destdir, options.loginSlots, options.cpus);
    ({ flags, launcher } = await launcherFor(options.destdir, slots));
  } catch (err) {
    say(`netauth-pam-helper: warning: ${(err as Error).message.split("\n")[0]}: ${keep}`);
    return SETUP_EXIT.NOT_SET_UP;
  }
  const build = parseManifest(Deno.readTextFileSync(at(PACKAGED.buildManifest)));
  // Verified before placed, as install.sh does: until then the previous launcher keeps answering.
  const problems = await options.verifyLauncher(writeBeside(at(PACKAGED.launcher), launcher, 0o755), flags);
  if (problems.length > 0) {
    Deno.removeSync(`${at(PACKAGED.launcher)}.new`);
    for (const problem of problems) say(`netauth-pam-helper: verify: ${problem}`);
    say(`netauth-pam-helper: warning: the new launcher failed verification (see above): ${keep}`);
    return SETUP_EXIT.NOT_SET_UP;
  }
  place(at(PACKAGED.launcher));
  // The V8 code cache, made afresh as root by --check and --audit (every chunk loads), then sealed: read-only to
  // the runtime, its SHA-256 in the manifest (docs/install.md, "Code cache").
  const cache = codeCachePath(PACKAGED.runtimeDir);
  clearCodeCache(at(cache));
  const check = await options.runLauncher(at(PACKAGED.launcher), "--check");
  await options.runLauncher(at(PACKAGED.launcher), "--audit");
  const extra: FileEntry[] = [];
  if (sealCodeCache(at(cache))) {
    await options.runLauncher(at(PACKAGED.launcher), "--version"); // opens it as a login does: its -wal and -shm
    const info = Deno.lstatSync(at(cache));
    extra.push({ ...dirEntry(cache, info), sha256: await sha256Hex(Deno.readFileSync(at(cache))) });
  }
  const stat = (path: string) => Deno.lstatSync(at(path));
  const manifest = hostManifest(build, {
    launcher: {
      ...dirEntry(PACKAGED.launcher, stat(PACKAGED.launcher)),
      sha256: await sha256Hex(new TextEncoder().encode(launcher)),
    },
    sandbox: flags,
    runtimeDirs: [PACKAGED.runtimeDir, ...Object.values(runtimeDirs(PACKAGED.runtimeDir))].map((p) =>
      dirEntry(p, stat(p))
    ),
    log: dirEntry(conf.logFile, stat(conf.logFile)),
    written: [...profile, ...extra],
  });
  writeBeside(at(PACKAGED.manifest), `${JSON.stringify(manifest, null, 2)}\n`, 0o644);
  place(at(PACKAGED.manifest));
  say(`netauth-pam-helper: wrote ${PACKAGED.launcher} for ${config}; sandbox: ${flags.join(" ")}`);
  for (const line of check.output.trimEnd().split("\n")) say(`check: ${line}`);
  if (check.code !== 0) {
    say(
      `netauth-pam-helper: warning: --check failed (exit ${check.code}, see above): NetAuth logins fail until the config or the server is fixed; then run: ${SETUP_COMMAND}`,
    );
    return SETUP_EXIT.CHECK_FAILED;
  }
  return SETUP_EXIT.OK;
}

/**
 * `--verify [--quiet | --json]`: the installed files, launcher, runtime directories and PAM lines against the host's
 * manifest, printed in `form` (verify_report.ts); `cpus` only for tests (the default login slots).
 */
export async function verifyHost(
  destdir: string,
  print: (line: string) => void,
  form: ReportForm = "plain",
  cpus?: number,
): Promise<number> {
  let manifest: Manifest;
  try {
    manifest = parseManifest(Deno.readTextFileSync(`${destdir}${PACKAGED.manifest}`));
  } catch (err) {
    const why = `verify: cannot use ${PACKAGED.manifest} (${
      (err as Error).message.split("\n")[0]
    }): run ${SETUP_COMMAND}`;
    return reportUnusable(why, print, form);
  }
  // PAM may run the front script or the launcher it hands over to; any other of the package's executables is drift.
  const launchers = [manifest.launcher, PACKAGED.launcher];
  const checks = await verifyInstall({ manifest, destdir, pamDir: `${destdir}/etc/pam.d`, launchers });
  // The shipped files as the package built them, not as setup found them.
  const build = parseManifest(Deno.readTextFileSync(`${destdir}${PACKAGED.buildManifest}`));
  const logFile = manifest.log?.path ?? PACKAGED.logFile;
  for (const file of build.files) {
    if (file.path === PACKAGED.pamProfile && logFile !== PACKAGED.logFile) {
      checks.push(await profileCheck(destdir, file.sha256, logFile));
      continue;
    }
    const same = manifest.files.some((f) => f.path === file.path && f.sha256 === file.sha256);
    checks.push({
      ok: same,
      what: `build ${file.path}: ${same ? "as shipped" : "manifest.json differs from the build's"}`,
    });
  }
  // The conffile's log_file, against what setup last wrote (an edit takes effect with --setup).
  const conf = readPackageConf(destdir);
  const wrote = "error" in conf ? undefined : conf.logFile === logFile;
  checks.push({
    ok: wrote === true,
    what: `log ${PACKAGED.conf}: ${
      "error" in conf
        ? conf.error
        : wrote
        ? `log_file ${logFile}, as --setup wrote it`
        : `log_file ${conf.logFile}, but --setup wrote ${logFile}: run ${SETUP_COMMAND}`
    }`,
  });
  // What dpkg cannot know: whether the launcher still is what the config asks for now.
  try {
    const { launcher } = await launcherFor(destdir, setupLoginSlots(destdir, undefined, cpus));
    const same = Deno.readTextFileSync(`${destdir}${PACKAGED.launcher}`) === launcher;
    checks.push({
      ok: same,
      what: `launcher ${PACKAGED.launcher}: ${
        same ? "as --setup writes it for the config now" : `not what the config asks for now: run ${SETUP_COMMAND}`
      }`,
    });
  } catch (err) {
    checks.push({ ok: false, what: `launcher ${PACKAGED.launcher}: ${(err as Error).message.split("\n")[0]}` });
  }
  return reportChecks(checks, print, form);
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

async function runLauncher(path: string, arg: string) {
  const out = await new Deno.Command(path, { args: [arg], stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, output: text };
}

/** `pam-auth-update --package`: a changed profile's lines into common-auth and common-account. */
async function updatePam(): Promise<string | undefined> {
  const out = await new Deno.Command("pam-auth-update", {
    args: ["--package"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
  return out.success ? undefined : `exit ${out.code}${text ? `: ${text}` : ""}`;
}

if (import.meta.main) {
  const [command, ...words] = Deno.args;
  const print = (line: string) => console.log(line);
  const usage = "usage: netauth-pam-helper --setup [--login-slots N] | --verify [--quiet | --json]";
  try {
    const verifyLauncher = (path: string, flags: string[]) => verifyBuild(spawnLauncher(path), flags);
    // --setup [--login-slots N]: the only option; checked here, so a bad one changes nothing.
    const slots = words.length === 2 && words[0] === "--login-slots"
      ? words[1]
      : words.length === 1 && words[0].startsWith("--login-slots=")
      ? words[0].slice("--login-slots=".length)
      : undefined;
    if (command === "--setup" && (words.length === 0 || slots !== undefined)) {
      if (slots !== undefined) loginSlotsFor(slots);
      Deno.exit(await setupHost({ destdir: "", print, runLauncher, verifyLauncher, loginSlots: slots, updatePam }));
    }
    if (command === "--verify") {
      const form = reportForm(words);
      if (typeof form === "string") Deno.exit(await verifyHost("", print, form));
      console.error(`netauth-pam-helper: ${form.error} (${usage})`);
    } else console.error(usage);
    Deno.exit(VERIFY_EXIT.USAGE);
  } catch (err) {
    console.error(`netauth-pam-helper: ${command}: ${(err as Error).message.split("\n")[0]}`);
    Deno.exit(SETUP_EXIT.NOT_SET_UP);
  }
}
