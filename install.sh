#!/bin/sh
# install.sh: build netauth-pam-helper with the sandbox flags from src/sandbox.ts, install it,
# and (only with --pam) wire it into PAM. Stages everything, then renames into place, so a
# failure halfway leaves the previous install working. See --help.
set -eu

ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
NAME=netauth-pam-helper
PREFIX=/usr/local
DESTDIR=
CONF_DIR=/etc/netauth
CACHE_DIR=
MODE=compile
ACTION=install
PAM=0
FORCE=0
DRY_RUN=0
CHANGED=0

usage() {
  cat <<EOF
usage: ./install.sh [options]

Builds $NAME with the Deno permissions src/sandbox.ts derives from CONF_DIR/config.toml,
installs it root-owned under PREFIX/lib/$NAME/ with a launcher PREFIX/sbin/$NAME (0755) that
clears the environment down to the PAM variables, and prints the PAM lines to add.

  --prefix DIR       install under DIR: DIR/sbin/$NAME, DIR/lib/$NAME/ (default /usr/local)
  --destdir DIR      stage into DIR (packaging, tests): paths inside stay as if installed at PREFIX
  --conf-dir DIR     NetAuth config directory the helper may read (default /etc/netauth)
  --cache-dir DIR    enable the offline credential cache in DIR (created root-owned 0700): the
                     helper may read and write there and nowhere else
  --mode compile     a single 'deno compile' binary (default); set DENORT_BIN=/path/to/denort
                     where the runtime cannot be downloaded (offline, air-gapped)
  --mode bundle      one bundled JS file run by 'deno run' with the same flags, for hosts where
                     no denort can be had
  --pam              also wire PAM: on Debian/Ubuntu install and enable a pam-auth-update profile;
                     elsewhere print what to add and where. Without --pam no PAM file is touched
  --force            install even when the config is missing checks or '--check' fails
  --dry-run          print every action, change nothing
  --uninstall        remove exactly what a previous install put there (PAM profile included)
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
    --prefix | --destdir | --conf-dir | --cache-dir | --mode)
      [ $# -ge 2 ] || usage_error "$1 needs a value"
      opt=$1 val=$2
      shift
      ;;
    --prefix=* | --destdir=* | --conf-dir=* | --cache-dir=* | --mode=*) opt=${1%%=*} val=${1#*=} ;;
    --pam) PAM=1 opt= ;;
    --force) FORCE=1 opt= ;;
    --dry-run) DRY_RUN=1 opt= ;;
    --uninstall) ACTION=uninstall opt= ;;
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
  esac
  shift
done

case $MODE in compile | bundle) ;; *) usage_error "--mode expects compile or bundle, got '$MODE'" ;; esac
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
MANIFEST=$STAGE_LIB/installed-files
DEBIAN_PROFILE=/usr/share/pam-configs/netauth

deno_run() { deno run --quiet --no-prompt --config "$ROOT/deno.json" "$@"; }

print_flags() {
  deno_run --allow-read "$ROOT/src/print_flags.ts" --conf-dir "$CONF_DIR" ${CACHE_DIR:+--cache-dir "$CACHE_DIR"}
}

# --- uninstall -----------------------------------------------------------------------------

uninstall() {
  [ -f "$MANIFEST" ] || {
    say "nothing to uninstall: no $MANIFEST"
    return 0
  }
  if grep -qx "$DESTDIR$DEBIAN_PROFILE" "$MANIFEST" && [ -z "$DESTDIR" ] && command -v pam-auth-update >/dev/null; then
    act pam-auth-update --package --remove netauth
  fi
  while IFS= read -r path; do
    if [ -e "$path" ]; then act rm -f "$path"; fi
  done <"$MANIFEST"
  act rm -f "$MANIFEST"
  if [ -d "$STAGE_LIB" ]; then act rmdir "$STAGE_LIB"; fi
  if [ "$DRY_RUN" = 1 ]; then say "dry run: nothing removed"; else say "uninstalled $NAME from $DESTDIR$PREFIX"; fi
}

