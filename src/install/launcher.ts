/**
 * The launcher PAM runs (PREFIX/sbin/netauth-pam-helper) and the root-owned directories the Deno
 * runtime keeps its own files in. install.sh writes both from here (src/install/install_plan.ts --plan-dir).
 *
 * @module
 */
import { STARTED_ENV } from "../deadline.ts";
import { runtimeDirs } from "../runtime_dir.ts";
import { PASSED_ENV } from "../sandbox.ts";
import { ACTIVATION_ENV } from "../broker/socket.ts";

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

/** setpriv's options for a root caller: every uid and gid root, no supplementary group, no capability. */
export const SETPRIV_ROOT = ["--reuid=0", "--regid=0", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"];

/** What the broker (--serve) alone gets from the launcher: a V8 heap cap, so its RSS stays flat (docs/broker.md). */
export const SERVE_ENV = "DENO_V8_FLAGS=--max-old-space-size=64";

/**
 * The launcher's sh text: clears the environment (keeping only what the helper reads), points HOME, DENO_DIR and
 * TMPDIR below the runtime directory, sets umask 022, makes every uid root (with no capability) when started as
 * euid root, and execs.
 */
export function launcherScript(spec: LauncherSpec): string {
  const dirs = runtimeDirs(spec.runtimeDir);
  const runtimeEnv = [
    `HOME=${dirs.home}`,
    `DENO_DIR=${dirs.denoDir}`,
    `TMPDIR=${dirs.tmp}`,
    "DENO_NO_UPDATE_CHECK=1",
  ].map(shellWord);
  const keep = PASSED_ENV.map((name) => `\${${name}+"${name}=$${name}"}`);
  // systemd's socket activation, for the broker alone: LISTEN_PID stays right, as env and deno exec in place.
  const activation = ACTIVATION_ENV.map((name) => `\${serve_env:+\${${name}+"${name}=$${name}"}}`);
  return `#!/bin/sh -p
# netauth-pam-helper launcher (${spec.mode} mode), written by install.sh; re-run install.sh to change it.
# -p: keep the effective uid pam_exec gives (root under su and sudo); plain sh would drop to the caller's.
IFS=' '
# Files the runtime creates as root (its analysis caches, runtime dirs) never take a caller's umask.
umask 022
# When the kernel started this process (pam_exec's fork; env, setpriv and deno exec in place), in epoch ms:
# the helper's deadline and logged ms count from it, and the runtime may not read /proc itself. Field 22
# of /proc/PID/stat is in USER_HZ ticks (100 a second), /proc/uptime in seconds since boot, read on both
# sides of \`date\`: their midpoint is off by at most half the time \`date\` took, however loaded the host.
started_ms=
digits() { case $1 in '' | *[!0-9]*) return 1 ;; esac; }
field22() { start_tick=\${20}; }
centis() { digits "\${1%.*}" && digits "\${1#*.}" && cs=$((\${1%.*} * 100 + 1\${1#*.} - 100)); }
if { read -r stat </proc/$$/stat && read -r up1 _ </proc/uptime; } 2>/dev/null && now_ns=$(/usr/bin/date +%s%N) &&
  { read -r up2 _ </proc/uptime; } 2>/dev/null && centis "$up1" && up1=$cs && centis "$up2"; then
  # shellcheck disable=SC2086 # split on purpose into stat's fields after comm's ')': numbers and a state letter
  field22 \${stat##*) }
  if digits "$start_tick" && digits "$now_ns"; then
    started_ms=$((now_ns / 1000000 - (up1 + cs - 2 * start_tick) * 5))
  fi
fi
# Under su/sudo (pam_exec lines carry no seteuid) the real uid is the caller's: make every uid root, so the
# caller can neither trace nor signal the helper. The shell reads its euid itself: a child such as \`id\` would
# have the caller's real uid, and the caller could kill it to skip this step (fields: tab-separated).
# The runtime keeps no capability (an empty bounding set): root's read-only files, the sealed V8 code cache
# among them, stay read-only to it (docs/install.md, "Code cache"). So setpriv runs for every root caller.
euid='' capbnd=''
{ while IFS='	' read -r key real eff _; do
  case $key in
    Uid:) euid=$eff ;;
    CapBnd:) capbnd=$real; break ;;
  esac
done </proc/$$/status; } 2>/dev/null
# Unread (no /proc): assume root, so setpriv runs; if this process is not root, setpriv fails and so does
# the login. Never \`id\`: under su the caller could kill it.
[ -n "$euid" ] || euid=0
as_root=''
if [ "$euid" = 0 ]; then
  as_root=${shellWord(`${spec.setpriv} ${SETPRIV_ROOT.join(" ")} --`)}
fi
# The broker (--serve) is started by root, never by PAM; under systemd it holds no capabilities, and
# setpriv --clear-groups would need CAP_SETGID. Started by hand it holds them: it drops them, and so only
# reads the sealed code cache too. It is long-lived: V8's heap is capped, so its RSS stays flat.
serve_env=
if [ "\${1-}" = --serve ]; then
  as_root='' serve_env=${SERVE_ENV}
  case $capbnd in *[1-9a-f]*) as_root=${shellWord(`${spec.setpriv} --inh-caps=-all --bounding-set=-all --`)} ;; esac
fi
# The runtime reads DENO_*, OTEL_*, HOME and TMPDIR before any sandbox applies, and the PAM environment
# is the user's to influence: only the PAM variables pass, and the runtime's files stay in root's directories.
# shellcheck disable=SC2086 # $as_root and $serve_env hold words set above, split into argv on purpose
exec /usr/bin/env -i ${runtimeEnv.join(" ")} \\
  \${started_ms:+"${STARTED_ENV}=$started_ms"} ${keep.join(" ")} $serve_env ${activation.join(" ")} \\
  $as_root ${spec.command.map(shellWord).join(" ")} "$@"
`;
}
