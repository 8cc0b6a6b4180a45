/**
 * The runtime's V8 code cache in bundle mode (docs/install.md, "Code cache"): root warms it at install time,
 * this module seals it (everything checkpointed into the one SQLite file, mode 0444), the manifest records its
 * SHA-256 like any installed file, and `--verify` reports DRIFT when anything was written to it since. The
 * runtime cannot write it: the launcher starts it without capabilities, so a 0444 file stays read-only even to
 * root's uid, and Deno opens it read-only.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { runtimeDirs } from "../runtime_dir.ts";
import { sha256Hex } from "../digest.ts";
import type { Manifest } from "../manifest_format.ts";

/** One line of `--verify`'s report (verify_install.ts's Check). */
export interface CacheCheck {
  /** `ok` or `DRIFT`. */
  ok: boolean;
  /** What was checked, and what was found. */
  what: string;
}

/** Deno's code cache, a SQLite database in WAL mode, in the runtime's DENO_DIR. */
export function codeCachePath(runtimeDir: string): string {
  return `${runtimeDirs(runtimeDir).denoDir}/v8_code_cache_v2`;
}

/** The sealed cache's mode: read-only to everyone, root included once it holds no capability. */
export const SEALED_MODE = 0o444;

/** Removes the cache at `path` and its write-ahead log and index, before a warm-up. */
export function clearCodeCache(path: string): void {
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      Deno.removeSync(file);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
}

/**
 * Seals the cache at `path` after warming: folds its write-ahead log into the file (closing the last
 * connection removes the log), then makes it 0444. False when there is no cache (the warm-up loaded nothing).
 */
export function sealCodeCache(path: string): boolean {
  try {
    Deno.lstatSync(path);
  } catch {
    return false;
  }
  const db = new DatabaseSync(path);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  Deno.chmodSync(path, SEALED_MODE);
  return true;
}

function sizeOf(path: string, lstat: (path: string) => Deno.FileInfo): number | undefined {
  try {
    return lstat(path).size;
  } catch {
    return undefined;
  }
}

/**
 * What `--verify` adds for the code cache (its hash, owner and mode are a file entry's, checked with the
 * others): its write-ahead log must be empty, since SQLite reads pages from there before the sealed file,
 * and a cache the manifest does not record must not exist, since a login would use it unverified.
 */
export function codeCacheCheck(
  manifest: Pick<Manifest, "files" | "runtimeDirs">,
  at: (path: string) => string,
  lstat: (path: string) => Deno.FileInfo = Deno.lstatSync,
): CacheCheck {
  const runtimeRoot = manifest.runtimeDirs[0]?.path;
  if (!runtimeRoot) return { ok: true, what: "code cache: no runtime directory" };
  const path = codeCachePath(runtimeRoot);
  const recorded = manifest.files.some((f) => f.path === path);
  const wal = sizeOf(at(`${path}-wal`), lstat);
  if (wal) {
    return { ok: false, what: `code cache ${path}-wal: ${wal} bytes written since it was sealed (re-run install.sh)` };
  }
  if (!recorded) {
    return sizeOf(at(path), lstat) === undefined
      ? { ok: true, what: `code cache ${path}: none (every start compiles)` }
      : { ok: false, what: `code cache ${path}: not in the manifest, so unverified (re-run install.sh)` };
  }
  return { ok: true, what: `code cache ${path}: sealed, nothing written since` };
}

/** True when the cache at `path` is the one `manifestJson` records and it is still sealed (a re-install keeps it). */
export async function stillSealed(path: string, manifestJson: string): Promise<boolean> {
  try {
    const manifest = JSON.parse(Deno.readTextFileSync(manifestJson)) as Manifest;
    const entry = manifest.files.find((f) => f.path === path);
    const info = Deno.lstatSync(path);
    return entry !== undefined && info.isFile && info.uid === 0 && ((info.mode ?? 0) & 0o7777) === SEALED_MODE &&
      !sizeOf(`${path}-wal`, Deno.lstatSync) && entry.sha256 === await sha256Hex(Deno.readFileSync(path));
  } catch {
    return false;
  }
}

if (import.meta.main) {
  // code_cache.ts --seal PATH: seal a warmed cache (exit 0; 1 when there is none)
  // code_cache.ts --sealed PATH MANIFEST_JSON: exit 0 when PATH is still the sealed cache the manifest records
  const [command, path, manifestJson] = Deno.args;
  try {
    if (command === "--seal" && path) Deno.exit(sealCodeCache(path) ? 0 : 1);
    if (command === "--sealed" && path && manifestJson) Deno.exit(await stillSealed(path, manifestJson) ? 0 : 1);
    console.error("usage: code_cache.ts --seal PATH | --sealed PATH MANIFEST_JSON");
  } catch (err) {
    console.error(`code cache: ${(err as Error).message.split("\n")[0]}`);
  }
  Deno.exit(2);
}
