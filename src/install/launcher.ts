/**
 * The launcher PAM runs (PREFIX/sbin/netauth-pam-helper) and the root-owned directories the Deno
 * runtime keeps its own files in. install.sh writes both from here (src/install/install_plan.ts --plan-dir).
 *
 * @module
 */
import { DEFAULT_TIMEOUT_SECONDS } from "../cli.ts";
import { REAL_TRY_MS, STARTED_ENV, WAITED_ENV } from "../deadline.ts";
import { Exit, exitInfo } from "../exit_codes.ts";
import { formatLine } from "../log.ts";
import { runtimeDirs, slotDir } from "../runtime_dir.ts";
import { PASSED_ENV } from "../sandbox.ts";
import { HOST_FACTS_SH } from "../host_facts.ts";
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
  /** Admission control: at most this many helpers run at once (absent: no limit). */
  loginSlots?: number;
  /** Whether the admin chose `loginSlots` (--login-slots) rather than taking the default for the CPU count. */
  slotsChosen?: boolean;
  /** Absolute path of util-linux's flock (default /usr/bin/flock). */
  flock?: string;
  /** Absolute path of util-linux's setsid (default /usr/bin/setsid). */
  setsid?: string;
}

/** The most login slots `--login-slots` accepts. */
export const MAX_LOGIN_SLOTS = 1024;

/**
 * The login slots for a host with `cpus` CPUs: four a CPU (at least 4, at most 64). Each runtime needs about 200 ms of
 * CPU to start, and while some wait for NetAuth others use the CPU: on 2 cores 8 and 16 slots let more of a storm in
 * than 4 (docs/performance.md, "Logins started at once"); each runtime is about 60 MiB.
 */
export function defaultLoginSlots(cpus: number): number {
  return Math.min(64, Math.max(4, 4 * Math.floor(cpus)));
}

/** `--login-slots`' value as a number of slots; throws with a one-line message for anything else. */
export function parseLoginSlots(raw: string): number {
  const n = /^\d{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_LOGIN_SLOTS)) {
    throw new Error(`--login-slots expects a whole number from 1 to ${MAX_LOGIN_SLOTS}, got "${raw}"`);
  }
  return n;
}

const CHOSEN_MARK = "(--login-slots)";

/** The slots a launcher's text says the admin chose with --login-slots; undefined for a default or none. */
export function chosenLoginSlots(launcher: string): number | undefined {
  const match = /^# Admission control: at most (\d+) helpers at once \(--login-slots\);/m.exec(launcher);
  return match ? Number(match[1]) : undefined;
}

/**
 * A waiting login gives up this long before its deadline: a real try's share (deadline.ts REAL_TRY_MS); with less
 * the helper would only answer no_time.
 */
export const ADMISSION_RESERVE_MS: number = REAL_TRY_MS;

/** The line a login that got no slot before its deadline logs, as the helper's decision lines are written. */
function gaveUpLine(): string {
  const line = formatLine(exitInfo(Exit.AUTHINFO_UNAVAIL).logLevel, "no login slot free before the deadline", {
    request: "REQUEST",
    outcome: "deadline",
    exit: Exit.AUTHINFO_UNAVAIL,
    waited: "WAITED",
    ms: "MS",
  });
  return line.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replace("request=REQUEST ", "${request}")
    .replace("WAITED", "$waited").replace("MS", "$ms");
}

/**
 * Admission control, run by \`sh -c\` once every id is root (so the caller can neither stop nor kill it):
 * $1 slots, $2 their directory, $3 the start time in epoch ms (or empty), then the helper's command. It takes
 * the first free slot (a lock on one file, held by the open file the helper inherits until it exits), or waits
 * on one picked by the clock until the login's deadline, less ADMISSION_RESERVE_MS, and then gives up with exit 9.
 * The helper learns the wait in WAITED_ENV. Without slot files it cannot open (no directory) it runs without a slot.
 */
