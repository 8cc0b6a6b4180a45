// The PAM return codes the helper exits with (README, "Exit codes").
// pam_exec maps every non-zero status to PAM_SYSTEM_ERR, so these are for logs and humans.
export const Exit = {
  SUCCESS: 0,
  SERVICE_ERR: 3,
  SYSTEM_ERR: 4,
  PERM_DENIED: 6,
  AUTH_ERR: 7,
  AUTHINFO_UNAVAIL: 9,
  USER_UNKNOWN: 10,
} as const;

export type ExitCode = typeof Exit[keyof typeof Exit];

/** The PAM name of an exit code, for log lines and `--help`. */
export function pamName(code: ExitCode): string {
  const names: Record<ExitCode, string> = {
    0: "PAM_SUCCESS",
    3: "PAM_SERVICE_ERR",
    4: "PAM_SYSTEM_ERR",
    6: "PAM_PERM_DENIED",
    7: "PAM_AUTH_ERR",
    9: "PAM_AUTHINFO_UNAVAIL",
    10: "PAM_USER_UNKNOWN",
  };
  return names[code];
}

/**
 * A failure that ends the run with a documented exit code and a one-line message.
 * `outcome` is the short logfmt word for the decision (for example `bad_config`).
 */
export class HelperError extends Error {
  constructor(
    readonly exit: ExitCode,
    readonly outcome: string,
    message: string,
  ) {
    super(message);
    this.name = "HelperError";
  }
}
