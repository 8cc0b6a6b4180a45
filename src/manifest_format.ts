/**
 * The shape of manifest.json: written by src/install/manifest.ts at install, read by `install.sh --verify`
 * (src/install/verify_install.ts) and by `--audit` (src/artefact.ts).
 *
 * @module
 */

/** The `format` a manifest carries; readers refuse any other. */
export const MANIFEST_FORMAT = "netauth-pam-helper/manifest/v1";
/** The manifest's file name, in PREFIX/lib/netauth-pam-helper/. */
export const MANIFEST_NAME = "manifest.json";

/** One installed file. */
export interface FileEntry {
  /** As installed (without DESTDIR). */
  path: string;
  /** Its SHA-256 in hex. */
  sha256: string;
  /** Its owner. */
  uid: number;
  /** Its group. */
  gid: number;
  /** Permission bits in octal, like "0755". */
  mode: string;
}

/** A directory (or the log file): owner and mode only. */
export interface DirEntry {
  /** As installed (without DESTDIR). */
  path: string;
  /** Its owner. */
  uid: number;
  /** Its group. */
  gid: number;
  /** Permission bits in octal, like "0700". */
  mode: string;
}

/** manifest.json: what one install put where, and what it was built from. */
export interface Manifest {
  /** `MANIFEST_FORMAT`. */
  format: string;
  /** The program's name. */
  name: "netauth-pam-helper";
  /** The helper's version. */
  version: string;
  /** The checkout it was built from; null when not built from a git checkout. */
  source: { commit: string; dirty: boolean } | null;
  /** The Deno version it was built with. */
  deno: string;
  /** The SHA-256 of deno.lock: the dependencies it was built with. */
  denoLockSha256: string;
  /** The build mode (`install.sh --mode`). */
  mode: "compile" | "bundle";
  /** `install.sh --prefix`. */
  prefix: string;
  /** The file the launcher runs: the bundle or the compiled binary. */
  artefact: string;
  /** The launcher PAM lines name. */
  launcher: string;
  /** The config directory given to install.sh (absent in older manifests). */
  confDir?: string;
  /** The offline cache directory given to install.sh, null without one (absent in older manifests). */
  cacheDir?: string | null;
  /** The Deno permission flags baked into the launcher. */
  sandbox: string[];
  /** The runtime's own directories. */
  runtimeDirs: DirEntry[];
  /** The Debian PAM profile, when `--pam` placed one. */
  pam: { debianProfile: string | null };
  /** The log file the PAM lines name: owner and mode only, its content changes with every login. */
  log: DirEntry | null;
  /** Every installed file. */
  files: FileEntry[];
}
