/**
 * The launcher PAM runs (PREFIX/sbin/netauth-pam-helper) and the root-owned directories the Deno
 * runtime keeps its own files in. install.sh writes both from here (src/install/install_plan.ts --plan-dir).
 *
 * @module
 */
import { runtimeDirs } from "../runtime_dir.ts";
import { ALLOWED_ENV } from "../sandbox.ts";

/** `install.sh --mode`: a `deno compile` binary, or a bundle run by a copy of deno. */
export type BuildMode = "compile" | "bundle";

/** What a launcher starts, and how. */
export interface LauncherSpec {
  /** The build mode. */
  mode: BuildMode;
  /** The command after the cleared environment: the compiled binary, or `deno run FLAGS bundle`, with baked args. */
  command: string[];
  /** HOME, DENO_DIR and TMPDIR go below it: never a path derived from the caller. */
  runtimeDir: string;
  /** Absolute path of util-linux's setpriv. */
  setpriv: string;
}

/** Quotes a word for sh when it holds anything beyond a safe path or flag. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The launcher's sh text: clears the environment (keeping only what the helper reads), points HOME, DENO_DIR and
 * TMPDIR below the runtime directory, sets umask 022, makes every uid root when started as euid root, and execs.
 */
export function launcherScript(spec: LauncherSpec): string {
  const dirs = runtimeDirs(spec.runtimeDir);
  const runtimeEnv = [
    `HOME=${dirs.home}`,
    `DENO_DIR=${dirs.denoDir}`,
    `TMPDIR=${dirs.tmp}`,
    "DENO_NO_UPDATE_CHECK=1",
  ].map(shellWord);
  const keep = ALLOWED_ENV.map((name) => `\${${name}+"${name}=$${name}"}`);
  return `#!/bin/sh -p
# netauth-pam-helper launcher (${spec.mode} mode), written by install.sh; re-run install.sh to change it.
# -p: keep the effective uid pam_exec gives (root under su and sudo); plain sh would drop to the caller's.
IFS=' '
# Files the runtime creates as root (code cache, runtime dirs) never take a caller's umask.
umask 022
as_root=
# Under su/sudo without pam_exec's seteuid the real uid is the caller's: make every uid root, so the
# caller can neither trace nor signal the helper.
if [ "$(/usr/bin/id -u)" = 0 ]; then as_root=${shellWord(`${spec.setpriv} --reuid=0 --regid=0 --clear-groups --`)}; fi
# The runtime reads DENO_*, OTEL_*, HOME and TMPDIR before any sandbox applies, and the PAM environment
# is the user's to influence: only the PAM variables pass, and the runtime's files stay in root's directories.
exec /usr/bin/env -i ${runtimeEnv.join(" ")} \\
  ${keep.join(" ")} \\
  $as_root ${spec.command.map(shellWord).join(" ")} "$@"
`;
}
