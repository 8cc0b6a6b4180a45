/**
 * `--help` text: usage, exit codes and environment, for an admin at a terminal.
 *
 * @module
 */
import {
  DEFAULT_CACHE_MAX_AGE,
  DEFAULT_CACHE_TRIES,
  DEFAULT_CHECK_SERVICE,
  DEFAULT_CONFIG,
  DEFAULT_OUTAGE_WINDOW,
  DEFAULT_TIMEOUT_SECONDS,
  USAGE,
} from "../cli.ts";
import { EXIT_CODES } from "../exit_codes.ts";
import { DEFAULT_LOG_LEVEL, LOG_LEVEL_ENV, LOG_LEVELS } from "../log.ts";

/** The text `--help` prints: usage, options with their defaults, exit codes, environment. */
export function helpText(): string {
  const levels = `${LOG_LEVELS.slice(0, -1).join(", ")} or ${LOG_LEVELS.at(-1)}`;
  const codes = EXIT_CODES.map((e) => `  ${String(e.code).padStart(2)}  ${e.pamName.padEnd(21)} ${e.meaning}`);
  return `${USAGE}

Run by pam_exec.so for PAM_TYPE auth (password on stdin: add expose_authtok) or account; the lines
from pam.d/common-lines (complete stacks and why each line: pam.d/ in the source):
  auth     [success=1 default=ignore]  pam_exec.so expose_authtok quiet log=/var/log/netauth-pam-helper.log /usr/local/sbin/netauth-pam-helper
  account  required                    pam_exec.so quiet log=/var/log/netauth-pam-helper.log /usr/local/sbin/netauth-pam-helper

Options:
  --config PATH         NetAuth client config (default ${DEFAULT_CONFIG})
  --timeout SECONDS     deadline for the whole run, connection included (default ${DEFAULT_TIMEOUT_SECONDS})
  --require-group NAME  also require membership (direct or indirect) in NAME; repeatable, any one suffices
  --log-level LEVEL     ${levels} (default ${DEFAULT_LOG_LEVEL}; $${LOG_LEVEL_ENV} may only add detail)
  --cache-dir DIR       offline cache: answer from scrypt verifiers in DIR (owned by the user, mode 700)
                        when NetAuth is unavailable; off by default
  --cache-max-age AGE   refuse cache entries older than AGE: s, m, h, d or w (default ${DEFAULT_CACHE_MAX_AGE})
  --cache-tries N       refuse an entry after N offline mismatches until the next online success (default ${DEFAULT_CACHE_TRIES})
  --outage-window SPAN  after NetAuth failed a full try, later calls give it only a short probe for SPAN;
                        the record lives in the cache directory, else the runtime's (default ${DEFAULT_OUTAGE_WINDOW})
  --broker-socket PATH  ask the warm broker at PATH first (baked in by install.sh and by the
                        package's setup); on any trouble there the login takes the direct path
  --check               check config, certificate, sandbox and server; one line each;
                        with --require-group, also that NetAuth knows each group
  --user NAME           with --check: what a login for NAME would meet (/etc/passwd, NSS, shadow,
                        the PAM service's lines), then NAME in NetAuth, without a password
  --service SERVICE     with --check --user: the PAM service to read (default ${DEFAULT_CHECK_SERVICE})
  --audit               print the permissions this process holds, as JSON
  --serve               run the warm broker on --broker-socket in the foreground (systemd unit
                        netauth-pam-helper.service); a config change needs a restart
  --version, --help

Exit status:
${codes.join("\n")}
`;
}
