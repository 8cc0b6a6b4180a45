/**
 * Path helpers for absolute POSIX paths, shared by the config, the sandbox and the strict-modes walk.
 *
 * @module
 */

/** The directory holding `path` ("/" for a top-level path). */
export function dirname(path: string): string {
  const cut = path.replace(/\/+$/, "").lastIndexOf("/");
  return cut <= 0 ? "/" : path.slice(0, cut);
}

/** A directory path without trailing slashes ("/" stays "/"). */
export function trimSlashes(path: string): string {
  return path.replace(/(.)\/+$/, "$1");
}

/** `path` made absolute against directory `base` (an absolute `path` stays as it is). */
export function resolvePath(base: string, path: string): string {
  return path.startsWith("/") ? path : `${base.replace(/\/+$/, "")}/${path}`;
}

/**
 * Whether `path` can stand in a Deno permission flag's list: absolute, and without a comma (the list's separator)
 * or white space. `--cache-dir`, `--runtime-dir` and every sandbox path must be.
 */
export function isFlagPath(path: string): boolean {
  return path.startsWith("/") && !/[,\s]/.test(path);
}

/** Whether `path` lies inside directory `dir` (not `dir` itself). */

export function isBelow(path: string, dir: string): boolean {
  return path.startsWith(dir === "/" ? "/" : `${trimSlashes(dir)}/`);
}
