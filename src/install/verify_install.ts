/**
 * `install.sh --verify`: the installed files against manifest.json (SHA-256, owner, mode), the directories
 * holding them and the runtime's directories (root's alone), and every enabled PAM line whose command is any of
 * the install's executables, by any path or link (the README's options, and a launcher, not the runtime or the
 * artefact itself), and the broker listening on its socket (verify_broker.ts). One line per check, `ok ...` or
 * `DRIFT ...`. Runs as root, outside the helper's sandbox.
 * Paths are judged by file_modes.ts's one rule, walked as the kernel does.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { sha256Hex } from "../digest.ts";
import {
  denoFs,
  type Fs,
  normalizePath,
  octalMode,
  ownerProblem,
  strictProblem,
  walkModes,
  withOwnerAndMode,
  writableProblem,
} from "../file_modes.ts";
import { dirname } from "../paths.ts";
import { type Accounts, groupWriteNote, readAccounts, walkLogDir } from "./log_dir.ts";
import { socketDirProblem } from "../broker/socket.ts";
import { brokerChecks } from "./verify_broker.ts";
import { hasOption, hostPamSource, pamExecLines, type PamLine } from "./pam_files.ts";
import { type DirEntry, type Manifest, MANIFEST_FORMAT } from "../manifest_format.ts";
import { type Check, reportChecks, reportForm, reportUnusable, VERIFY_EXIT } from "./verify_report.ts";
import { codeCacheCheck } from "./code_cache.ts";

/** What `--verify` checks, and how it reads the file system (tests pass fakes). */
export interface VerifyInputs {
  /** The install's manifest.json, parsed. */
  manifest: Manifest;
  /** Where the manifest's paths are, for a --destdir install; "" otherwise. */
  destdir: string;
  /** The PAM service directory to scan (DESTDIR/etc/pam.d). */
  pamDir: string;
  /**
   * The executables a PAM line may run, each clearing the environment and running setpriv before the helper:
   * the manifest's launcher by default; the package adds its generated launcher, which its front script runs.
   */
  launchers?: string[];
  /** Inspects a path without following links; Deno's by default. */
  lstat?: (path: string) => Deno.FileInfo;
  /** Reads a file's bytes; Deno's by default. */
  readFile?: (path: string) => Uint8Array;
  /** Lists a directory; Deno's by default. */
  readDir?: (path: string) => Iterable<Deno.DirEntry>;
  /** Reads a text file; Deno's by default. */
  readText?: (path: string) => string;
  /** A path's real path, for a PAM line naming the helper through a link (Deno's by default). */
  realPath?: (path: string) => string;
  /** For the walks up to "/"; by default the host's files below `destdir`. */
  fs?: Fs;
  /** The broker listening on the install's socket, judged (verify_broker.ts brokerChecks by default). */
  broker?: (socket: string, manifest: Manifest, destdir: string) => Promise<Check[]>;
  /** The account files the log directory's rule reads (log_dir.ts); by default those below `destdir`. */
  accounts?: Accounts;
}

const ok = (what: string): Check => ({ ok: true, what });
const drift = (what: string): Check => ({ ok: false, what });

/** Root-owned and writable by nobody else (file_modes.ts's rule), and as the manifest recorded. */
function ownerAndMode(label: string, path: string, info: Deno.FileInfo, want?: { uid: number; mode: string }) {
  const checks: Check[] = [];
  const mode = octalMode(info.mode);
  if (ownerProblem(info, null)) checks.push(drift(`owner ${label} ${path}: uid ${info.uid}, not root`));
  else if (want && want.uid !== 0) checks.push(drift(`owner ${label} ${path}: manifest says uid ${want.uid}`));
  else checks.push(ok(`owner ${label} ${path}: root`));
  const writable = writableProblem(info);
  if (writable) checks.push(drift(`mode ${label} ${path}: ${mode} ${writable}`));
  else if (want && want.mode !== mode) checks.push(drift(`mode ${label} ${path}: ${mode}, manifest says ${want.mode}`));
  else checks.push(ok(`mode ${label} ${path}: ${mode}`));
  return checks;
}