export function admissionScript(flock: string): string {
  return `n=$1 dir=$2 started=$3 timeout=${DEFAULT_TIMEOUT_SECONDS} after="" i=0 now="" left="" waited="" ms=""
shift 3
umask 077
[ -d "$dir" ] || /bin/mkdir "$dir" 2>/dev/null
first=$(($$ % n))
while [ "$i" -lt "$n" ]; do
  { command exec 9>>"$dir/$(((first + i) % n))"; } 2>/dev/null || { umask 022 && exec "$@"; }
  if ${flock} -n 9; then umask 022 && ${WAITED_ENV}=0 && export ${WAITED_ENV} && exec "$@"; fi
  i=$((i + 1))
done
for arg; do
  if [ -n "$after" ]; then case $arg in -*) ;; *) timeout=$arg ;; esac; fi
  after=
  case $arg in --timeout) after=1 ;; --timeout=*) timeout=\${arg#*=} ;; esac
done
case $timeout in "" | *[!0-9.]* | .* | *. | *.*.*) timeout=${DEFAULT_TIMEOUT_SECONDS} ;; esac
whole=\${timeout%%.*} frac=""
case $timeout in *.*) frac=\${timeout#*.} ;; esac
frac=\${frac}000
frac=\${frac%"\${frac#???}"}
whole=\${whole#"\${whole%%[!0]*}"}
case \${#whole} in [4-9] | ??*) whole=${DEFAULT_TIMEOUT_SECONDS} frac=000 ;; esac
now=$(/usr/bin/date +%s%N)
# The slot to wait on, from the clock: pids of logins started together step alike, so $$ would queue them on one.
i=$((now % n)) now=$((now / 1000000))
case $started in "" | *[!0-9]*) started=$now ;; esac
left=$((started + \${whole:-0} * 1000 + 1$frac - 1000 - ${ADMISSION_RESERVE_MS} - now))
{ command exec 9>>"$dir/$i"; } 2>/dev/null || { umask 022 && exec "$@"; }
if [ "$left" -gt 0 ] && ms=$((1000 + left % 1000)) && ${flock} -w "$((left / 1000)).\${ms#1}" 9; then
  waited=$(($(/usr/bin/date +%s%3N) - now))
  umask 022 && ${WAITED_ENV}=$waited && export ${WAITED_ENV} && exec "$@"
fi
waited=$(($(/usr/bin/date +%s%3N) - now))
ms=$((now + waited - started))
# The request's fields as the helper's lines start with them, each only when logfmt writes it bare (else left out).
request=""
for arg in "entity=\${PAM_USER-}" "service=\${PAM_SERVICE-}" "type=\${PAM_TYPE-}"; do
  case \${arg#*=} in "" | *[!A-Za-z0-9_.:/@+,-]*) ;; *) request="$request$arg " ;; esac
done
printf "%s\\n" "${gaveUpLine()}" >&2
exit ${Exit.AUTHINFO_UNAVAIL}
`;
}

/** Quotes a word for sh when it holds anything beyond a safe path or flag. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** setpriv's options for a root caller: every uid and gid root, no supplementary group, no capability. */
export const SETPRIV_ROOT = ["--reuid=0", "--regid=0", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"];
/** `text` indented by two spaces, line by line (empty lines stay empty). */
function indent(text: string): string {
  return text.split("\n").map((line) => line === "" ? "" : `  ${line}`).join("\n");
}

/** What the broker (--serve) alone gets from the launcher: a V8 heap cap, so its RSS stays flat (docs/broker.md). */
export const SERVE_ENV = "DENO_V8_FLAGS=--max-old-space-size=64";

/**
 * The launcher's sh text: clears the environment (keeping only what the helper reads), points HOME, DENO_DIR and
 * TMPDIR below the runtime directory, sets umask 022, makes every uid root (with no capability) when started as
 * euid root, and execs; with `loginSlots`, a PAM call started as root first waits for a login slot (admission
 * control).
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
  const slots = spec.loginSlots;
  // Admission control (docs/security.md, "The launcher"): only once every id is root (after setpriv), so only a
  // process the caller cannot signal ever holds a slot; never for the broker, which is long-lived; and not for a
  // caller without root (a screen locker as the user), who could not open root's slot files.
  const from = spec.slotsChosen ? CHOSEN_MARK : "(the default for this host's CPUs)";
  const admission = slots === undefined
    ? ""
    : `# Admission control: at most ${slots} helpers at once ${from}; the rest wait (cheaply, in flock)
# for a slot until the deadline. Run after setpriv, as root in every id, and in a session of its own (setsid): the
# caller can neither signal a slot's holder nor stop it from the terminal (Ctrl-Z stops a whole foreground group).
if [ "$euid" = 0 ] && [ -z "$serve_env" ]; then
  # shellcheck disable=SC2016 # expanded by the sh -c below, not here
  admission=${shellWord(admissionScript(spec.flock ?? "/usr/bin/flock"))}
  set -- ${shellWord(spec.setsid ?? "/usr/bin/setsid")} -w /bin/sh -c "$admission" netauth-admission ${slots} ${
      shellWord(slotDir(spec.runtimeDir))
    } "$started_ms" "$@"
fi
`;
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
# --check --user NAME alone (never a login: pam_exec's arguments are the PAM line's): the sandbox may not read
# /etc/passwd, /etc/shadow or /etc/pam.d, nor run getent, so the launcher hands the helper those facts on stdin,
# a shadow entry's password field reduced to its shape (src/host_facts.ts; docs/security.md, "--check --user").
check_user='' user_next=''
if [ "\${1-}" = --check ]; then
  for arg; do
    [ -n "$user_next" ] && check_user=$arg
    user_next=''
    case $arg in --user) user_next=1 ;; --user=*) check_user=\${arg#--user=} ;; esac
  done
fi
set -- ${spec.command.map(shellWord).join(" ")} "$@"
${admission}# The runtime reads DENO_*, OTEL_*, HOME and TMPDIR before any sandbox applies, and the PAM environment
# is the user's to influence: only the PAM variables pass, and the runtime's files stay in root's directories.
helper() {
  # shellcheck disable=SC2086 # $as_root and $serve_env hold words set above, split into argv on purpose
  exec /usr/bin/env -i ${runtimeEnv.join(" ")} \\
    \${started_ms:+"${STARTED_ENV}=$started_ms"} ${keep.join(" ")} $serve_env ${activation.join(" ")} $as_root "$@"
}
if [ -n "$check_user" ]; then
${indent(HOST_FACTS_SH)}
  host_facts "$check_user" | helper "$@"
  exit
fi
helper "$@"
`;
}
