#!/bin/sh
# install.sh: build netauth-pam-helper with the sandbox flags from src/sandbox.ts, install it,
# and (only with --pam) wire it into PAM. Stages everything, then renames into place, so a
# failure halfway leaves the previous install working. See --help.
set -eu
# Whatever root's umask, nothing install.sh creates is writable by group or others.
umask 022

ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
NAME=netauth-pam-helper
PREFIX=/usr/local
DESTDIR=
CONF_DIR=/etc/netauth
CACHE_DIR=
MODE=compile
LOGIN_SLOTS= # --login-slots: empty for the default, from the CPU count (src/install/launcher.ts)
ACTION=install
PAM=0
BROKER=0
FORCE=0
DRY_RUN=0
REPORT= # --verify's --quiet or --json, passed through to src/install/verify_install.ts
CHANGED=0
PAM_WIRED=0 # 1 once a pam-auth-update profile was placed: then no manual PAM lines are printed
DEBIAN_PROFILE=/usr/share/pam-configs/netauth
BROKER_UNIT=/etc/systemd/system/$NAME.service # --broker: the warm broker's unit (src/install/broker_unit.ts)
LOG_FILE=/var/log/$NAME.log # log= on the pam_exec lines (pam.d/ names this one; --log-file): created 0640, kept by --uninstall

usage() {
  cat <<EOF
usage: ./install.sh [options]

Builds $NAME with the Deno permissions src/sandbox.ts derives from CONF_DIR/config.toml,
verifies the build, installs it root-owned under PREFIX/lib/$NAME/ with a launcher
PREFIX/sbin/$NAME (0755) that clears the environment and gives the runtime root-owned HOME,
DENO_DIR and TMPDIR (PREFIX/lib/$NAME/runtime/), creates the log file the PAM lines name
($LOG_FILE, with a logrotate snippet) and the man page (PREFIX/share/man/man8/$NAME.8), and prints
the PAM lines to add (unless --pam wired them).

  --prefix DIR       install under DIR: DIR/sbin/$NAME, DIR/lib/$NAME/ (default /usr/local); refused
                     when a directory or symbolic link on the way is another user's to swap (the
                     same for --conf-dir, --cache-dir and the log file's directory)
  --destdir DIR      stage into DIR (packaging, tests): paths inside stay as if installed at PREFIX
  --conf-dir DIR     NetAuth config directory the helper may read (default /etc/netauth)
  --cache-dir DIR    enable the offline credential cache in DIR (created root-owned 0700): the
                     helper may read and write there and nowhere else
  --log-file FILE    the file pam_exec appends the helper's lines to (log= on the PAM lines and
                     the profile; default $LOG_FILE); its directories as for --prefix, but a
                     system log group's write (Ubuntu's /var/log, root:syslog) is accepted
  --mode compile     a single 'deno compile' binary (default); set DENORT_BIN=/path/to/denort
                     where the runtime cannot be downloaded (offline, air-gapped): the denort
                     of the same Deno version, from the release archive denort-<target>.zip
  --mode bundle      one bundled JS file run by a root-owned copy of this deno (PREFIX/lib/$NAME/deno)
                     with the same flags, for hosts where no denort can be had
  --login-slots N    admission control: at most N helpers run at once, the other logins wait for a
                     slot until their deadline (default: four a CPU, 4 to 64)
  --pam              also wire PAM: on Debian/Ubuntu install and enable a pam-auth-update profile;
                     elsewhere print what to add and where. Without --pam no PAM file is touched
  --broker           also run the warm broker (docs/broker.md): bake its socket into the helper and its
                     sandbox, install $BROKER_UNIT and, where systemd runs, enable and
                     (re)start it; --print-flags then prints the flags with the socket
  --force            install even when '--check' fails (a config is still needed), and replace a
                     host-wide file (the launcher, man page, logrotate snippet, unit, PAM profile)
                     this install did not write (kept as a backup; --uninstall puts it back);
                     never a file of the Debian package's
  --dry-run          a preview: needs no server and builds nothing; prints the config check and
                     every action, changes nothing
  --uninstall        remove exactly what a previous install put there (PAM profile included), but
                     no host-wide file that changed since: that one is kept
  --verify           check the install against its manifest.json (hashes, owners, modes, runtime
                     directories, every path up to /) and every PAM line that runs any of its
                     executables, read as PAM reads it; exit 1 on any DRIFT,
                     2 when there is no manifest to check against
  --quiet            with --verify: print only the DRIFT lines and the summary line
  --json             with --verify: print one JSON object (checks, results, summary) instead
  --print-flags      print the sandbox flags for CONF_DIR/config.toml on one line, and exit
  --help             this text
EOF
}

die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit "${EXIT:-1}"
}
usage_error() { EXIT=3 die "$* (try --help)"; }
say() { printf '%s\n' "$*"; }

# Every change goes through here: --dry-run prints it instead.
act() {
  if [ "$DRY_RUN" = 1 ]; then
    say "would run: $*"
  else
    "$@"
  fi
  CHANGED=1
}

