/**
 * The runtime's own directories (HOME, DENO_DIR, TMPDIR), created root-owned by install.sh. Whoever can
 * write there can plant code the runtime loads before any sandbox applies, so only root may: the
 * strict-modes rule (file_modes.ts) with root as the only owner.
 *
 * @module
 */
import { octal, strictProblem, withOwnerAndMode } from "./file_modes.ts";

/** The three directories the launcher points the runtime at, below the install's runtime directory. */
export function runtimeDirs(runtimeDir: string): { home: string; denoDir: string; tmp: string } {
  return { home: `${runtimeDir}/home`, denoDir: `${runtimeDir}/deno`, tmp: `${runtimeDir}/tmp` };
}

/**
 * The login slots' lock files (admission control, src/install/launcher.ts): root's alone (0700, made by the
 * launcher as root), so no process without root can open a slot file and hold its lock.
 */
export function slotDir(runtimeDir: string): string {
  return `${runtimeDir}/slots`;
}

/** The outage record's directory (outage/record.ts): the cache's, else the runtime's TMPDIR; undefined for neither. */
export function outageDirFor(cacheDir: string | undefined, runtimeDir: string | undefined): string | undefined {
  return cacheDir ?? (runtimeDir ? runtimeDirs(runtimeDir).tmp : undefined);
}

/** One runtime directory as `--check` and `--audit` report it. */
export interface RuntimeDirState {
  /** The directory's absolute path. */
  path: string;
  /** Its owner; absent when it could not be inspected. */
  uid?: number;
  /** Permission bits in octal, like "755". */
  mode?: string;
  /** Why the directory is unsafe or unusable; absent when it is fine. */
  problem?: string;
}

/** How a path is inspected without following a symlink; tests pass a fake. */
export type Lstat = (path: string) => Deno.FileInfo;

/** Each runtime directory with its owner and mode, and a problem unless it is root's alone. */
export function inspectRuntimeDir(runtimeDir: string, lstat: Lstat = Deno.lstatSync): RuntimeDirState[] {
  return [runtimeDir, ...Object.values(runtimeDirs(runtimeDir))].map((path) => {
    let info: Deno.FileInfo;
    try {
      info = lstat(path);
    } catch (err) {
      const why = err instanceof Deno.errors.NotFound
        ? "does not exist"
        : `cannot be inspected (${(err as Error).name})`;
      return { path, problem: `${why}: re-run install.sh` };
    }
    const state = { path, uid: info.uid ?? undefined, mode: octal(info) };
    if (!info.isDirectory) return { ...state, problem: "is not a directory" };
    const why = strictProblem(info, null);
    return why ? { ...state, problem: withOwnerAndMode(info, why) } : state;
  });
}