# --- install -------------------------------------------------------------------------------

preflight() {
  command -v deno >/dev/null || die "deno not found: install Deno 2 (npm install -g deno@2)"
  if [ ! -r "$CONF_DIR/config.toml" ]; then
    # Without a config there is no server to name in --allow-net, so even --force cannot build.
    die "no $CONF_DIR/config.toml: write NetAuth's client config first (or pass --conf-dir)"
  fi
  if ! FLAGS=$(print_flags); then
    die "cannot derive the sandbox from $CONF_DIR/config.toml (see above)"
  fi
  say "sandbox: $FLAGS"
  # shellcheck disable=SC2086 # FLAGS is a list of single-word flags
  if check=$(deno_run $FLAGS "$ROOT/src/main.ts" --check --config "$CONF_DIR/config.toml" 2>&1); then
    say "$check" | sed 's/^/check: /'
  else
    say "$check" | sed 's/^/check: /'
    [ "$FORCE" = 1 ] || die "--check failed: fix the config or the server first, or pass --force"
    say "continuing despite the failed check (--force)"
  fi
}

# The sandbox reads CONF_DIR only, so the installed helper defaults to its config there
# (and to the cache directory its sandbox was built for).
BAKED_ARGS="--config $CONF_DIR/config.toml${CACHE_DIR:+ --cache-dir $CACHE_DIR}"

