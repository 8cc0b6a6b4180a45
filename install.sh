#!/bin/sh
# netauth-pam-helper installer. For now: --print-flags, the sandbox flag list for a config
# directory, taken from src/sandbox.ts so that tests, compile and install share one source.
set -eu

ROOT=$(cd "$(dirname "$0")" && pwd)
CONF_DIR=/etc/netauth
ACTION=

die() { printf 'install.sh: %s\n' "$*" >&2; exit 3; }

while [ $# -gt 0 ]; do
  case $1 in
    --print-flags) ACTION=print-flags ;;
    --conf-dir) [ $# -ge 2 ] || die "--conf-dir needs a directory"; CONF_DIR=$2; shift ;;
    --conf-dir=*) CONF_DIR=${1#*=} ;;
    *) die "unknown option: $1" ;;
  esac
  shift
done

print_flags() {
  deno run --quiet --no-prompt --config "$ROOT/deno.json" --allow-read="$CONF_DIR" \
    "$ROOT/src/print_flags.ts" --conf-dir "$CONF_DIR"
}

case $ACTION in
  print-flags) print_flags ;;
  *) die "nothing to do (try --print-flags)" ;;
esac
