/**
 * The PAM return codes the helper exits with, tabled once: `Exit`, the PAM names in log lines
 * and `--help`'s meanings all come from here. pam_exec maps every non-zero status to
 * PAM_SYSTEM_ERR, so these are for logs and humans.
 *
 * @module
 */
import type { LogLevel } from "./log.ts";

/**
 * The table itself, keyed by PAM name without `PAM_`: each code, the level of its decision's log line (a user's
 * verdict warns, a fault is an error) and its meaning for `--help`. Read it through `Exit` and `exitInfo`.
 */
export const EXIT_TABLE = {
  SUCCESS: { code: 0, logLevel: "INFO", meaning: "authenticated; account permitted" },
  SERVICE_ERR: {
    code: 3,
    logLevel: "ERROR",
    meaning: "bad configuration or arguments, unsupported PAM_TYPE, PAM_USER missing",
  },
  SYSTEM_ERR: {
    code: 4,
    logLevel: "ERROR",
    meaning: "unexpected internal failure; NetAuth refused or sent a bad reply",
  },
  PERM_DENIED: { code: 6, logLevel: "WARN", meaning: "entity locked (account) or not in any --require-group" },
  AUTH_ERR: {
    code: 7,
    logLevel: "WARN",
    meaning: "wrong, empty or oversized password, or one with a NUL inside; unknown or locked entity",
  },
  AUTHINFO_UNAVAIL: {
    code: 9,
    logLevel: "ERROR",
    meaning: "NetAuth unreachable, deadline passed, TLS failure, connection lost, reply too large",
  },
  USER_UNKNOWN: { code: 10, logLevel: "WARN", meaning: "no such entity (account), or PAM_USER cannot be an entity ID" },
} as const satisfies Record<string, { code: number; logLevel: LogLevel; meaning: string }>;

/** A PAM name without its `PAM_` prefix, like `AUTH_ERR`. */
export type ExitName = keyof typeof EXIT_TABLE;
const NAMES = Object.keys(EXIT_TABLE) as ExitName[];

/**
 * The exit codes by name, for code that returns one.
 *
 * @example
 * ```ts
 * const wrongPassword: number = Exit.AUTH_ERR;
 * if (wrongPassword !== 7) throw new Error(`AUTH_ERR is ${wrongPassword}, PAM's is 7`);
 * ```
 */
export const Exit = Object.fromEntries(NAMES.map((name) => [name, EXIT_TABLE[name].code])) as {
  readonly [K in ExitName]: typeof EXIT_TABLE[K]["code"];
};

/** One of the documented exit codes: the only numbers the helper exits with. */
export type ExitCode = typeof Exit[ExitName];

/** One row of the exit-code table, as `--help` and the log lines show it. */
export interface ExitInfo {
  /** The number the process exits with. */
  code: ExitCode;
  /** Like `PAM_AUTH_ERR`. */
  pamName: string;
  /** The level of the decision's log line. */
  logLevel: LogLevel;
  /** What the code means, for `--help`. */
  meaning: string;
}

/** Every exit code, in ascending order. */
export const EXIT_CODES: readonly ExitInfo[] = NAMES.map((name) => ({ ...EXIT_TABLE[name], pamName: `PAM_${name}` }));

/** The table row of an exit code. */
export function exitInfo(code: ExitCode): ExitInfo {
  return EXIT_CODES.find((info) => info.code === code)!;
}

/** The PAM name of an exit code, for log lines and `--help`. */
export function pamName(code: ExitCode): string {
  return exitInfo(code).pamName;
}
