#!/bin/sh -p
# /usr/sbin/netauth-pam-helper, as the Debian package ships it (scripts/deb.ts). PAM runs this file; it
# hands over to the launcher `netauth-pam-helper --setup` wrote from /etc/netauth/config.toml (the
# sandbox names the host's server, so only the host can write it). Until then every NetAuth login is
# refused with exit 3 (PAM_SERVICE_ERR); local accounts never reach this file (pam_localuser).
# -p: keep the effective uid pam_exec gives (root under su and sudo).
IFS=' '
umask 022
lib=/usr/lib/netauth-pam-helper

# Root's own commands: write the launcher (after changing the config; --setup --login-slots N) and check the
# install; setup.js reads the words after them (--verify --quiet, --verify --json) and refuses any other.
if [ "${1-}" = --setup ] || [ "${1-}" = --verify ]; then
  if [ "$(/usr/bin/id -ru)" != 0 ] || [ "$(/usr/bin/id -u)" != 0 ]; then
    echo "netauth-pam-helper: $1 must be run as root" >&2
    exit 3
  fi
  work=$(/usr/bin/mktemp -d) || exit 3
  status=0
  /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$work" DENO_DIR="$work" TMPDIR="$work" \
    DENO_NO_UPDATE_CHECK=1 "$lib/deno" run --quiet --no-config --no-lock --no-remote --no-npm --no-code-cache \
    --allow-all "$lib/setup.js" "$@" || status=$?
  /bin/rm -rf "$work"
  exit "$status"
fi

if [ ! -x "$lib/launcher" ]; then
  echo 'level=error msg="not set up: no launcher for /etc/netauth/config.toml; write it, then run as root: netauth-pam-helper --setup" outcome=not_set_up exit=3' >&2
  exit 3
fi
exec "$lib/launcher" "$@"