while [ $# -gt 0 ]; do
  case $1 in
    --prefix | --destdir | --conf-dir | --cache-dir | --mode | --login-slots | --log-file)
      [ $# -ge 2 ] || usage_error "$1 needs a value"
      opt=$1 val=$2
      shift
      ;;
    --prefix=* | --destdir=* | --conf-dir=* | --cache-dir=* | --mode=* | --login-slots=* | --log-file=*) opt=${1%%=*} val=${1#*=} ;;
    --pam) PAM=1 opt= ;;
    --broker) BROKER=1 opt= ;;
    --force) FORCE=1 opt= ;;
    --dry-run) DRY_RUN=1 opt= ;;
    --uninstall) ACTION=uninstall opt= ;;
    --verify) ACTION=verify opt= ;;
    --quiet | --json) REPORT="$REPORT $1" opt= ;;
    --print-flags) ACTION=print-flags opt= ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) usage_error "unknown option: $1" ;;
  esac
  case $opt in
    --prefix) PREFIX=$val ;;
    --destdir) DESTDIR=$val ;;
    --conf-dir) CONF_DIR=$val ;;
    --cache-dir) CACHE_DIR=${val%/} ;;
    --mode) MODE=$val ;;
    --login-slots) LOGIN_SLOTS=$val ;;
    --log-file) LOG_FILE=$val ;;
  esac
  shift
done

