/**
 * `install.sh --verify`: the installed files against manifest.json (SHA-256, owner, mode), the directories
 * holding them and the runtime's directories (root's alone), and every enabled PAM line that runs the
 * helper (the options the README requires). One line per check, `ok ...` or `DRIFT ...`. Runs as root,
 * outside the helper's sandbox.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { sha256Hex } from "../digest.ts";
import { octalMode, strictProblem, withOwnerAndMode } from "../file_modes.ts";
import { dirname } from "../paths.ts";
import { type DirEntry, type Manifest, MANIFEST_FORMAT } from "../manifest_format.ts";

/** One line of `install.sh --verify`'s report. */
export interface Check {
  /** `ok` or `DRIFT`. */
  ok: boolean;
  /** What was checked, and what was found. */
  what: string;
}

/** What `--verify` checks, and how it reads the file system (tests pass fakes). */
export interface VerifyInputs {
  /** The install's manifest.json, parsed. */
  manifest: Manifest;
  /** Where the manifest's paths are, for a --destdir install; "" otherwise. */
  destdir: string;
  /** The PAM service directory to scan (DESTDIR/etc/pam.d). */
  pamDir: string;
  /** Inspects a path without following links; Deno's by default. */
  lstat?: (path: string) => Deno.FileInfo;
  /** Reads a file's bytes; Deno's by default. */
  readFile?: (path: string) => Uint8Array;
  /** Lists a directory; Deno's by default. */
  readDir?: (path: string) => Iterable<Deno.DirEntry>;
  /** Reads a text file; Deno's by default. */
  readText?: (path: string) => string;
}

const ok = (what: string): Check => ({ ok: true, what });
const drift = (what: string): Check => ({ ok: false, what });

/** Root-owned and writable by nobody else: the rule for everything the helper or its runtime loads. */
function ownerAndMode(label: string, path: string, info: Deno.FileInfo, want?: { uid: number; mode: string }) {
  const checks: Check[] = [];
  const mode = octalMode(info.mode);
  if (info.uid !== 0) checks.push(drift(`owner ${label} ${path}: uid ${info.uid}, not root`));
  else if (want && want.uid !== 0) checks.push(drift(`owner ${label} ${path}: manifest says uid ${want.uid}`));
  else checks.push(ok(`owner ${label} ${path}: root`));
  if (((info.mode ?? 0) & 0o022) !== 0) {
    checks.push(drift(`mode ${label} ${path}: ${mode} is writable by group or others`));
  } else if (want && want.mode !== mode) {
    checks.push(drift(`mode ${label} ${path}: ${mode}, manifest says ${want.mode}`));
  } else checks.push(ok(`mode ${label} ${path}: ${mode}`));
  return checks;
}

/** `dir`'s parents, nearest first, up to "/". */
function parentsOf(dir: string): string[] {
  const parents: string[] = [];
  while (dir !== "/") parents.push(dir = dirname(dir));
  return parents;
}

/**
 * A directory on the way to what PAM runs as root: whoever can rename it can swap the helper, so it
 * takes file_modes.ts's rule for a directory holding another (root's, closed to others unless sticky).
 * A link's own mode means nothing: its directory, checked next, decides who can replace it.
 */
export function aboveProblem(info: Deno.FileInfo): string | undefined {
  const why = info.isSymlink ? undefined : strictProblem(info, null, true);
  return why && withOwnerAndMode(info, why);
}

/** Every directory above the install's, up to "/". */
function aboveChecks(dirs: string[], stat: (path: string) => Deno.FileInfo | string): Check[] {
  const above = new Set(dirs.flatMap(parentsOf));
  return [...above].filter((path) => !dirs.includes(path)).sort().map((path) => {
    const info = stat(path);
    const problem = typeof info === "string" ? info : aboveProblem(info);
    return problem ? drift(`above ${path}: ${problem}`) : ok(`above ${path}: root's, closed to others`);
  });
}

function missing(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return false;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return true;
    throw err;
  }
}