# Builds into $1 (a staging directory).
build() {
  stage=$1
  if [ "$MODE" = compile ]; then
    # shellcheck disable=SC2086
    if ! out=$(deno compile --quiet --frozen --config "$ROOT/deno.json" $FLAGS --output "$stage/$NAME.bin" "$ROOT/src/main.ts" $BAKED_ARGS 2>&1); then
      say "$out" >&2
      case $out in
        *denort* | *dl.deno.land* | *"error sending request"*)
          die "deno compile could not get its denort runtime (offline?): set DENORT_BIN=/path/to/denort for deno $(deno --version | sed -n 's/^deno \([^ ]*\).*/\1/p'), or use --mode bundle"
          ;;
      esac
      die "deno compile failed"
    fi
    write_launcher "$stage/$NAME" "$LIB/$NAME"
  else
    deno bundle --quiet --frozen --config "$ROOT/deno.json" --platform deno --output "$stage/$NAME.js" "$ROOT/src/main.ts" >/dev/null ||
      die "deno bundle failed"
    deno_path=$(command -v deno)
    case $deno_path in /*) ;; *) die "deno is not an absolute path: $deno_path" ;; esac
    write_launcher "$stage/$NAME" "$deno_path run --quiet --no-config --no-lock --no-remote --no-npm $FLAGS \\
  $LIB/$NAME.js $BAKED_ARGS"
  fi
}

# The launcher PAM runs, in both modes: $2 (the compiled binary, or deno run on the bundle) under
# an environment cut down to what the helper reads. The runtime itself reads variables before any
# sandbox applies (deno run: DENO_AUDIT_PERMISSIONS truncates the file it names, OTEL_DENO exports
# telemetry to any endpoint), and the PAM environment is the user's to influence.
write_launcher() {
  keep=
  for name in $(deno_run "$ROOT/src/print_flags.ts" --env-names); do
    keep="$keep \${$name+\"$name=\$$name\"}"
  done
  cat >"$1" <<EOF
#!/bin/sh
# $NAME launcher ($MODE mode), written by install.sh from $ROOT. Re-run install.sh to change it.
exec /usr/bin/env -i$keep \\
  $2 "\$@"
EOF
}

ensure_dir() {
  if [ ! -d "$1" ]; then act mkdir -p "$1"; fi
}

# Moves $1 to $2 unless identical; records $2 in the manifest either way.
place() {
  src=$1 dst=$2 mode=$3
  chmod "$mode" "$src"
  if [ -f "$dst" ] && cmp -s "$src" "$dst"; then
    say "unchanged: $dst"
    rm -f "$src"
  else
    ensure_dir "$(dirname "$dst")"
    if [ "$(id -u)" = 0 ]; then act chown 0:0 "$src"; fi
    act mv -f "$src" "$dst"
    if [ "$DRY_RUN" = 1 ]; then say "would install: $dst"; else say "installed: $dst"; fi
  fi
  printf '%s\n' "$dst" >>"$STAGE/manifest"
}

pam_lines() {
  cat <<EOF
PAM lines to add, for example in common-auth / common-account (system-auth elsewhere). pam_unix comes
first so local accounts, root included, work while NetAuth is down; pam_localuser keeps them from ever
being tried against NetAuth:
  auth     [success=3 default=ignore]  pam_unix.so nullok
  auth     [success=1 default=ignore]  pam_localuser.so
  auth     [success=1 default=ignore]  pam_exec.so expose_authtok quiet $BIN
  auth     requisite                   pam_deny.so
  auth     required                    pam_permit.so
  account  [success=1 default=ignore]  pam_localuser.so
  account  required                    pam_exec.so quiet $BIN
Complete stacks, every line explained: $ROOT/pam.d/
EOF
}

wire_pam() {
  if [ ! -f /etc/debian_version ] || ! command -v pam-auth-update >/dev/null; then
    say "not a pam-auth-update system: nothing changed in PAM."
    say "Add the lines above to /etc/pam.d/system-auth (RHEL/Fedora: see pam.d/rhel/, Arch/Void: pam.d/arch/)."
    return 0
  fi
  sed "s#/usr/local/sbin/$NAME#$BIN#g" "$ROOT/pam.d/debian/netauth" >"$STAGE/netauth.profile"
  place "$STAGE/netauth.profile" "$DESTDIR$DEBIAN_PROFILE" 0644
  if [ -n "$DESTDIR" ]; then
    say "staged the pam-auth-update profile; enable it on the host with: pam-auth-update --enable netauth"
  elif [ "$CHANGED" = 1 ] || ! grep -q "$BIN" /etc/pam.d/common-auth 2>/dev/null; then
    act pam-auth-update --package --enable netauth
  fi
}

install_helper() {
  preflight
  STAGE=$(mktemp -d "${TMPDIR:-/tmp}/$NAME-stage.XXXXXX")
  trap 'rm -rf "$STAGE"' EXIT
  say "building ($MODE mode)"
  build "$STAGE"
  : >"$STAGE/manifest"
  if [ "$MODE" = bundle ]; then
    place "$STAGE/$NAME.js" "$STAGE_LIB/$NAME.js" 0644
  else
    place "$STAGE/$NAME.bin" "$STAGE_LIB/$NAME" 0755
  fi
  place "$STAGE/$NAME" "$STAGE_BIN" 0755
  if [ -n "$CACHE_DIR" ] && [ ! -d "$DESTDIR$CACHE_DIR" ]; then
    act mkdir -p "$DESTDIR$CACHE_DIR"
    act chmod 0700 "$DESTDIR$CACHE_DIR"
    say "offline cache directory $DESTDIR$CACHE_DIR: mode 0700, root-owned; --uninstall leaves it"
  fi
  if [ "$PAM" = 1 ]; then wire_pam; fi
  # Keep what a previous install recorded and is still there (for example the PAM profile).
  if [ -f "$MANIFEST" ]; then cat "$MANIFEST" >>"$STAGE/manifest"; fi
  sort -u "$STAGE/manifest" >"$STAGE/manifest.new"
  if [ ! -f "$MANIFEST" ] || ! cmp -s "$STAGE/manifest.new" "$MANIFEST"; then
    ensure_dir "$STAGE_LIB"
    act mv -f "$STAGE/manifest.new" "$MANIFEST"
  fi
  if [ "$CHANGED" = 0 ]; then
    say "nothing changed: $NAME is up to date"
  elif [ "$DRY_RUN" = 1 ]; then
    say "dry run: nothing changed"
  fi
  pam_lines
}

case $ACTION in
  print-flags) print_flags ;;
  uninstall) uninstall ;;
  install) install_helper ;;
esac
