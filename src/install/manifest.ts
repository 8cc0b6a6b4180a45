/**
 * The install's manifest, PREFIX/lib/netauth-pam-helper/manifest.json: what was installed (per file its
 * SHA-256, owner and mode), from what (version, git commit, Deno, deno.lock) and with which sandbox,
 * runtime directories and PAM wiring. install.sh writes it with this module (outside the sandbox);
 * `install.sh --verify` (src/install/verify_install.ts) and the helper's `--audit` (src/artefact.ts) read it.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { sha256Hex } from "../digest.ts";
import { runtimeDirs as runtimeDirsOf } from "../runtime_dir.ts";
import { type FileEntry, type Manifest, MANIFEST_FORMAT } from "../manifest_format.ts";
import { dirEntry } from "../file_modes.ts";
import { PACKAGE } from "./package_layout.ts";

/** What `install.sh` tells the manifest about one install. */
export interface ManifestInputs {
  /** The checkout it was built from (deno.lock is hashed there). */
  root: string;
  /** `--destdir`: where the installed paths are on this machine ("" for a real install). */
  destdir: string;
  /** `--prefix`. */
  prefix: string;
  /** The build mode. */
  mode: "compile" | "bundle";
  /** The installed bundle or binary. */
  artefact: string;
  /** The installed launcher. */
  launcher: string;
  /** Installed paths (without DESTDIR) of the regular files to record. */
  files: string[];
  /** The root-owned runtime directory. */
  runtimeDir: string;
  /** The config directory given to install.sh. */
  confDir: string;
  /** `--cache-dir`, when given. */
  cacheDir?: string;
  /** The sandbox flags baked into the launcher. */
  sandbox: string[];
  /** The Debian PAM profile, when `--pam` placed one. */
  debianProfile?: string;
  /** The log file the PAM lines name. */
  logFile?: string;
  /** The helper's version. */
  version: string;
  /** The Deno version it was built with. */
  deno: string;
  /** Runs git in the checkout: its output, or undefined when it fails (no checkout). */
  git: (args: string[]) => Promise<string | undefined>;
}

/** The manifest for one install: every file's hash, owner and mode, the runtime directories, what it was built from. */
export async function buildManifest(inputs: ManifestInputs): Promise<Manifest> {
  const at = (path: string) => `${inputs.destdir}${path}`;
  const files: FileEntry[] = [];
  for (const path of [...new Set(inputs.files)].sort()) {
    const info = Deno.lstatSync(at(path));
    if (!info.isFile) throw new Error(`${at(path)} is not a regular file`);
    const sha256 = await sha256Hex(Deno.readFileSync(at(path)));
    files.push({ ...dirEntry(path, info), sha256 });
  }
  const owner = (path: string) => dirEntry(path, Deno.lstatSync(at(path)));
  const runtimeDirs = [inputs.runtimeDir, ...Object.values(runtimeDirsOf(inputs.runtimeDir))].map(owner);
  const commit = await inputs.git(["rev-parse", "HEAD"]);
  const status = commit === undefined ? undefined : await inputs.git(["status", "--porcelain"]);
  return {
    format: MANIFEST_FORMAT,
    name: PACKAGE,
    version: inputs.version,
    source: commit && status !== undefined ? { commit, dirty: status !== "" } : null,
    deno: inputs.deno,
    denoLockSha256: await sha256Hex(Deno.readFileSync(`${inputs.root}/deno.lock`)),
    mode: inputs.mode,
    prefix: inputs.prefix,
    artefact: inputs.artefact,
    launcher: inputs.launcher,
    confDir: inputs.confDir,
    cacheDir: inputs.cacheDir ?? null,
    sandbox: inputs.sandbox,
    runtimeDirs,
    pam: { debianProfile: inputs.debianProfile ?? null },
    log: inputs.logFile ? owner(inputs.logFile) : null,
    files,
  };
}

/** Runs git in `root`; undefined when it fails (not a checkout, no git). */
export function gitIn(root: string): (args: string[]) => Promise<string | undefined> {
  return async (args) => {
    try {
      const out = await new Deno.Command("git", { args: ["-C", root, ...args], stdout: "piped", stderr: "null" })
        .output();
      return out.code === 0 ? new TextDecoder().decode(out.stdout).trim() : undefined;
    } catch {
      return undefined;
    }
  };
}

if (import.meta.main) {
  // manifest.ts --root DIR --destdir DIR --prefix DIR --mode M --artefact PATH --launcher PATH
  //   --runtime-dir DIR --conf-dir DIR [--cache-dir DIR] [--broker-socket PATH] [--debian-profile PATH]
  //   [--log-file PATH] --file PATH...
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        root: { type: "string" },
        destdir: { type: "string", default: "" },
        prefix: { type: "string" },
        mode: { type: "string" },
        artefact: { type: "string" },
        launcher: { type: "string" },
        "runtime-dir": { type: "string" },
        "conf-dir": { type: "string" },
        "cache-dir": { type: "string" },
        "broker-socket": { type: "string" },
        "debian-profile": { type: "string" },
        "log-file": { type: "string" },
        file: { type: "string", multiple: true, default: [] },
      },
    });
    const { root, prefix, mode, artefact, launcher } = values;
    const runtimeDir = values["runtime-dir"];
    const confDir = values["conf-dir"];
    if (
      !root || !prefix || !artefact || !launcher || !runtimeDir || !confDir || (mode !== "compile" && mode !== "bundle")
    ) {
      throw new Error(
        "needs --root, --prefix, --mode compile|bundle, --artefact, --launcher, --runtime-dir, --conf-dir",
      );
    }
    const { flagsFor } = await import("./install_plan.ts");
    const { VERSION } = await import("../version.ts");
    const manifest = await buildManifest({
      root,
      destdir: values.destdir,
      prefix,
      mode,
      artefact,
      launcher,
      files: values.file,
      runtimeDir,
      confDir,
      cacheDir: values["cache-dir"],
      // The launcher's flags exactly: with --broker, the socket too.
      sandbox: await flagsFor({
        confDir,
        cacheDir: values["cache-dir"],
        runtimeDir,
        brokerSocket: values["broker-socket"],
      }),
      debianProfile: values["debian-profile"],
      logFile: values["log-file"],
      version: VERSION,
      deno: Deno.version.deno,
      git: gitIn(root),
    });
    console.log(JSON.stringify(manifest, null, 2));
  } catch (err) {
    console.error(`manifest: ${(err as Error).message.split("\n")[0]}`);
    Deno.exit(1);
  }
}
