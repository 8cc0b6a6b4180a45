// The one NetAuth stand-in for unit tests: the real server's verdicts over a directory the test
// owns (and may change between calls: every call reads it afresh), recording each call.
import { type NetAuthClient, NetAuthError, type NetAuthErrorKind, type ServerHealth } from "../src/netauth/client.ts";

export interface FakeDirectory {
  /** Entity ID -> secret. */
  secrets: Record<string, string>;
  locked?: string[];
  /** Entity ID -> its groups (direct and indirect). */
  groups?: Record<string, string[]>;
  /** Group names GroupInfo knows; every name when absent. */
  knownGroups?: string[];
  /** Every call fails with this kind (`unavailable`: NetAuth is down). */
  failWith?: NetAuthErrorKind;
  /** The failure's text; "scripted failure" when absent. */
  failure?: string;
  /** What SystemStatus says; `{ ok: true }` when absent. */
  health?: ServerHealth;
}

export interface FakeNetAuth extends NetAuthClient {
  /** Each call as `auth alice`, `info alice`, `groups alice`, `group-info ops`, `ping`, `status`, `close`. */
  calls: string[];
  /** The secret buffers AuthEntity got, as given (a caller that zeroes them afterwards shows here). */
  secrets: Uint8Array[];
}

export function fakeNetAuth(dir: FakeDirectory): FakeNetAuth {
  const calls: string[] = [];
  const secrets: Uint8Array[] = [];
  const guard = (call: string) => {
    calls.push(call);
    if (dir.failWith) throw new NetAuthError(dir.failWith, dir.failure ?? "scripted failure");
  };
  const known = (entity: string) => {
    if (!(entity in dir.secrets)) throw new NetAuthError("not_found", "no such entity");
  };
  const isLocked = (entity: string) => dir.locked?.includes(entity) ?? false;
  /** Runs `fn` now; what it throws arrives as a rejection, as from the gRPC client. */
  const answer = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  };
  return {
    calls,
    secrets,
    authEntity: (entity, secret) =>
      answer(() => {
        guard(`auth ${entity}`);
        secrets.push(secret);
        const right = dir.secrets[entity] === new TextDecoder().decode(secret);
        if (!right || isLocked(entity)) throw new NetAuthError("unauthenticated", "Authentication failed");
      }),
    entityInfo: (entity) =>
      answer(() => {
        guard(`info ${entity}`);
        known(entity);
        return { id: entity, locked: isLocked(entity) };
      }),
    entityGroups: (entity) =>
      answer(() => {
        guard(`groups ${entity}`);
        known(entity);
        return dir.groups?.[entity] ?? [];
      }),
    groupExists: (name) =>
      answer(() => {
        guard(`group-info ${name}`);
        return dir.knownGroups?.includes(name) ?? true;
      }),
    ping: () => answer(() => guard("ping")),
    status: () =>
      answer(() => {
        guard("status");
        return dir.health ?? { ok: true };
      }),
    close() {
      calls.push("close");
    },
  };
}
