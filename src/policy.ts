/**
 * The decision: one PAM request, one NetAuth client, one exit code. No I/O of its own,
 * so every branch is tested with a fake client (tests/policy_test.ts).
 *
 * @module
 */
import { Exit } from "./exit_codes.ts";
import { type NetAuthClient, NetAuthError } from "./netauth/client.ts";
import type { PamRequest } from "./pam_request.ts";

/** Each outcome with the one exit code it ends in: the compiler keeps the two in step. */
export type Verdict =
  | { outcome: "authenticated" | "permitted"; exit: typeof Exit.SUCCESS }
  | { outcome: "locked" | "not_in_group"; exit: typeof Exit.PERM_DENIED }
  | { outcome: "denied"; exit: typeof Exit.AUTH_ERR }
  | { outcome: "unknown_entity"; exit: typeof Exit.USER_UNKNOWN }
  /** `reply_too_large` is not `unavailable`: the offline cache must not answer for a server that did answer. */
  | { outcome: "unavailable" | "reply_too_large"; exit: typeof Exit.AUTHINFO_UNAVAIL }
  /** `bad_reply`: the server sent what does not parse or fit; not `unavailable` either. */
  | { outcome: "server_refused" | "bad_reply"; exit: typeof Exit.SYSTEM_ERR };

/** What NetAuth's answer means, in one word for the log line. */
export type Outcome = Verdict["outcome"];

/** A verdict with its log message. */
export type Decision = Verdict & {
  /** The log line's message. */
  msg: string;
  /** Who decided, when a cache is in play: NetAuth itself or the offline cache. */
  source?: "netauth" | "cache";
  /** The entity's groups, when the decision fetched them. */
  groups?: string[];
};

/** The admin's conditions beyond a right password. */
export interface PolicyOptions {
  /** Membership in any one of these groups suffices; empty means no group check. */
  requireGroups: string[];
}

/** The shape of a decision function: `decide`, or the offline cache's wrapper around it. */
export type Decide = typeof decide;

/**
 * NetAuth's verdict on one request: for `auth` the password (then the groups), for `account` the lock (then the
 * groups). A failed call becomes the verdict its class means; nothing here throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type NetAuthClient, NetAuthError } from "./netauth/client.ts";
 * // A stand-in for NetAuth (only what `auth` with a group asks): alice's password is "hunter2", she is in staff.
 * const netauth = {
 *   authEntity: (entity: string, secret: Uint8Array) =>
 *     entity === "alice" && new TextDecoder().decode(secret) === "hunter2"
 *       ? Promise.resolve()
 *       : Promise.reject(new NetAuthError("unauthenticated", "wrong secret")),
 *   entityGroups: () => Promise.resolve(["staff"]),
 * } as Partial<NetAuthClient> as NetAuthClient;
 * const request = { type: "auth" as const, entity: "alice", service: "sshd" };
 * const password = (text: string) => new TextEncoder().encode(text);
 *
 * const right = await decide(request, password("hunter2"), netauth, { requireGroups: ["staff"] });
 * assert.deepEqual([right.outcome, right.exit], ["authenticated", 0]);
 * const notStaff = await decide(request, password("hunter2"), netauth, { requireGroups: ["ops"] });
 * assert.deepEqual([notStaff.outcome, notStaff.exit], ["not_in_group", 6]);
 * const wrong = await decide(request, password("guess"), netauth, { requireGroups: [] });
 * assert.deepEqual([wrong.outcome, wrong.exit], ["denied", 7]);
 * ```
 */
export async function decide(
  request: PamRequest,
  secret: Uint8Array | undefined,
  client: NetAuthClient,
  options: PolicyOptions,
): Promise<Decision> {
  try {
    if (request.type === "auth") {
      await client.authEntity(request.entity, secret ?? new Uint8Array());
    } else {
      const info = await client.entityInfo(request.entity);
      if (info.locked) return { exit: Exit.PERM_DENIED, outcome: "locked", msg: "entity is locked" };
    }
    const groups = options.requireGroups.length > 0 ? await client.entityGroups(request.entity) : undefined;
    if (groups && !options.requireGroups.some((g) => groups.includes(g))) {
      return {
        exit: Exit.PERM_DENIED,
        outcome: "not_in_group",
        msg: `not a member of any required group (${options.requireGroups.join(", ")})`,
        groups,
      };
    }
    return request.type === "auth"
      ? { exit: Exit.SUCCESS, outcome: "authenticated", msg: "authenticated", groups }
      : { exit: Exit.SUCCESS, outcome: "permitted", msg: "account permitted", groups };
  } catch (err) {
    if (err instanceof NetAuthError) return fromNetAuthError(request, err);
    throw err;
  }
}

function fromNetAuthError(request: PamRequest, err: NetAuthError): Decision {
  switch (err.kind) {
    case "unauthenticated":
      return { exit: Exit.AUTH_ERR, outcome: "denied", msg: "wrong secret, or entity unknown or locked" };
    case "not_found":
      return request.type === "auth"
        ? { exit: Exit.AUTH_ERR, outcome: "denied", msg: "entity unknown" }
        : { exit: Exit.USER_UNKNOWN, outcome: "unknown_entity", msg: "no such entity" };
    case "unavailable": {
      const said = err.transport?.unanswered ? "NetAuth did not answer" : "NetAuth unavailable";
      return { exit: Exit.AUTHINFO_UNAVAIL, outcome: "unavailable", msg: `${said}: ${err.message}` };
    }
    case "oversized":
      return {
        exit: Exit.AUTHINFO_UNAVAIL,
        outcome: "reply_too_large",
        msg: `NetAuth reply too large: ${err.message}`,
      };
    case "bad_reply":
      return { exit: Exit.SYSTEM_ERR, outcome: "bad_reply", msg: `NetAuth sent a bad reply: ${err.message}` };
    case "refused":
      return { exit: Exit.SYSTEM_ERR, outcome: "server_refused", msg: `NetAuth refused the request: ${err.message}` };
  }
}
