/**
 * Credential intake: what pam_exec hands over, checked before anything talks to NetAuth.
 * Only the PAM_* names below are trusted; the rest of the PAM environment is user-steerable.
 *
 * @module
 */
import { Exit } from "./exit_codes.ts";
import { HelperError, type HelperOutcome } from "./errors.ts";

/** The PAM variables the helper reads; the sandbox grants these and no other. */
export const PAM_ENV_NAMES = ["PAM_TYPE", "PAM_USER", "PAM_SERVICE", "PAM_RHOST", "PAM_RUSER", "PAM_TTY"] as const;
/** The PAM_TYPE values handled; any other is refused with 3. */
export const SUPPORTED_TYPES = ["auth", "account"] as const;
/** A handled PAM_TYPE. */
export type PamType = typeof SUPPORTED_TYPES[number];
/** PAM_MAX_RESP_SIZE: the most pam_exec sends on stdin. */
export const MAX_SECRET_BYTES = 512;
/** NetAuth entity IDs double as login names: letters, digits and . _ @ - only. */
export const ENTITY_ID = /^[A-Za-z0-9_@][A-Za-z0-9._@-]{0,127}$/;

/** The PAM call, checked: what the helper acts on and logs. */
export interface PamRequest {
  /** PAM_TYPE. */
  type: PamType;
  /** PAM_USER, a valid NetAuth entity ID. */
  entity: string;
  /** PAM_SERVICE, like `sshd` (unset: `unknown`). */
  service: string;
  /** PAM_RHOST, for the log line. */
  rhost?: string;
  /** PAM_RUSER, for the log line. */
  ruser?: string;
  /** PAM_TTY, for the log line. */
  tty?: string;
}

/** The PAM call's fields as they arrived (pam_exec's environment, or a broker request): unchecked. */
export interface PamFields {
  /** PAM_TYPE. */
  type?: string;
  /** PAM_USER. */
  user?: string;
  /** PAM_SERVICE. */
  service?: string;
  /** PAM_RHOST. */
  rhost?: string;
  /** PAM_RUSER. */
  ruser?: string;
  /** PAM_TTY. */
  tty?: string;
}

/** Reads the PAM_* variables through `getEnv`; everything else is never consulted. */
export function readPamRequest(getEnv: (name: string) => string | undefined): PamRequest {
  return checkPamRequest({
    type: getEnv("PAM_TYPE"),
    user: getEnv("PAM_USER"),
    service: getEnv("PAM_SERVICE"),
    rhost: getEnv("PAM_RHOST"),
    ruser: getEnv("PAM_RUSER"),
    tty: getEnv("PAM_TTY"),
  });
}

/**
 * The PAM call checked at the boundary, wherever it came from (the direct path's environment, the broker's
 * request): a HelperError with the documented exit code for anything the helper does not take.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const request = checkPamRequest({ type: "auth", user: "alice", service: "sshd", rhost: "" });
 * assert.equal(request.entity, "alice");
 * assert.equal(request.rhost, undefined); // empty is absent
 * assert.throws(() => checkPamRequest({ type: "auth", user: "../x" }), /cannot be a NetAuth entity ID/);
 * ```
 */
export function checkPamRequest(fields: PamFields): PamRequest {
  const { type, user } = fields;
  if (!type) {
    throw new HelperError(Exit.SERVICE_ERR, "bad_request", "PAM_TYPE is not set: run this helper from pam_exec.so");
  }
  if (!(SUPPORTED_TYPES as readonly string[]).includes(type)) {
    throw new HelperError(
      Exit.SERVICE_ERR,
      "unsupported_type",
      `PAM_TYPE "${printable(type)}" is not supported: use this helper for ${SUPPORTED_TYPES.join(" and ")} only`,
    );
  }
  if (!user) throw new HelperError(Exit.SERVICE_ERR, "bad_request", "PAM_USER is not set");
  if (!ENTITY_ID.test(user)) {
    throw new HelperError(
      Exit.USER_UNKNOWN,
      "bad_entity_id",
      `PAM_USER "${printable(user)}" cannot be a NetAuth entity ID`,
    );
  }
  return {
    type: type as PamType,
    entity: user,
    service: fields.service || "unknown",
    rhost: fields.rhost || undefined,
    ruser: fields.ruser || undefined,
    tty: fields.tty || undefined,
  };
}

/**
 * Reads the password pam_exec's `expose_authtok` writes: at most 512 bytes, one trailing NUL
 * stripped (some Linux-PAM versions add it), nothing else trimmed. The bytes are kept as they came,
 * UTF-8 or not: NetAuth stores a secret's bytes, and its own clients send them unchanged. The
 * caller zeroes the result after use; refused input is zeroed here.
 */
export async function readSecret(input: ReadableStream<Uint8Array> | ReadInto): Promise<Uint8Array> {
  return checkSecret(await readAtMost(input, MAX_SECRET_BYTES + 2));
}

/**
 * The password's bytes as pam_exec wrote them, checked (readSecret's rules, and the broker's for a forwarded
 * one): one trailing NUL stripped; empty, oversized or with a NUL inside refused with 7, the bytes zeroed.
 */
export function checkSecret(bytes: Uint8Array): Uint8Array {
  const framed = bytes.at(-1) === 0 ? bytes.subarray(0, -1) : bytes;
  const refuse = (outcome: HelperOutcome, message: string) => {
    bytes.fill(0);
    return new HelperError(Exit.AUTH_ERR, outcome, message);
  };
  if (framed.length === 0) {
    throw refuse("empty_secret", "no password on stdin: is expose_authtok set on the pam_exec line?");
  }
  if (framed.length > MAX_SECRET_BYTES) {
    throw refuse("oversized_secret", `password longer than ${MAX_SECRET_BYTES} bytes`);
  }
  if (framed.includes(0)) throw refuse("invalid_secret", "password contains a NUL byte");
  return framed;
}

/**
 * Reads some bytes into `into`, like `Deno.stdin.read`: how many, or null at end of input. Cheaper than a
 * stream (Deno's streams cost ~2 MiB more per run), and the bytes land in the one buffer that is zeroed.
 */
export type ReadInto = (into: Uint8Array) => Promise<number | null>;

/** Reads until end of input or `limit` bytes, whichever comes first. */
async function readAtMost(input: ReadableStream<Uint8Array> | ReadInto, limit: number): Promise<Uint8Array> {
  const out = new Uint8Array(limit);
  let length = 0;
  if (typeof input === "function") {
    for (let n; length < limit && (n = await input(out.subarray(length))) !== null;) length += n;
    return out.subarray(0, length);
  }
  const reader = input.getReader();
  try {
    while (length < limit) {
      const { value, done } = await reader.read();
      if (done) break;
      const take = Math.min(value.length, limit - length);
      out.set(value.subarray(0, take), length);
      value.fill(0);
      length += take;
    }
  } finally {
    reader.releaseLock();
  }
  return out.subarray(0, length);
}

/** A user-supplied value made safe for a one-line message. */
function printable(value: string): string {
  const cut = value.length > 64 ? `${value.slice(0, 64)}…` : value;
  // deno-lint-ignore no-control-regex -- control characters are exactly what is matched
  return cut.replace(/[\u0000-\u001f\u007f"\\]/g, "?");
}