/** The host's files, or a --destdir tree as if it were "/" (an absolute link target stays inside it). */
export function filesBelow(destdir: string): Fs {
  if (!destdir) return denoFs;
  const at = (path: string) => `${destdir}${path}`;
  return {
    lstat: (path) => Deno.lstat(at(path)),
    stat: (path) => Deno.stat(at(path)),
    readLink: (path) => Deno.readLink(at(path)),
    realPath: async (path) => {
      const [real, root] = [await Deno.realPath(at(path)), await Deno.realPath(destdir)];
      if (real !== root && !real.startsWith(`${root}/`)) throw new Error(`${path} leads out of ${destdir}`);
      return real.slice(root.length) || "/";
    },
  };
}

/**
 * Every directory above the install's, up to "/", walked as the kernel resolves them: whoever can
 * rename one, or replace a link on the way, can swap what PAM runs as root.
 */
async function aboveChecks(dirs: string[], fs: Fs): Promise<Check[]> {
  const found = new Map<string, Check>();
  for (const dir of dirs) {
    const result = await walkModes(dir, { uid: null, fs });
    if (result.state === "ok") {
      for (const { path } of result.checked) {
        if (!dirs.includes(path) && !found.has(path)) found.set(path, ok(`above ${path}: root's, closed to others`));
      }
    } else if (result.state === "unsafe" && (result.above || result.path !== dir)) {
      found.set(result.path, drift(`above ${result.path}: ${result.reason}`)); // the directory's own is reported with it
    }
  }
  return [...found.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, check]) => check);
}

/** What install.sh was given for the helper's other paths: the same walk, each named by its option. */
export interface NamedPaths {
  /** `--prefix`. */
  prefix?: string;
  /** `--conf-dir`. */
  confDir?: string;
  /** `--cache-dir`, when given. */
  cacheDir?: string | null;
  /** The log file the PAM lines name: its directory is walked. */
  logFile?: string;
}

const PATH_RISKS: Record<keyof NamedPaths, [string, string]> = {
  prefix: ["--prefix", "whoever can rename or replace it could swap what PAM runs as root"],
  confDir: ["--conf-dir", "whoever can rename or replace it could swap the config the helper trusts"],
  cacheDir: ["--cache-dir", "whoever can rename or replace it could plant offline cache entries"],
  logFile: ["log directory", "whoever can rename or replace it could point pam_exec's appends as root elsewhere"],
};

/**
 * Each named path (the log file's by its directory, under log_dir.ts's rule), walked as written up to "/";
 * missing parts are skipped. `accounts`: the account files that rule reads.
 */
export async function namedPathChecks(
  paths: NamedPaths,
  fs: Fs = denoFs,
  accounts: Accounts = readAccounts(),
): Promise<{ check: Check; risk: string }[]> {
  const out: { check: Check; risk: string }[] = [];
  for (const key of Object.keys(PATH_RISKS) as (keyof NamedPaths)[]) {
    const given = paths[key];
    if (!given) continue;
    const path = key === "logFile" ? dirname(given) : given;
    const [label, risk] = PATH_RISKS[key];
    const result = key === "logFile"
      ? await walkLogDir(given, fs, accounts)
      : await walkModes(path, { uid: null, fs, absentOk: true });
    const note = result.state === "ok" && key === "logFile" ? groupWriteNote(result.checked, accounts) : "";
    out.push({
      risk,
      check: result.state === "unsafe"
        ? drift(`path ${label} ${path}: ${result.path} ${result.reason}`)
        : ok(`path ${label} ${path}: root's and closed to others, up to /${note}`),
    });
  }
  return out;
}