case $MODE in compile | bundle) ;; *) usage_error "--mode expects compile or bundle, got '$MODE'" ;; esac
[ -z "$REPORT" ] || [ "$ACTION" = verify ] || usage_error "--quiet and --json go with --verify"
for dir in "$PREFIX" "$CONF_DIR"; do
  case $dir in /*) ;; *) usage_error "paths must be absolute, got '$dir'" ;; esac
done
case $DESTDIR in '' | /*) ;; *) usage_error "--destdir must be absolute, got '$DESTDIR'" ;; esac
case $CACHE_DIR in '' | /?*) ;; *) usage_error "--cache-dir must be absolute, got '$CACHE_DIR'" ;; esac
PREFIX=${PREFIX%/}
CONF_DIR=${CONF_DIR%/}
[ -n "$CONF_DIR" ] || CONF_DIR=/

BIN=$PREFIX/sbin/$NAME # the path PAM lines name
LIB=$PREFIX/lib/$NAME
STAGE_BIN=$DESTDIR$BIN
STAGE_LIB=$DESTDIR$LIB
MANIFEST=$STAGE_LIB/installed-files # one path per line, for --uninstall
MANIFEST_JSON=$STAGE_LIB/manifest.json # hashes, owners, modes, provenance: for --verify and --audit
RUNTIME_DIR=$LIB/runtime # the runtime's HOME, DENO_DIR and TMPDIR: root's alone (docs/security.md, "Threat model")
LOGROTATE=/etc/logrotate.d/$NAME
RUNTIME_DENO=$LIB/deno # bundle mode: the copy of deno the launcher runs (docs/install.md, "Bundle mode's own deno")
# The warm broker (--broker): its socket in a root-only directory below the runtime's, and its unit.
BROKER_SOCKET=
if [ "$BROKER" = 1 ]; then BROKER_SOCKET=$RUNTIME_DIR/broker/socket; fi

deno_run() { deno run --quiet --no-prompt --config "$ROOT/deno.json" "$@"; }

# src/install/install_plan.ts, with full read as root: the strict-modes walk sees every directory up to "/".
# --print-flags, for runs from source, leaves out the install directory the installed helper also reads.
print_flags() {
  deno_run --allow-read "$ROOT/src/install/install_plan.ts" --conf-dir "$CONF_DIR" ${CACHE_DIR:+--cache-dir "$CACHE_DIR"} \
    ${BROKER_SOCKET:+--broker-socket "$BROKER_SOCKET"}
}
# One call writes $1/plan/: flags, baked-args, launcher (PAM runs it) and verify-launcher (the staged build's).
write_plan() {
  mkdir -p "$1/plan" && deno_run --allow-read --allow-write="$1/plan" "$ROOT/src/install/install_plan.ts" \
    --conf-dir "$CONF_DIR" ${CACHE_DIR:+--cache-dir "$CACHE_DIR"} --runtime-dir "$RUNTIME_DIR" --plan-dir "$1/plan" \
    ${BROKER_SOCKET:+--broker-socket "$BROKER_SOCKET"} --launcher "$BIN" --mode "$MODE" --setpriv "$SETPRIV" --flock "$FLOCK" --setsid "$SETSID" \
    ${LOGIN_SLOTS:+--login-slots "$LOGIN_SLOTS"} --artefact "$(artefact "$LIB")" --deno "$RUNTIME_DENO" \
    --staged-artefact "$(artefact "$1")" --staged-deno "$1/deno" --staged-runtime-dir "$1/runtime"
}

# --- host-wide files ------------------------------------------------------------------------

# What this run writes outside $LIB (--uninstall: all it may have written). Whose each one is, and so what
# may be done with it, src/install/host_files.ts decides: one tab-separated line per decision.
host_targets() {
  say "$BIN"
  say "$PREFIX/share/man/man8/$NAME.8"
  if [ "$ACTION" = uninstall ] || [ -n "$DESTDIR" ] || [ -d /etc/logrotate.d ]; then say "$LOGROTATE"; fi
  if [ "$ACTION" = uninstall ] || [ "$BROKER" = 1 ]; then say "$BROKER_UNIT"; fi
  if [ "$ACTION" = uninstall ] || { [ "$PAM" = 1 ] && pam_auth_update_system; }; then say "$DEBIAN_PROFILE"; fi
}
# Writes the decisions into $1.
host_decisions() {
  out=$1
  shift
  set -- --lib "$STAGE_LIB" --destdir "$DESTDIR" --keep "$LOG_FILE" "$@"
  if [ "$FORCE" = 1 ]; then set -- "$@" --force; fi
  while IFS= read -r target; do set -- "$@" "$target"; done <<EOF
$(host_targets)
EOF
  deno_run --allow-read "$ROOT/src/install/host_files.ts" "$@" >"$out" ||
    die "cannot tell whose the host-wide files are (see above)"
}
# decided VERB PATH: whether $DECISIONS holds VERB for PATH; prints the line's third field.
decided() { awk -F '\t' -v v="$1" -v p="$2" '$1 == v && $2 == p { print $3; f = 1 } END { exit !f }' "$DECISIONS"; }
# Whether the decisions in $1 keep a file in the install's directory (a backup not put back).
keeps_backup() { awk -F '\t' -v d="$STAGE_LIB/" '$1 == "keep" && index($2, d) == 1 { f = 1 } END { exit !f }' "$1"; }

# --- uninstall -----------------------------------------------------------------------------

uninstall() {
  [ -f "$MANIFEST" ] || {
    say "nothing to uninstall: no $MANIFEST"
    return 0
  }
  # The log the install recorded (its --log-file) is kept, whatever this run's --log-file says.
  LOG_FILE=$(deno_run --allow-read "$ROOT/src/install/log_dir.ts" --recorded "$MANIFEST_JSON" "$LOG_FILE")
  DECISIONS=$(mktemp "${TMPDIR:-/tmp}/$NAME-uninstall.XXXXXX")
  trap 'rm -f "$DECISIONS"' EXIT
  host_decisions "$DECISIONS" --uninstall
  # A host-wide file not ours (changed since install.sh wrote it, or the package's) stays, and so does any backup.
  if decided remove "$DESTDIR$DEBIAN_PROFILE" >/dev/null && [ -z "$DESTDIR" ] &&
    command -v pam-auth-update >/dev/null; then
    act pam-auth-update --package --remove netauth
  fi
  if decided remove "$DESTDIR$BROKER_UNIT" >/dev/null && systemd_runs; then
    act systemctl disable --now "$NAME.service" || true
  fi
  while IFS= read -r path; do
    if kept=$(decided keep "$path"); then
      say "$kept"
    elif [ "$path" = "$DESTDIR$RUNTIME_DIR" ]; then
      if [ -d "$path" ]; then act rm -rf "$path"; fi # the runtime's caches
    elif [ "$path" = "$DESTDIR$LOG_FILE" ]; then
      if [ -e "$path" ]; then say "kept: $path (the login log; remove it by hand when no longer wanted)"; fi
    elif [ -e "$path" ]; then
      act rm -f "$path"
    fi
  done <"$MANIFEST"
  # The files --force found and kept: put back, or kept beside someone else's file there now.
  tab=$(printf '\t')
  while IFS=$tab read -r verb from to why; do
    if [ "$verb" = restore ]; then
      act mv -f "$from" "$to"
      say "$why"
    elif [ "$verb" = keep ] && ! grep -qxF "$from" "$MANIFEST"; then
      say "$to"
    fi
  done <"$DECISIONS"
  if grep -qx "$DESTDIR$BROKER_UNIT" "$MANIFEST" && systemd_runs; then act systemctl daemon-reload || true; fi
  act rm -f "$MANIFEST"
  if [ -d "$STAGE_LIB" ] && ! keeps_backup "$DECISIONS"; then act rmdir "$STAGE_LIB"; fi
  if [ "$DRY_RUN" = 1 ]; then say "dry run: nothing removed"; else say "uninstalled $NAME from $DESTDIR$PREFIX"; fi
}

# --- install -------------------------------------------------------------------------------

# In a dry run a problem is a line and the preview goes on; otherwise it stops the install.
stop_or_note() {
  if [ "$DRY_RUN" = 1 ]; then
    say "dry run: a real install would stop here: $*"
  else
    die "$*"
  fi
}

# systemd is PID 1 and this is no staged install: units may be enabled and started.
systemd_runs() { [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }

# The broker's socket directory (root's, 0700) and unit; where systemd runs, the unit is enabled and
# (re)started so that it serves with this build and config.
install_broker() {
  socket_dir=$DESTDIR${BROKER_SOCKET%/*}
  if [ ! -d "$socket_dir" ]; then
    act mkdir -p "$socket_dir"
    CHANGED=1
  fi
  act chmod 0700 "$socket_dir"
  if [ "$DRY_RUN" = 1 ]; then
    say "would install: $DESTDIR$BROKER_UNIT (mode 0644)"
    return 0
  fi
  place "$STAGE/plan/broker-unit" "$DESTDIR$BROKER_UNIT" 0644
}

# Started last, once every file it runs and manifest.json are in place: it hashes its code against the manifest at
# its start, and --verify reports a broker that started before any of them last changed (verify_broker.ts).
start_broker() {
  if [ "$DRY_RUN" = 1 ]; then return 0; fi
  if systemd_runs; then
    act systemctl daemon-reload
    act systemctl enable "$NAME.service"
    act systemctl restart "$NAME.service"
    say "broker: $NAME.service enabled and (re)started; a config change needs: systemctl restart $NAME"
  else
    say "broker: systemd is not running here; start it with: $BIN --serve (as root)"
  fi
}

# A pam-auth-update system: Debian or Ubuntu with pam-auth-update on PATH.
pam_auth_update_system() { [ -f /etc/debian_version ] && command -v pam-auth-update >/dev/null; }

preflight() {
  DENO=$(command -v deno) || die "deno not found: install Deno 2 (npm install -g deno@2)"
  case $DENO in /*) ;; *) die "deno is not an absolute path: $DENO" ;; esac
  SETPRIV=$(command -v setpriv) || die "setpriv not found: install util-linux (the launcher needs it under su and sudo)"
  FLOCK=$(command -v flock) || die "flock not found: install util-linux (the launcher's admission control needs it)"
  SETSID=$(command -v setsid) || die "setsid not found: install util-linux (the launcher's admission control needs it)"
  # A host-wide file someone else wrote (another --prefix, the admin, the Debian package) is not taken over.
  DECISIONS=$STAGE/host-files
  host_decisions "$DECISIONS"
  tab=$(printf '\t')
  while IFS=$tab read -r verb what _; do
    if [ "$verb" = refuse ]; then stop_or_note "$what"; fi
  done <"$DECISIONS"
  problem=$(log_path_problem)
  if [ -n "$problem" ]; then stop_or_note "$problem"; fi
  # PAM runs PREFIX/sbin/$NAME as root and the helper trusts its config, cache and log: no one else may be
  # able to rename a directory or replace a symbolic link on the way to them (walked as written, with lstat).
  if [ -z "$DESTDIR" ] && ! problems=$(deno_run --allow-read "$ROOT/src/install/verify_install.ts" --path-problems \
    --prefix "$PREFIX" --conf-dir "$CONF_DIR" ${CACHE_DIR:+--cache-dir "$CACHE_DIR"} --log-file "$LOG_FILE"); then
    last=$(say "$problems" | tail -n 1)
    say "$problems" | sed '$d' # one line each; the last stops the install
    stop_or_note "${last:-cannot check the paths (see above)}"
  fi
  FLAGS=
  if [ ! -r "$CONF_DIR/config.toml" ]; then
    # Without a config there is no server to name in --allow-net, so even --force cannot build.
    say "check: FAIL no $CONF_DIR/config.toml"
    stop_or_note "no $CONF_DIR/config.toml: write NetAuth's client config first (or pass --conf-dir)"
    return 0
  fi
  if ! write_plan "$STAGE"; then
    stop_or_note "cannot derive the sandbox from $CONF_DIR/config.toml (see above)"
    return 0
  fi
  FLAGS=$(cat "$STAGE/plan/flags")
  say "sandbox: $FLAGS"
  # shellcheck disable=SC2086 # FLAGS is a list of single-word flags
  if check=$(deno_run $FLAGS "$ROOT/src/main.ts" --check --config "$CONF_DIR/config.toml" 2>&1); then
    say "$check" | sed 's/^/check: /'
  else
    say "$check" | sed 's/^/check: /'
    if [ "$FORCE" = 1 ]; then
      say "continuing despite the failed check (--force)"
    else
      stop_or_note "--check failed: fix the config or the server first, or pass --force"
    fi
  fi
}

# The artefact in the staging or library directory $1.
artefact() { if [ "$MODE" = compile ]; then printf '%s/%s' "$1" "$NAME"; else printf '%s/%s.js' "$1" "$NAME"; fi; }

deno_version() { deno --version | sed -n 's/^deno \([^ ]*\).*/\1/p'; }
deno_target() { deno eval --quiet 'console.log(Deno.build.target)'; }

