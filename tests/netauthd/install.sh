#!/bin/sh
# Installs the NetAuth server and CLIs (netauthd, nsutil, netauth) pinned in ./go.mod for the integration tests.
# Built from this wrapper module, not `go install ...@vX`: that form asks the proxy for @v/list (deprecation check),
# which pinned mirrors refuse; this needs only the .info/.mod/.zip files that go.sum already pins.
# Usage: tests/netauthd/install.sh   (env: NETAUTH_BIN = target dir, FORCE=1 = rebuild even if present)
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
version=$(awk '$1 == "require" && $2 == "github.com/netauth/netauth" { print $3 }
  $1 == "github.com/netauth/netauth" { print $2 }' "$here/go.mod")
[ -n "$version" ] || { echo "install.sh: no github.com/netauth/netauth version in $here/go.mod" >&2; exit 1; }
bin=${NETAUTH_BIN:-$HOME/.cache/netauth-pam-helper/netauth-$version/bin}
# netauthd has no --version flag (and reports "dev"), so a stamp written after a good build records the version.
stamp="$bin/.netauth-version"

if [ "${FORCE:-0}" != 1 ] && [ -x "$bin/netauthd" ] && [ -x "$bin/nsutil" ] && [ -x "$bin/netauth" ] &&
  [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  echo "netauth $version already installed in $bin"
  exit 0
fi
command -v go >/dev/null 2>&1 || { echo "install.sh: go not found (need Go >= 1.24)" >&2; exit 1; }

start=$(date +%s)
mkdir -p "$bin"
rm -f "$stamp" # a failed build must not leave an old stamp vouching for new binaries
cd "$here"
# -mod=mod lets go fill in go.sum entries a newer toolchain wants instead of failing on a read-only check.
GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
GOBIN=$bin
export GOFLAGS GOBIN
go mod download
go install -ldflags="-X main.version=$version" \
  github.com/netauth/netauth/cmd/netauthd github.com/netauth/netauth/cmd/nsutil github.com/netauth/netauth/cmd/netauth
echo "$version" >"$stamp"
echo "netauth $version: built netauthd nsutil netauth into $bin in $(($(date +%s) - start)) s"