/** Every check of an install against its manifest: files, directories, runtime, PAM lines; one Check each. */
export async function verifyInstall(inputs: VerifyInputs): Promise<Check[]> {
  const lstat = inputs.lstat ?? Deno.lstatSync;
  const readFile = inputs.readFile ?? Deno.readFileSync;
  const at = (path: string) => `${inputs.destdir}${path}`;
  const checks: Check[] = [];
  const stat = (path: string): Deno.FileInfo | string => {
    try {
      return lstat(at(path));
    } catch (err) {
      return err instanceof Deno.errors.NotFound ? "missing" : `cannot be inspected (${(err as Error).name})`;
    }
  };

  for (const file of inputs.manifest.files) {
    const info = stat(file.path);
    if (typeof info === "string") {
      checks.push(drift(`file ${file.path}: ${info}`));
      continue;
    }
    if (!info.isFile) {
      checks.push(drift(`file ${file.path}: not a regular file`));
      continue;
    }
    const sha256 = await sha256Hex(readFile(at(file.path)));
    checks.push(
      sha256 === file.sha256
        ? ok(`sha256 ${file.path}: ${sha256}`)
        : drift(`sha256 ${file.path}: ${sha256}, manifest says ${file.sha256}`),
    );
    checks.push(...ownerAndMode("file", file.path, info, file));
  }

  // The directories holding them, the manifest itself, and the runtime's HOME, DENO_DIR and TMPDIR.
  const dirs: DirEntry[] = [...new Set(inputs.manifest.files.map((f) => f.path.replace(/\/[^/]+$/, "")))]
    .map((path) => ({ path, uid: 0, gid: 0, mode: "" }));
  for (const dir of dirs) {
    const info = stat(dir.path);
    if (typeof info === "string") checks.push(drift(`dir ${dir.path}: ${info}`));
    else checks.push(...ownerAndMode("dir", dir.path, info));
  }
  const fs = inputs.fs ?? filesBelow(inputs.destdir);
  checks.push(...await aboveChecks(dirs.map((d) => d.path), fs));
  const { confDir, cacheDir } = inputs.manifest;
  const accounts = inputs.accounts ?? readAccounts(inputs.destdir);
  const named = await namedPathChecks({ confDir, cacheDir, logFile: inputs.manifest.log?.path }, fs, accounts);
  checks.push(...named.map((n) => n.check));
  const libDir = inputs.manifest.artefact.replace(/\/[^/]+$/, "");
  const manifestInfo = stat(`${libDir}/manifest.json`);
  if (typeof manifestInfo === "string") checks.push(drift(`file ${libDir}/manifest.json: ${manifestInfo}`));
  else checks.push(...ownerAndMode("file", `${libDir}/manifest.json`, manifestInfo));
  for (const dir of inputs.manifest.runtimeDirs) {
    const info = stat(dir.path);
    if (typeof info === "string") checks.push(drift(`runtime ${dir.path}: ${info}`));
    else if (!info.isDirectory) checks.push(drift(`runtime ${dir.path}: not a directory`));
    else checks.push(...ownerAndMode("runtime", dir.path, info, dir));
  }
  const runtimeRoot = inputs.manifest.runtimeDirs[0]?.path;
  if (runtimeRoot) checks.push(runtimeContents(runtimeRoot, at, lstat, inputs.readDir ?? Deno.readDirSync));
  checks.push(codeCacheCheck(inputs.manifest, at, lstat));
  const socket = brokerSocketIn(inputs.manifest.sandbox);
  if (socket) {
    checks.push(await brokerDirCheck(socket, (path) => Promise.resolve().then(() => lstat(at(path)))));
    checks.push(...await (inputs.broker ?? brokerChecks)(socket, inputs.manifest, inputs.destdir));
  }

  checks.push(...await pamChecks(inputs, fs));
  return checks;
}

/** The broker's socket the sandbox lets the helper connect to (`--allow-net=...,unix:PATH`), if any. */
function brokerSocketIn(sandbox: string[]): string | undefined {
  const net = sandbox.find((flag) => flag.startsWith("--allow-net="));
  return net?.slice("--allow-net=".length).split(",").find((p) => p.startsWith("unix:"))?.slice("unix:".length);
}

/** The socket's directory by the helper's own rule: anything but root's 0700 sends every login direct. */
async function brokerDirCheck(socket: string, lstat: (path: string) => Promise<Deno.FileInfo>): Promise<Check> {
  const problem = await socketDirProblem(socket, lstat);
  return problem
    ? drift(`broker ${problem.why}: logins do not use the broker (re-run install.sh)`)
    : ok(`broker ${dirname(socket)}: root's, mode 700`);
}