# Where a denort matching this deno comes from.
denort_source() {
  version=$(deno_version) target=$(deno_target)
  printf 'the denort of deno %s for %s is in the Deno release archive denort-%s.zip (https://dl.deno.land/release/v%s/denort-%s.zip, or the v%s release on GitHub)' \
    "$version" "$target" "$target" "$version" "$target" "$version"
}

# What is wrong with DENORT_BIN as a path (nothing when unset or usable): a typo is not being offline.
denort_bin_problem() {
  [ "${DENORT_BIN+set}" = set ] || return 0
  if [ -z "$DENORT_BIN" ]; then
    say "DENORT_BIN is set but empty: unset it to download denort, or name the file"
  elif [ ! -e "$DENORT_BIN" ]; then
    say "DENORT_BIN=$DENORT_BIN: no such file (a wrong path, not a network problem)"
  elif [ ! -f "$DENORT_BIN" ]; then
    say "DENORT_BIN=$DENORT_BIN is not a regular file"
  elif [ ! -x "$DENORT_BIN" ]; then
    say "DENORT_BIN=$DENORT_BIN is not executable (chmod 0755 it)"
  fi
}

# Builds into $1 (a staging directory): the artefact and bundle mode's copy of deno (the launchers come with the plan).
build() {
  stage=$1
  if [ "$MODE" = compile ]; then
    problem=$(denort_bin_problem)
    [ -z "$problem" ] || die "$problem; $(denort_source)"
    # No V8 code cache: a compiled binary keeps it in TMPDIR, which must hold nothing the runtime trusts.
    # shellcheck disable=SC2046,SC2086 # FLAGS and the baked arguments are lists of single words
    if ! out=$(deno compile --quiet --frozen --no-code-cache --config "$ROOT/deno.json" $FLAGS \
      --output "$(artefact "$stage")" "$ROOT/src/main.ts" $(cat "$STAGE/plan/baked-args") 2>&1); then
      say "$out" >&2
      case $out in
        *denort* | *dl.deno.land* | *"error sending request"*)
          die "deno compile could not download its denort runtime (offline?): $(denort_source); unzip it and set DENORT_BIN=/path/to/denort, or use --mode bundle"
          ;;
      esac
      die "deno compile failed"
    fi
  else
    # deno.json's "bundle" task: --minify drops the builder's paths (docs/install.md, "Reproducible builds").
    # Code-split (scripts/bundle.ts): gRPC and the cache are chunks loaded only when used (docs/performance.md).
    deno task --quiet --config "$ROOT/deno.json" bundle --outdir "$stage" >/dev/null || die "deno bundle failed"
    # The very executable behind `deno` (npm's is a symlink), so a later upgrade of it cannot break logins.
    deno_exe=$(deno eval --quiet 'console.log(Deno.execPath())') || die "cannot find the deno executable"
    cp "$deno_exe" "$stage/deno" || die "cannot copy $deno_exe"
  fi
}