/** For install.sh before it installs: the first unsafe directory from PREFIX (or where it will be made) up to "/". */
function prefixProblem(prefix: string): string | undefined {
  let dir = prefix;
  while (missing(dir)) dir = dirname(dir);
  const real = Deno.realPathSync(dir);
  for (const path of [real, ...parentsOf(real)]) {
    const problem = aboveProblem(Deno.lstatSync(path));
    if (problem) return `${path} ${problem}`;
  }
  return undefined;
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
  checks.push(...aboveChecks(dirs.map((d) => d.path), stat));
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

  checks.push(...pamChecks(inputs));
  return checks;
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
      if (info.uid !== 0) return `${child} is owned by uid ${info.uid}`;
      if (((info.mode ?? 0) & 0o022) !== 0 && !info.isSymlink) return `${child} is writable by group or others`;
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

/** A pam_exec line that runs the helper. */
export interface PamLine {
  /** The PAM service file. */
  file: string;
  /** Its line number (the first physical line of a continued one). */
  line: number;
  /** The PAM type: auth, account, session or password. */
  type: string;
  /** pam_exec's own options, before the command. */
  options: string[];
}

/** pam_exec lines in one PAM service file whose command is one of `targets`; commented-out lines do not count. */
export function pamExecLines(file: string, text: string, targets: string[]): PamLine[] {
  const lines: PamLine[] = [];
  const physical = text.split("\n");
  for (let i = 0; i < physical.length; i++) {
    const number = i + 1;
    let logical = physical[i];
    while (logical.endsWith("\\") && i + 1 < physical.length) logical = logical.slice(0, -1) + " " + physical[++i];
    const words = tokens(logical.replace(/#.*/, ""));
    if (words.length < 3) continue;
    const type = words[0].replace(/^-/, "");
    if (!["auth", "account", "session", "password"].includes(type)) continue;
    const [module, ...args] = words.slice(2);
    if (!/(^|\/)pam_exec\.so$/.test(module)) continue;
    const command = args.findIndex((arg) => arg.startsWith("/"));
    if (command < 0 || !targets.includes(args[command])) continue;
    lines.push({ file, line: number, type, options: args.slice(0, command) });
  }
  return lines;
}

/** PAM's words: whitespace-separated, with `[...]` (controls, bracketed arguments) as one word. */
function tokens(line: string): string[] {
  return line.match(/\[[^\]]*\]|\S+/g) ?? [];
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

function pamChecks(inputs: VerifyInputs): Check[] {
  const readDir = inputs.readDir ?? Deno.readDirSync;
  const readText = inputs.readText ?? Deno.readTextFileSync;
  const targets = [inputs.manifest.launcher, inputs.manifest.artefact];
  const found: PamLine[] = [];
  let names: string[];
  try {
    names = [...readDir(inputs.pamDir)].filter((e) => e.isFile).map((e) => e.name).sort();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) names = [];
    else return [drift(`pam ${inputs.pamDir}: cannot be read (${(err as Error).name})`)];
  }
  for (const name of names) {
    const path = `${inputs.pamDir}/${name}`;
    found.push(...pamExecLines(path, readText(path), targets));
  }
  if (found.length === 0) return [ok(`pam ${inputs.pamDir}: no enabled pam_exec line runs ${targets[0]}`)];
  return found.map((line) => {
    const where = `pam ${line.file}:${line.line} ${line.type}`;
    const lacking = requiredOptions(line.type).filter((option) => !line.options.includes(option));
    const refused = REFUSED_OPTIONS.filter((option) => line.options.includes(option));
    const problems = [
      ...(lacking.length > 0 ? [`lacks ${lacking.join(", ")}`] : []),
      ...(refused.length > 0 ? [`carries ${refused.join(", ")}`] : []),
    ];
    return problems.length === 0
      ? ok(`${where}: ${line.options.join(" ")}`)
      : drift(`${where}: ${problems.join("; ")} (README, "PAM")`);
  });
}

/** A manifest this module can check, or why not. */
/** The manifest `text` holds; throws when it is not this format's. */
export function parseManifest(text: string): Manifest {
  const manifest = JSON.parse(text) as Manifest;
  if (manifest?.format !== MANIFEST_FORMAT || !Array.isArray(manifest.files) || !manifest.artefact) {
    throw new Error(`not a ${MANIFEST_FORMAT} manifest`);
  }
  return manifest;
}

if (import.meta.main) {
  // verify_install.ts --manifest PATH [--destdir DIR] [--pam-dir DIR]
  // Exit 0: every check ok; 1: any DRIFT; 2: no usable manifest.
  // verify_install.ts --prefix-problem PREFIX: prints the first unsafe directory on the way, exit 1; else exit 0.
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      manifest: { type: "string" },
      destdir: { type: "string", default: "" },
      "pam-dir": { type: "string" },
      "prefix-problem": { type: "string" },
    },
  });
  if (values["prefix-problem"] !== undefined) {
    const problem = prefixProblem(values["prefix-problem"]);
    if (problem) console.log(problem);
    Deno.exit(problem ? 1 : 0);
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(Deno.readTextFileSync(values.manifest ?? ""));
  } catch (err) {
    console.error(`verify: cannot use ${values.manifest}: ${(err as Error).message.split("\n")[0]}`);
    Deno.exit(2);
  }
  const checks = await verifyInstall({
    manifest,
    destdir: values.destdir,
    pamDir: values["pam-dir"] ?? `${values.destdir}/etc/pam.d`,
  });
  for (const check of checks) console.log(`${check.ok ? "ok" : "DRIFT"} ${check.what}`);
  const drifted = checks.filter((c) => !c.ok).length;
  console.log(drifted === 0 ? `verified: ${checks.length} checks ok` : `${drifted} of ${checks.length} checks DRIFT`);
  Deno.exit(drifted === 0 ? 0 : 1);
}