/** Everything below the runtime directory (analysis caches, temporary files) must be root's and not writable by others. */
function runtimeContents(
  root: string,
  at: (path: string) => string,
  lstat: (path: string) => Deno.FileInfo,
  readDir: (path: string) => Iterable<Deno.DirEntry>,
): Check {
  const walk = (path: string): string | undefined => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...readDir(at(path))];
    } catch {
      return undefined; // reported above as missing
    }
    for (const entry of entries) {
      const child = `${path}/${entry.name}`;
      const info = lstat(at(child));
      const why = strictProblem(info, null);
      if (why) return `${child} ${withOwnerAndMode(info, why)}`;
      if (info.isDirectory) {
        const found = walk(child);
        if (found) return found;
      }
    }
    return undefined;
  };
  const found = walk(root);
  return found
    ? drift(`runtime contents ${root}: ${found} (re-run install.sh)`)
    : ok(`runtime contents ${root}: all root's, none writable by others`);
}

/** The options the README requires on every pam_exec line that runs the helper. */
export function requiredOptions(type: string): string[] {
  return type === "auth" ? ["expose_authtok", "quiet"] : ["quiet"];
}

/**
 * Options no such line may carry: `seteuid` makes every uid root before exec, which turns the kernel's
 * secure-exec off under su and sudo, so LD_PRELOAD from the PAM environment loads into the launcher as root.
 */
export const REFUSED_OPTIONS: readonly string[] = ["seteuid"];

/**
 * Every executable of the install a pam_exec line could run: the launcher PAM lines name, the artefact, and each
 * recorded file with an execute bit (the package's generated launcher, bundle mode's deno, a compiled binary).
 */
export function installExecutables(manifest: Manifest): string[] {
  const executable = manifest.files.filter((file) => (parseInt(file.mode, 8) & 0o111) !== 0).map((file) => file.path);
  return [...new Set([manifest.launcher, manifest.artefact, ...executable])];
}

const DIRECT = "not through the launcher (PAM's environment reaches it; setpriv never runs)";

async function pamChecks(inputs: VerifyInputs, fs: Fs): Promise<Check[]> {
  const readDir = inputs.readDir ?? Deno.readDirSync;
  const targets = installExecutables(inputs.manifest);
  const source = hostPamSource({ ...inputs, targets });
  const launcher = hostPamSource({ ...inputs, targets: inputs.launchers ?? [inputs.manifest.launcher] });
  const found = new Map<string, PamLine>();
  const checks: Check[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...readDir(inputs.pamDir)].filter((e) => e.isFile || e.isSymlink).sort((a, b) =>
      a.name.localeCompare(b.name)
    );
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) entries = [];
    else return [drift(`pam ${inputs.pamDir}: cannot be read (${(err as Error).name})`)];
  }
  for (const entry of entries) {
    const path = `${inputs.pamDir}/${entry.name}`;
    if (entry.isSymlink) checks.push(await linkedService(path, inputs.destdir, fs));
    const text = source.read(path);
    for (const line of text === undefined ? [] : pamExecLines(path, text, source)) {
      found.set(`${line.file}:${line.line}`, line); // a file many services include is reported once
    }
  }
  if (found.size === 0) {
    checks.push(ok(`pam ${inputs.pamDir}: no enabled pam_exec line runs ${targets.join(" or ")}`));
  }
  for (const line of found.values()) {
    const where = `pam ${line.file}:${line.line} ${line.type}`;
    const lacking = requiredOptions(line.type).filter((option) => !hasOption(line.options, option));
    const refused = REFUSED_OPTIONS.filter((option) => hasOption(line.options, option));
    const problems = [
      ...(lacking.length > 0 ? [`lacks ${lacking.join(", ")}`] : []),
      ...(refused.length > 0 ? [`carries ${refused.join(", ")}`] : []),
      // The runtime or the artefact run straight from PAM: nothing clears the environment or runs setpriv.
      ...(launcher.runsHelper(line.command) ? [] : [`runs ${normalizePath(line.command)} itself, ${DIRECT}`]),
    ];
    checks.push(
      problems.length === 0
        ? ok(`${where}: ${line.options.join(" ")}`)
        : drift(`${where}: ${problems.join("; ")} (README, "PAM")`),
    );
  }
  return checks;
}