# What build and verify_build would do, for --dry-run: nothing is built.
preview_build() {
  if [ "$MODE" = compile ]; then
    problem=$(denort_bin_problem)
    if [ -n "${DENORT_BIN:-}" ]; then denort="DENORT_BIN=$DENORT_BIN"; else denort="a download of denort-$(deno_target).zip"; fi
    say "would build: deno compile --no-code-cache (sandbox flags above) src/main.ts $(cat "$STAGE/plan/baked-args" 2>/dev/null), runtime from $denort"
    if [ -n "$problem" ]; then stop_or_note "$problem"; fi
  else
    say "would build: deno task bundle (scripts/bundle.ts: deno bundle --minify --code-splitting src/main.ts), and copy $(deno eval --quiet 'console.log(Deno.execPath())') (deno $(deno_version)) for the launcher"
  fi
  say "would verify: the staged helper through a staged launcher (version, fail closed, exactly the sandbox)"
  if [ "$MODE" = bundle ]; then
    say "would install: $(artefact "$STAGE_LIB") and its chunks beside it (mode 0644)"
    say "would install: $DESTDIR$RUNTIME_DENO (mode 0755)"
  else
    say "would install: $(artefact "$STAGE_LIB") (mode 0755)"
  fi
  say "would install: $STAGE_BIN (mode 0755, the launcher PAM runs)"
  CHANGED=1
}

# Makes the runtime directory $1 with home/, deno/ and tmp/: root-owned, mode 0755; and slots/ (the login
# slots' lock files, src/runtime_dir.ts), 0700: the launcher also makes it on a first login.
make_runtime_dir() {
  for sub in "$1" "$1/home" "$1/deno" "$1/tmp" "$1/slots"; do
    mkdir -p "$sub"
    if [ "$(id -u)" = 0 ]; then chown 0:0 "$sub"; fi
    chmod 0755 "$sub"
  done
  chmod 0700 "$1/slots"
}

# Runs the staged artefact through a launcher written like the real one, before anything is placed:
# it must print our version, fail closed without a request, and hold exactly the declared sandbox.
verify_build() {
  stage=$1
  make_runtime_dir "$stage/runtime"
  chmod 0755 "$stage/plan/verify-launcher"
  # shellcheck disable=SC2086 # FLAGS is a list of single-word flags
  if ! deno_run --allow-run="$stage/plan/verify-launcher" "$ROOT/src/install/verify_build.ts" "$stage/plan/verify-launcher" $FLAGS; then
    if [ -n "${DENORT_BIN:-}" ]; then
      die "the helper built with DENORT_BIN=$DENORT_BIN is not netauth-pam-helper (see above): DENORT_BIN must name the denort runtime of deno $(deno_version) (denort-<target>.zip of the same Deno release), not deno itself. Nothing was installed"
    fi
    die "the built helper failed verification (see above). Nothing was installed"
  fi
  say "verified: the staged helper prints its version, fails closed and holds exactly the declared sandbox"
}

ensure_dir() {
  if [ ! -d "$1" ]; then act mkdir -p "$1"; fi
}

