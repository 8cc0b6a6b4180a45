// `--help` text: usage, exit codes and environment, for an admin at a terminal.
import { USAGE } from "./cli.ts";
import { Exit, type ExitCode, pamName } from "./exit_codes.ts";
import { LOG_LEVEL_ENV } from "./log.ts";

const MEANINGS: Record<ExitCode, string> = {
  [Exit.SUCCESS]: "authenticated; account permitted",
  [Exit.SERVICE_ERR]: "bad configuration or arguments, unsupported PAM_TYPE, PAM_USER missing",
  [Exit.SYSTEM_ERR]: "unexpected internal failure",
  [Exit.PERM_DENIED]: "entity locked (account) or not in any --require-group",
  [Exit.AUTH_ERR]: "wrong, empty or oversized password, or one with a NUL inside; unknown or locked entity",
  [Exit.AUTHINFO_UNAVAIL]: "NetAuth unreachable, deadline passed, TLS failure, server error, reply too large",
  [Exit.USER_UNKNOWN]: "no such entity (account), or PAM_USER cannot be an entity ID",
};

export function helpText(): string {
  const codes = (Object.keys(MEANINGS).map(Number) as ExitCode[])
    .map((code) => `  ${String(code).padStart(2)}  ${pamName(code).padEnd(21)} ${MEANINGS[code]}`);
  return `${USAGE}

Run by pam_exec.so for PAM_TYPE auth (password on stdin: add expose_authtok) or account; the lines
from pam.d/common-lines (complete stacks and why each line: pam.d/ in the source):
  auth     [success=1 default=ignore]  pam_exec.so expose_authtok quiet seteuid log=/var/log/netauth-pam-helper.log /usr/local/sbin/netauth-pam-helper
  account  required                    pam_exec.so quiet seteuid log=/var/log/netauth-pam-helper.log /usr/local/sbin/netauth-pam-helper

Options:
  --config PATH         NetAuth client config (default /etc/netauth/config.toml)
  --timeout SECONDS     deadline for the whole run, connection included (default 10)
  --require-group NAME  also require membership (direct or indirect) in NAME; repeatable, any one suffices
  --log-level LEVEL     TRACE, DEBUG, INFO, WARN or ERROR (default INFO, or $${LOG_LEVEL_ENV})
  --cache-dir DIR       offline cache: answer from scrypt verifiers in DIR (owned by the user, mode 700)
                        when NetAuth is unavailable; off by default
  --cache-max-age AGE   refuse cache entries older than AGE: s, m, h, d or w (default 7d)
  --cache-tries N       refuse an entry after N offline mismatches until the next online success (default 5)
  --check               check config, certificate, sandbox and server; one line each;
                        with --require-group, also that NetAuth knows each group
  --audit               print the permissions this process holds, as JSON
  --version, --help

Exit status:
${codes.join("\n")}
`;
}
