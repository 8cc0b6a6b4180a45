/**
 * What the policy needs from NetAuth, as an interface: the gRPC client implements it,
 * tests pass a fake. Failures arrive as NetAuthError with the server's verdict class.
 *
 * @module
 */

/** What EntityInfo tells about an entity. */
export interface EntityInfo {
  /** The entity's ID, as NetAuth has it. */
  id: string;
  /** Whether NetAuth has locked it. */
  locked: boolean;
}

/** The server's own status report (`--check`). */
export interface ServerHealth {
  /** Every subsystem healthy. */
  ok: boolean;
  /** The first failing subsystem and its message, when the server names one. */
  firstFailure?: string;
}

/** The NetAuth calls the helper makes; each rejects with a NetAuthError. */
export interface NetAuthClient {
  /** Resolves when the secret (its bytes, as pam_exec gave them) is right; rejects with NetAuthError otherwise. */
  authEntity(entity: string, secret: Uint8Array): Promise<void>;
  /** The entity's ID and lock state. */
  entityInfo(entity: string): Promise<EntityInfo>;
  /** Direct and indirect group memberships, by name. */
  entityGroups(entity: string): Promise<string[]>;
  /** Whether NetAuth knows the group (GroupInfo); false only for NOT_FOUND. */
  groupExists(name: string): Promise<boolean>;
  /** Resolves when the server answers at all. */
  ping(): Promise<void>;
  /** The server's health. */
  status(): Promise<ServerHealth>;
  /** Ends the connection; the run is over. */
  close(): void;
}

/**
 * - `unauthenticated`: AuthEntity refused (wrong secret, unknown or locked entity).
 * - `not_found`: no such entity.
 * - `unavailable`: a transport failure only: no connection, TLS failure, nothing answered in time, the
 *   connection lost before a reply. The one kind the offline cache may answer for.
 * - `oversized`: a reply over the helper's limits (src/netauth/grpc_client.ts): a broken server, not a verdict.
 * - `bad_reply`: the server sent something that does not parse or does not fit (src/netauth/reply_checks.ts).
 * - `refused`: any other status the server sent, such as PERMISSION_DENIED or INTERNAL.
 */
export type NetAuthErrorKind = "unauthenticated" | "not_found" | "unavailable" | "oversized" | "bad_reply" | "refused";

/** How far the connection got before a failure: TCP, the TLS handshake, or the call itself. */
export type Phase = "connect" | "tls" | "rpc";

/** How a transport failure happened, for the decision line and the outage record. */
export interface TransportFailure {
  /** How far the connection got. */
  phase: Phase;
  /** Silence until the deadline, rather than an error. */
  unanswered: boolean;
  /** TLS refused the server (certificate, name, plaintext): a misconfiguration rather than an outage. */
  tlsRejected: boolean;
}

/** A failed NetAuth call, classed by what it means for the decision. */
export class NetAuthError extends Error {
  /** `kind`: the class; `message`: one line for the log, without the secret; `transport`: how, for `unavailable`. */
  constructor(
    readonly kind: NetAuthErrorKind,
    message: string,
    /** Set on `unavailable`: where it failed, and how (README, "Exit codes"). */
    readonly transport?: TransportFailure,
  ) {
    super(message);
    this.name = "NetAuthError";
  }
}