# Moves $1 to $2 unless identical; records $2 in the manifest either way. A host-wide file someone else wrote
# (replaced with --force) is first kept as the backup --uninstall puts back, even when identical to ours.
place() {
  src=$1 dst=$2 mode=$3
  chmod "$mode" "$src"
  if backup=$(decided backup "$dst") && [ ! -e "$backup" ]; then
    ensure_dir "$STAGE_LIB"
    act cp -P -p "$dst" "$backup" # a symbolic link stays one
    if [ "$DRY_RUN" = 0 ]; then say "kept the $dst install.sh did not write as $backup (--uninstall puts it back)"; fi
  fi
  if [ -f "$dst" ] && cmp -s "$src" "$dst"; then
    say "unchanged: $dst"
    rm -f "$src"
  elif [ "$DRY_RUN" = 1 ]; then
    say "would install: $dst (mode $mode)"
    CHANGED=1
  else
    ensure_dir "$(dirname "$dst")"
    if [ "$(id -u)" = 0 ]; then chown 0:0 "$src"; fi
    mv -f "$src" "$dst"
    say "installed: $dst"
    CHANGED=1
  fi
  printf '%s\n' "$dst" >>"$STAGE/manifest"
}

# The bundle: its entry and the chunks it imports (every *.js in the stage). Chunks are named by content
# hash: the new ones go in first, then the entry, then an earlier build's chunks go, so a failure
# halfway leaves a working install and the install ends up holding exactly one build.
place_bundle() {
  for chunk in "$STAGE"/*.js; do
    if [ "${chunk##*/}" != "$NAME.js" ]; then place "$chunk" "$STAGE_LIB/${chunk##*/}" 0644; fi
  done
  place "$STAGE/$NAME.js" "$STAGE_LIB/$NAME.js" 0644
  for old in "$STAGE_LIB"/*.js; do
    if [ -f "$old" ] && ! grep -qxF "$old" "$STAGE/manifest"; then act rm -f "$old"; fi
  done
}

# What only the other mode installs: its artefact (bundle mode: the entry and its chunks), and in bundle
# mode the copy of deno (about 95 MB).
other_mode_files() {
  if [ "$MODE" = compile ]; then
    for js in "$STAGE_LIB"/*.js; do
      if [ -e "$js" ]; then printf '%s\n' "$js"; fi
    done
    printf '%s\n' "$DESTDIR$RUNTIME_DENO"
  else
    printf '%s\n' "$STAGE_LIB/$NAME"
  fi
}

# Switching modes: what a previous install in the other mode recorded is not used any more.
remove_other_mode_files() {
  [ -f "$MANIFEST" ] || return 0
  other_mode_files | while IFS= read -r stale; do
    if [ -e "$stale" ] && grep -qxF "$stale" "$MANIFEST"; then
      rm -f "$stale"
      say "removed: $stale (not used in $MODE mode)"
    fi
  done
}

# The runtime's own directory, root's alone: made afresh when missing or when anything in it is not.
install_runtime_dir() {
  runtime=$DESTDIR$RUNTIME_DIR
  # A symbolic link's own mode is always 0777 and means nothing (Deno links node_compat_bin/node to itself).
  if [ -d "$runtime" ] && [ -z "$(find "$runtime" \( ! -user 0 -o \( ! -type l -perm /022 \) \) -print -quit)" ]; then
    :
  elif [ "$DRY_RUN" = 1 ]; then
    say "would create: $runtime/{home,deno,tmp} (root-owned, mode 0755)"
  else
    rm -rf "$runtime"
    make_runtime_dir "$runtime"
    say "runtime directory: $runtime/{home,deno,tmp} (root-owned, mode 0755)"
    CHANGED=1
  fi
  printf '%s\n' "$runtime" >>"$STAGE/manifest"
}

# Bundle mode's V8 code cache (docs/install.md, "Code cache"): root warms it with --check and --audit (every
# chunk loads), src/install/code_cache.ts seals it (0444), and the manifest records its SHA-256; the runtime,
# which holds no capability, only reads it. Kept while nothing changed and it is as recorded. Compile mode
# (a compiled binary reads no DENO_DIR cache), --destdir (the launcher's paths do not exist yet) and an
# install not run as root keep none.
code_cache() {
  cache=$DESTDIR$RUNTIME_DIR/deno/v8_code_cache_v2
  if [ "$MODE" = compile ] || [ -n "$DESTDIR" ] || [ "$(id -u)" != 0 ]; then
    if [ "$DRY_RUN" != 1 ] && [ -n "$(find "$DESTDIR$RUNTIME_DIR/deno" -maxdepth 1 -name 'v8_code_cache_v2*' -print -quit 2>/dev/null)" ]; then
      rm -f "$cache" "$cache-wal" "$cache-shm"
      say "removed: $cache (this install seals none: compile mode, --destdir or not root)"
      CHANGED=1
    fi
    return 0
  fi
  if [ "$DRY_RUN" = 1 ]; then
    say "would warm and seal: $cache"
    return 0
  fi
  if [ "$CHANGED" = 0 ] && deno_run --allow-read "$ROOT/src/install/code_cache.ts" --sealed "$cache" "$MANIFEST_JSON"; then
    printf '%s\n' "$cache" >>"$STAGE/manifest"
    return 0
  fi
  rm -f "$cache" "$cache-wal" "$cache-shm"
  "$BIN" --check >/dev/null 2>&1 || true
  "$BIN" --audit >/dev/null 2>&1 || true # the one chunk --check does not load
  if deno_run --allow-read --allow-write "$ROOT/src/install/code_cache.ts" --seal "$cache"; then
    "$BIN" --version >/dev/null 2>&1 || true # opens it as a login does: its empty -wal and -shm, read-only too
    printf '%s\n' "$cache" >>"$STAGE/manifest"
    say "code cache: $cache (warmed by root, sealed read-only, its SHA-256 in the manifest)"
    CHANGED=1
  fi
}

# src/install/log_dir.ts: a bad --log-file, or something at its path that is not a regular file.
log_path_problem() { deno_run --allow-read "$ROOT/src/install/log_dir.ts" --destdir "$DESTDIR" "$LOG_FILE"; }

# The log file pam_exec appends to (as root, before the helper runs): a regular file, root's, readable by
# adm (root's group without one), so no local user can read it, write it or point it elsewhere.
install_log() {
  log=$DESTDIR$LOG_FILE
  group=root
  if getent group adm >/dev/null 2>&1; then group=adm; fi
  problem=$(log_path_problem)
  [ -z "$problem" ] || die "$problem"
  if [ -f "$log" ] && [ "$(stat -c '%u %G %a' "$log")" = "0 $group 640" ]; then
    :
  elif [ "$DRY_RUN" = 1 ]; then
    say "would create: $log (root:$group, mode 0640)"
  else
    mkdir -p "$(dirname "$log")"
    (umask 077 && : >>"$log")
    if [ "$(id -u)" = 0 ]; then chown "0:$group" "$log"; fi
    chmod 0640 "$log"
    say "log file: $log (root:$group, mode 0640; --uninstall keeps it)"
    CHANGED=1
  fi
  printf '%s\n' "$log" >>"$STAGE/manifest"
  if [ -z "$DESTDIR" ] && [ ! -d /etc/logrotate.d ]; then
    say "no /etc/logrotate.d: rotate $LOG_FILE with the host's own tool"
    return 0
  fi
  sed "s/create 0640 root adm/create 0640 root $group/; s#^/var/log/$NAME.log #$LOG_FILE #" "$ROOT/logrotate/$NAME" >"$STAGE/logrotate"
  place "$STAGE/logrotate" "$DESTDIR$LOGROTATE" 0644
}

# The man page, netauth-pam-helper(8): the same source the Debian package gzips (man/).
install_man() {
  cp "$ROOT/man/$NAME.8" "$STAGE/man"
  place "$STAGE/man" "$DESTDIR$PREFIX/share/man/man8/$NAME.8" 0644
}

# Wires PAM through pam-auth-update where there is one, and says what changed; elsewhere changes nothing.
wire_pam() {
  if ! pam_auth_update_system; then
    say "not a pam-auth-update system: nothing changed in PAM."
    say "Add the lines below to /etc/pam.d/system-auth (RHEL/Fedora: see pam.d/rhel/, Arch/Void: pam.d/arch/)."
    return 0
  fi
  profile=$DESTDIR$DEBIAN_PROFILE
  sed "s#/usr/local/sbin/$NAME#$BIN#g; s#log=/var/log/$NAME.log#log=$LOG_FILE#g" "$ROOT/pam.d/debian/netauth" >"$STAGE/netauth.profile"
  place "$STAGE/netauth.profile" "$profile" 0644
  PAM_WIRED=1
  if [ -n "$DESTDIR" ]; then
    say "staged the pam-auth-update profile; enable it on the host with: pam-auth-update --enable netauth"
  elif [ "$CHANGED" = 1 ] || ! grep -q "$BIN" /etc/pam.d/common-auth 2>/dev/null; then
    pam_snapshot >"$STAGE/pam.before"
    act pam-auth-update --package --enable netauth
    if [ "$DRY_RUN" = 1 ]; then return 0; fi
    changed=$(pam_snapshot | diff "$STAGE/pam.before" - | awk '/^[<>]/ { print $NF }' | sort -u | paste -s -d ' ' -)
    if [ -n "$changed" ]; then
      say "pam-auth-update: enabled the netauth profile ($profile); changed: $changed"
    else
      say "pam-auth-update: the netauth profile ($profile) was enabled already; nothing changed in /etc/pam.d"
    fi
  else
    say "pam-auth-update: the netauth profile is enabled already ($BIN in /etc/pam.d/common-auth); nothing changed"
  fi
}

# One line per file pam-auth-update writes (/etc/pam.d/common-*): checksum, then path.
pam_snapshot() { for f in /etc/pam.d/common-*; do if [ -f "$f" ]; then printf '%s %s\n' "$(cksum <"$f")" "$f"; fi; done; }

# The manual PAM lines, from pam.d/common-lines (their one source), for this install's launcher path.
pam_lines() {
  say "PAM lines to add, for example in common-auth / common-account (system-auth elsewhere):"
  grep -v '^#' "$ROOT/pam.d/common-lines" | sed "s#/usr/local/sbin/$NAME#$BIN#g; s#log=/var/log/$NAME.log#log=$LOG_FILE#g; s/^/  /"
  say "Why each line, and complete stacks: $ROOT/pam.d/ (README.md there)"
}

# manifest.json (src/install/manifest.ts): per installed file its SHA-256, owner and mode, and what it was built
# from and with; --verify and --audit check against it.
write_manifest() {
  if [ "$DRY_RUN" = 1 ]; then
    say "would write: $MANIFEST_JSON"
    return 0
  fi
  set --
  while IFS= read -r path; do
    if [ "$path" = "$DESTDIR$DEBIAN_PROFILE" ]; then set -- "$@" --debian-profile "$DEBIAN_PROFILE"; fi
    if [ "$path" = "$DESTDIR$LOG_FILE" ]; then
      set -- "$@" --log-file "$LOG_FILE"
    elif [ "$path" != "$MANIFEST_JSON" ] && [ -f "$path" ]; then
      set -- "$@" --file "${path#"$DESTDIR"}"
    fi
  done <"$STAGE/manifest"
  deno_run --allow-read --allow-run=git "$ROOT/src/install/manifest.ts" --root "$ROOT" --destdir "$DESTDIR" \
    --prefix "$PREFIX" --mode "$MODE" --artefact "$(artefact "$LIB")" --launcher "$BIN" \
    --runtime-dir "$RUNTIME_DIR" --conf-dir "$CONF_DIR" ${CACHE_DIR:+--cache-dir "$CACHE_DIR"} \
    ${BROKER_SOCKET:+--broker-socket "$BROKER_SOCKET"} "$@" \
    >"$STAGE/manifest.json" || die "cannot write $MANIFEST_JSON (see above)"
  place "$STAGE/manifest.json" "$MANIFEST_JSON" 0644
}

install_helper() {
  STAGE=$(mktemp -d "${TMPDIR:-/tmp}/$NAME-stage.XXXXXX")
  trap 'rm -rf "$STAGE"' EXIT
  : >"$STAGE/manifest"
  preflight
  if [ "$DRY_RUN" = 1 ]; then
    preview_build
  else
    say "building ($MODE mode)"
    build "$STAGE"
    verify_build "$STAGE"
    if [ "$MODE" = bundle ]; then
      place_bundle
      place "$STAGE/deno" "$DESTDIR$RUNTIME_DENO" 0755
    else
      place "$(artefact "$STAGE")" "$(artefact "$STAGE_LIB")" 0755
    fi
    place "$STAGE/plan/launcher" "$STAGE_BIN" 0755
    remove_other_mode_files
  fi
  install_runtime_dir
  if [ "$BROKER" = 1 ]; then install_broker; fi
  if [ -n "$CACHE_DIR" ] && [ ! -d "$DESTDIR$CACHE_DIR" ]; then
    act mkdir -p "$DESTDIR$CACHE_DIR"
    act chmod 0700 "$DESTDIR$CACHE_DIR"
    say "offline cache directory $DESTDIR$CACHE_DIR: mode 0700, root-owned; --uninstall leaves it"
  fi
  install_log
  install_man
  code_cache
  if [ "$PAM" = 1 ]; then wire_pam; fi
  # Keep what a previous install recorded and is still there (for example the PAM profile).
  # What is gone (an earlier build's chunks) is not carried over.
  if [ -f "$MANIFEST" ]; then
    # A log an earlier --log-file named stays on disk but leaves the record (this run's is recorded above).
    old_log=$(deno_run --allow-read "$ROOT/src/install/log_dir.ts" --recorded "$MANIFEST_JSON" "$LOG_FILE")
    { other_mode_files; say "$DESTDIR$old_log"; } | grep -vxF -f - "$MANIFEST" | while IFS= read -r path; do
      # A host-wide file changed since (someone else's now) is not hashed again as if it were ours.
      if [ -e "$path" ] && ! decided drop "$path" >/dev/null; then printf '%s\n' "$path"; fi
    done >>"$STAGE/manifest" || true
  fi
  write_manifest
  sort -u "$STAGE/manifest" >"$STAGE/manifest.new"
  if [ -f "$MANIFEST" ] && cmp -s "$STAGE/manifest.new" "$MANIFEST"; then
    :
  elif [ "$DRY_RUN" = 1 ]; then
    say "would write: $MANIFEST"
  else
    mkdir -p "$STAGE_LIB"
    mv -f "$STAGE/manifest.new" "$MANIFEST"
    CHANGED=1
  fi
  if [ "$BROKER" = 1 ]; then start_broker; fi
  if [ "$CHANGED" = 0 ]; then
    say "nothing changed: $NAME is up to date"
  elif [ "$DRY_RUN" = 1 ]; then
    say "dry run: nothing changed"
  fi
  if [ "$PAM_WIRED" = 0 ]; then pam_lines; fi
}

# --- verify --------------------------------------------------------------------------------

# Exit 2 without a manifest (in --json, as an object too): verify_install.ts says so. All permissions, as the
# package's --verify has: the broker's checks read /proc (which Deno grants only with all), ask the broker over its
# socket, and run stat(1) for the installed files' ctimes to the nanosecond (verify_broker.ts).
verify() {
  # shellcheck disable=SC2086 # REPORT: the words --quiet and --json, split
  deno_run --allow-all "$ROOT/src/install/verify_install.ts" --manifest "$MANIFEST_JSON" --destdir "$DESTDIR" \
    --pam-dir "$DESTDIR/etc/pam.d" $REPORT
}

case $ACTION in
  print-flags) print_flags ;;
  verify) verify ;;
  uninstall) uninstall ;;
  install) install_helper ;;
esac