/** A service file that is a symbolic link: PAM reads what it reaches, which takes the strict rule like any path. */
async function linkedService(path: string, destdir: string, fs: Fs): Promise<Check> {
  const installed = destdir && path.startsWith(destdir) ? path.slice(destdir.length) : path;
  const result = await walkModes(installed, { uid: null, fs: destdir && path.startsWith(destdir) ? fs : denoFs });
  if (result.state === "unsafe") return drift(`pam ${path}: symbolic link: ${result.path} ${result.reason}`);
  if (result.state !== "ok") return ok(`pam ${path}: symbolic link to nothing PAM can read`);
  const { path: target, info } = result.checked[0];
  return ok(`pam ${path}: symbolic link to ${target} (owner uid ${info.uid}, mode ${octalMode(info.mode)})`);
}

/** The manifest `text` holds; throws when it is not this format's. */
export function parseManifest(text: string): Manifest {
  const manifest = JSON.parse(text) as Manifest;
  const strings = (value: unknown) => Array.isArray(value) && value.every((v) => typeof v === "string");
  if (
    manifest?.format !== MANIFEST_FORMAT || !Array.isArray(manifest.files) || !manifest.artefact ||
    !strings(manifest.sandbox) || !Array.isArray(manifest.runtimeDirs)
  ) {
    throw new Error(`not a ${MANIFEST_FORMAT} manifest`);
  }
  return manifest;
}

if (import.meta.main) {
  // verify_install.ts --manifest PATH [--destdir DIR] [--pam-dir DIR] [--quiet | --json] (verify_report.ts)
  // Exit 0: every check ok; 1: any DRIFT; 2: no usable manifest; 3: wrong words.
  // verify_install.ts --path-problems [--prefix P] [--conf-dir D] [--cache-dir D] [--log-file F]: one line per
  // unsafe path ("unsafe --prefix P: COMPONENT REASON; RISK"), exit 1; else exit 0.
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      manifest: { type: "string" },
      destdir: { type: "string", default: "" },
      "pam-dir": { type: "string" },
      "path-problems": { type: "boolean" },
      prefix: { type: "string" },
      "conf-dir": { type: "string" },
      "cache-dir": { type: "string" },
      "log-file": { type: "string" },
      quiet: { type: "boolean" },
      json: { type: "boolean" },
    },
  });
  if (values["path-problems"]) {
    const named = await namedPathChecks({
      prefix: values.prefix,
      confDir: values["conf-dir"],
      cacheDir: values["cache-dir"],
      logFile: values["log-file"],
    });
    const unsafe = named.filter((n) => !n.check.ok);
    for (const n of unsafe) console.log(`unsafe ${n.check.what.replace(/^path /, "")}; ${n.risk}`);
    Deno.exit(unsafe.length === 0 ? 0 : 1);
  }
  const form = reportForm([...(values.quiet ? ["--quiet"] : []), ...(values.json ? ["--json"] : [])]);
  if (typeof form !== "string") {
    console.error(`verify: ${form.error}`);
    Deno.exit(VERIFY_EXIT.USAGE);
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(Deno.readTextFileSync(values.manifest ?? ""));
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound
      ? `verify: no ${values.manifest}: nothing to verify (install first, or pass its --prefix/--destdir)`
      : `verify: cannot use ${values.manifest}: ${(err as Error).message.split("\n")[0]}`;
    Deno.exit(reportUnusable(why, form === "json" ? console.log : console.error, form));
  }
  const checks = await verifyInstall({
    manifest,
    destdir: values.destdir,
    pamDir: values["pam-dir"] ?? `${values.destdir}/etc/pam.d`,
  });
  Deno.exit(reportChecks(checks, console.log, form));
}
