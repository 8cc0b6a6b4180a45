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
verifies the build, installs it root-owned under PREFIX/lib/$NAME/ with a launcher
PREFIX/sbin/$NAME (0755) that clears the environment and gives the runtime root-owned HOME,
DENO_DIR and TMPDIR (PREFIX/lib/$NAME/runtime/), and prints the PAM lines to add.

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
  --verify           check the install against its manifest.json (hashes, owners, modes, runtime
                     directories) and every PAM line that runs the helper; exit 1 on any DRIFT,
                     2 when there is no manifest to check against
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
    --verify) ACTION=verify opt= ;;
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
MANIFEST=$STAGE_LIB/installed-files # one path per line, for --uninstall
MANIFEST_JSON=$STAGE_LIB/manifest.json # hashes, owners, modes, provenance: for --verify and --audit
RUNTIME_DIR=$LIB/runtime # the runtime's HOME, DENO_DIR and TMPDIR: root's alone (README, "Threat model")
DEBIAN_PROFILE=/usr/share/pam-configs/netauth

deno_run() { deno run --quiet --no-prompt --config "$ROOT/deno.json" "$@"; }

# src/install_plan.ts: the flags, the baked arguments and the launcher, from one set of inputs.
plan() {
  # Full read as root: the strict-modes walk sees every directory up to "/", which the helper cannot.
  deno_run --allow-read "$ROOT/src/install_plan.ts" --conf-dir "$CONF_DIR" ${CACHE_DIR:+--cache-dir "$CACHE_DIR"} "$@"
}
# The installed helper also reads its install directory (runtime dirs, manifest.json, the artefact);
# --print-flags, for runs from source, leaves it out.
install_plan() { plan --runtime-dir "$RUNTIME_DIR" "$@"; }
print_flags() { plan; }

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
    if [ "$path" = "$DESTDIR$RUNTIME_DIR" ]; then
      if [ -d "$path" ]; then act rm -rf "$path"; fi # the runtime's caches
    elif [ -e "$path" ]; then
      act rm -f "$path"
    fi
  done <"$MANIFEST"
  act rm -f "$MANIFEST"
  if [ -d "$STAGE_LIB" ]; then act rmdir "$STAGE_LIB"; fi
  if [ "$DRY_RUN" = 1 ]; then say "dry run: nothing removed"; else say "uninstalled $NAME from $DESTDIR$PREFIX"; fi
}

# --- install -------------------------------------------------------------------------------

