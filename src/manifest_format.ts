// The shape of manifest.json: written by src/manifest.ts at install, read by `install.sh --verify`
// (src/verify_install.ts) and by `--audit` (src/artefact.ts).

export const MANIFEST_FORMAT = "netauth-pam-helper/manifest/v1";
export const MANIFEST_NAME = "manifest.json";

export interface FileEntry {
  /** As installed (without DESTDIR). */
  path: string;
  sha256: string;
  uid: number;
  gid: number;
  /** Permission bits in octal, like "0755". */
  mode: string;
}

export interface DirEntry {
  path: string;
  uid: number;
  gid: number;
  mode: string;
}

export interface Manifest {
  format: string;
  name: "netauth-pam-helper";
  version: string;
  /** The checkout it was built from; null when not built from a git checkout. */
  source: { commit: string; dirty: boolean } | null;
  deno: string;
  denoLockSha256: string;
  mode: "compile" | "bundle";
  prefix: string;
  /** The file the launcher runs: the bundle or the compiled binary. */
  artefact: string;
  launcher: string;
  /** The config directory given to install.sh (absent in older manifests). */
  confDir?: string;
  /** The offline cache directory given to install.sh, null without one (absent in older manifests). */
  cacheDir?: string | null;
  sandbox: string[];
  runtimeDirs: DirEntry[];
  pam: { debianProfile: string | null };
  /** The log file the PAM lines name: owner and mode only, its content changes with every login. */
  log: DirEntry | null;
  files: FileEntry[];
}
