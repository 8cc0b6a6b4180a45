/**
 * How failures are told: HelperError ends a run with a documented exit code and one line;
 * describeIoError words a failed file read for such a line.
 *
 * @module
 */
import type { ExitCode } from "./exit_codes.ts";

/**
 * A failure that ends the run with a documented exit code and a one-line message.
 * `outcome` is the short logfmt word for the decision (for example `bad_config`).
 */
export class HelperError extends Error {
  /** `exit`: the run's exit code; `outcome`: the log line's outcome word; `message`: the one line printed. */
  constructor(
    readonly exit: ExitCode,
    readonly outcome: HelperOutcome,
    message: string,
  ) {
    super(message);
    this.name = "HelperError";
  }
}

/** Every outcome a HelperError can carry: local refusals, before or instead of NetAuth's verdict. */
export type HelperOutcome =
  | "bad_arguments"
  | "bad_config"
  | "bad_install"
  | "bad_request"
  | "unsupported_type"
  | "bad_entity_id"
  | "empty_secret"
  | "oversized_secret"
  | "invalid_secret"
  | "tls_failure"
  /** The deadline's share for NetAuth was spent before the helper could ask (deadline.ts realTryBudget). */
  | "no_time";

/** A short reason for a failed read, including the sandbox refusing it. */
export function describeIoError(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "no such file";
  if (err instanceof Deno.errors.NotCapable) return "outside the directories this helper may read";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.IsADirectory) return "is a directory";
  return String((err as Error)?.message ?? err).split("\n")[0];
}
