// What the policy needs from NetAuth, as an interface: the gRPC client implements it,
// tests pass a fake. Failures arrive as NetAuthError with the server's verdict class.

export interface EntityInfo {
  id: string;
  locked: boolean;
}

export interface ServerHealth {
  ok: boolean;
  /** The first failing subsystem and its message, when the server names one. */
  firstFailure?: string;
}

export interface NetAuthClient {
  /** Resolves when the secret (its bytes, as pam_exec gave them) is right; rejects with NetAuthError otherwise. */
  authEntity(entity: string, secret: Uint8Array): Promise<void>;
  entityInfo(entity: string): Promise<EntityInfo>;
  /** Direct and indirect group memberships, by name. */
  entityGroups(entity: string): Promise<string[]>;
  /** Whether NetAuth knows the group (GroupInfo); false only for NOT_FOUND. */
  groupExists(name: string): Promise<boolean>;
  ping(): Promise<void>;
  status(): Promise<ServerHealth>;
  close(): void;
}

/**
 * - `unauthenticated`: AuthEntity refused (wrong secret, unknown or locked entity).
 * - `not_found`: no such entity.
 * - `unavailable`: unreachable, deadline passed, TLS failure, server INTERNAL.
 * - `oversized`: a reply over the helper's limits (src/netauth/grpc_client.ts): a broken server, not a verdict.
 * - `refused`: any other status, such as PERMISSION_DENIED.
 */
export type NetAuthErrorKind = "unauthenticated" | "not_found" | "unavailable" | "oversized" | "refused";

export class NetAuthError extends Error {
  constructor(readonly kind: NetAuthErrorKind, message: string) {
    super(message);
    this.name = "NetAuthError";
  }
}