preflight() {
  DENO=$(command -v deno) || die "deno not found: install Deno 2 (npm install -g deno@2)"
  case $DENO in /*) ;; *) die "deno is not an absolute path: $DENO" ;; esac
  SETPRIV=$(command -v setpriv) || die "setpriv not found: install util-linux (the launcher needs it under su and sudo)"
  if [ ! -r "$CONF_DIR/config.toml" ]; then
    # Without a config there is no server to name in --allow-net, so even --force cannot build.
    die "no $CONF_DIR/config.toml: write NetAuth's client config first (or pass --conf-dir)"
  fi
  if ! FLAGS=$(install_plan); then
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

# The artefact in the staging or library directory $1.
artefact() { if [ "$MODE" = compile ]; then printf '%s/%s' "$1" "$NAME"; else printf '%s/%s.js' "$1" "$NAME"; fi; }

# Builds into $1 (a staging directory): the artefact, and the launcher PAM runs.
build() {
  stage=$1
  if [ "$MODE" = compile ]; then
    # No V8 code cache: a compiled binary keeps it in TMPDIR, which must hold nothing the runtime trusts.
    # shellcheck disable=SC2046,SC2086 # FLAGS and the baked arguments are lists of single words
    if ! out=$(deno compile --quiet --frozen --no-code-cache --config "$ROOT/deno.json" $FLAGS \
      --output "$(artefact "$stage")" "$ROOT/src/main.ts" $(install_plan --baked-args) 2>&1); then
      say "$out" >&2
      case $out in
        *denort* | *dl.deno.land* | *"error sending request"*)
          die "deno compile could not get its denort runtime (offline?): set DENORT_BIN=/path/to/denort for deno $(deno_version), or use --mode bundle"
          ;;
      esac
      die "deno compile failed"
    fi
  else
    # deno.json's "bundle" task: --minify drops the builder's paths (README, "Reproducible builds").
    # Code-split (scripts/bundle.ts): gRPC and the cache are chunks loaded only when used (README, "Performance").
    deno task --quiet --config "$ROOT/deno.json" bundle --outdir "$stage" >/dev/null || die "deno bundle failed"
  fi
  launcher "$stage/launcher" "$(artefact "$LIB")" "$RUNTIME_DIR"
}

deno_version() { deno --version | sed -n 's/^deno \([^ ]*\).*/\1/p'; }

# Writes the launcher $1 for the artefact at $2, the runtime's directories below $3 (src/launcher.ts).
launcher() {
  install_plan --launcher --mode "$MODE" --target "$2" --deno "$DENO" --setpriv "$SETPRIV" \
    --launcher-runtime-dir "$3" >"$1" || die "cannot write the launcher"
}

# Makes the runtime directory $1 with home/, deno/ and tmp/: root-owned, mode 0755.
make_runtime_dir() {
  for sub in "$1" "$1/home" "$1/deno" "$1/tmp"; do
    mkdir -p "$sub"
    if [ "$(id -u)" = 0 ]; then chown 0:0 "$sub"; fi
    chmod 0755 "$sub"
  done
}

# Runs the staged artefact through a launcher written like the real one, before anything is placed:
# it must print our version, fail closed without a request, and hold exactly the declared sandbox.
verify_build() {
  stage=$1
  make_runtime_dir "$stage/runtime"
  launcher "$stage/verify-launcher" "$(artefact "$stage")" "$stage/runtime"
  chmod 0755 "$stage/verify-launcher"
  # shellcheck disable=SC2086 # FLAGS is a list of single-word flags
  if ! deno_run --allow-run="$stage/verify-launcher" "$ROOT/src/verify_build.ts" "$stage/verify-launcher" $FLAGS; then
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

# The runtime's own directory, root's alone: made afresh when missing or when anything in it is not.
install_runtime_dir() {
  runtime=$DESTDIR$RUNTIME_DIR
  if [ -d "$runtime" ] && [ -z "$(find "$runtime" \( ! -user 0 -o -perm /022 \) -print -quit)" ]; then
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

# Root fills the runtime's code cache once, with a full --check (every module loads); callers only
# ever read it. Skipped for --destdir and --dry-run, where the launcher's paths do not exist yet.
warm_code_cache() {
  if [ "$MODE" = compile ] || [ -n "$DESTDIR" ] || [ "$DRY_RUN" = 1 ] || [ "$(id -u)" != 0 ]; then return 0; fi
  "$BIN" --check >/dev/null 2>&1 || true
  "$BIN" --audit >/dev/null 2>&1 || true # the one chunk --check does not load
  say "code cache: warmed by root in $RUNTIME_DIR/deno"
}

pam_lines() {
  cat <<EOF
PAM lines to add, for example in common-auth / common-account (system-auth elsewhere). pam_unix comes
first so local accounts, root included, work while NetAuth is down; pam_localuser keeps them from ever
being tried against NetAuth:
  auth     [success=3 default=ignore]  pam_unix.so nullok
  auth     [success=1 default=ignore]  pam_localuser.so
  auth     [success=1 default=ignore]  pam_exec.so expose_authtok quiet seteuid $BIN
  auth     requisite                   pam_deny.so
  auth     required                    pam_permit.so
  account  [success=1 default=ignore]  pam_localuser.so
  account  required                    pam_exec.so quiet seteuid $BIN
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

# manifest.json (src/manifest.ts): per installed file its SHA-256, owner and mode, and what it was built
# from and with; --verify and --audit check against it.
write_manifest() {
  if [ "$DRY_RUN" = 1 ]; then
    say "would write: $MANIFEST_JSON"
    return 0
  fi
  set --
  while IFS= read -r path; do
    if [ "$path" = "$DESTDIR$DEBIAN_PROFILE" ]; then set -- "$@" --debian-profile "$DEBIAN_PROFILE"; fi
    if [ "$path" != "$MANIFEST_JSON" ] && [ -f "$path" ]; then set -- "$@" --file "${path#"$DESTDIR"}"; fi
  done <"$STAGE/manifest"
  deno_run --allow-read --allow-run=git "$ROOT/src/manifest.ts" --root "$ROOT" --destdir "$DESTDIR" \
    --prefix "$PREFIX" --mode "$MODE" --artefact "$(artefact "$LIB")" --launcher "$BIN" \
    --runtime-dir "$RUNTIME_DIR" --conf-dir "$CONF_DIR" ${CACHE_DIR:+--cache-dir "$CACHE_DIR"} "$@" \
    >"$STAGE/manifest.json" || die "cannot write $MANIFEST_JSON (see above)"
  place "$STAGE/manifest.json" "$MANIFEST_JSON" 0644
}

install_helper() {
  preflight
  STAGE=$(mktemp -d "${TMPDIR:-/tmp}/$NAME-stage.XXXXXX")
  trap 'rm -rf "$STAGE"' EXIT
  say "building ($MODE mode)"
  build "$STAGE"
  verify_build "$STAGE"
  : >"$STAGE/manifest"
  if [ "$MODE" = bundle ]; then
    place_bundle
  else
    place "$(artefact "$STAGE")" "$(artefact "$STAGE_LIB")" 0755
  fi
  place "$STAGE/launcher" "$STAGE_BIN" 0755
  install_runtime_dir
  if [ -n "$CACHE_DIR" ] && [ ! -d "$DESTDIR$CACHE_DIR" ]; then
    act mkdir -p "$DESTDIR$CACHE_DIR"
    act chmod 0700 "$DESTDIR$CACHE_DIR"
    say "offline cache directory $DESTDIR$CACHE_DIR: mode 0700, root-owned; --uninstall leaves it"
  fi
  if [ "$PAM" = 1 ]; then wire_pam; fi
  # Keep what a previous install recorded and is still there (for example the PAM profile).
  if [ -f "$MANIFEST" ]; then
    while IFS= read -r path; do
      if [ -e "$path" ]; then printf '%s\n' "$path" >>"$STAGE/manifest"; fi
    done <"$MANIFEST"
  fi
  write_manifest
  sort -u "$STAGE/manifest" >"$STAGE/manifest.new"
  if [ ! -f "$MANIFEST" ] || ! cmp -s "$STAGE/manifest.new" "$MANIFEST"; then
    ensure_dir "$STAGE_LIB"
    act mv -f "$STAGE/manifest.new" "$MANIFEST"
  fi
  warm_code_cache
  if [ "$CHANGED" = 0 ]; then
    say "nothing changed: $NAME is up to date"
  elif [ "$DRY_RUN" = 1 ]; then
    say "dry run: nothing changed"
  fi
  pam_lines
}

# --- verify --------------------------------------------------------------------------------

verify() {
  [ -f "$MANIFEST_JSON" ] || EXIT=2 die "no $MANIFEST_JSON: nothing to verify (install first, or pass its --prefix/--destdir)"
  deno_run --allow-read "$ROOT/src/verify_install.ts" --manifest "$MANIFEST_JSON" --destdir "$DESTDIR" \
    --pam-dir "$DESTDIR/etc/pam.d"
}

case $ACTION in
  print-flags) print_flags ;;
  verify) verify ;;
  uninstall) uninstall ;;
  install) install_helper ;;
esac
