// A scripted NetAuth v2 server for the faults the real netauthd cannot produce on demand:
// hangs, INTERNAL, foreign certificates, plaintext. It records what reaches it.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { AuthRequest, EntityRequest, GroupRequest, ListOfGroups } from "../src/netauth/messages.ts";

/** Every server starts with these; frozen, so a test changes only its own server's `secrets`. */
export const SECRETS: Readonly<Record<string, string>> = Object.freeze({
  alice: "alice-pw",
  bob: "bob-pw",
  carol: "carol-pw",
  huge: "huge-pw",
  many: "many-pw",
  longname: "longname-pw",
});
/** Secrets that are not UTF-8, as NetAuth's CLI can set them (`erin-\xe9`). */
export const BYTE_SECRETS: Readonly<Record<string, Uint8Array>> = Object.freeze({
  erin: Uint8Array.of(...new TextEncoder().encode("erin-"), 0xe9),
});
export const LOCKED: ReadonlySet<string> = new Set(["carol"]);
/**
 * A broken or hostile server: 600,000 two-letter groups (3.6 MB, under grpc-js's default 4 MB
 * limit), 1025 small ones, one 129-character name.
 */
const BULK: Record<string, () => string[]> = {
  huge: () => Array.from({ length: 600_000 }, (_, i) => `g${i % 10}`),
  many: () => Array.from({ length: 1025 }, (_, i) => `g${i}`),
  longname: () => ["x".repeat(129)],
};
export const GROUPS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  alice: Object.freeze(["ops", "staff"]),
  bob: Object.freeze(["staff"]),
  carol: Object.freeze(["ops"]),
  erin: Object.freeze(["staff"]),
});
/** What GroupInfo knows. */
export const KNOWN_GROUPS: ReadonlySet<string> = new Set(["ops", "staff"]);
// The bulk lists are built once per process, on first use, and only read afterwards.
const bulkGroups: Record<string, readonly string[]> = {};
const bulkGroupsOf = (entity: string) => bulkGroups[entity] ??= BULK[entity]?.() ?? [];
/** Entities whose requests the server never answers, or answers with INTERNAL. */
export const HANG = "hang";
export const BOOM = "boom";

export interface Received {
  method: string;
  entity?: string;
  group?: string;
  /** AuthRequest.Secret as the bytes on the wire. */
  secret?: Uint8Array;
  clientName?: string;
  serviceName?: string;
}

export interface FakeNetAuthServer {
  port: number;
  received: Received[];
  /** This server's entity -> secret, a copy of SECRETS that the test owning the server may change. */
  secrets: Record<string, string>;
  /** This server's entity -> groups, a copy of GROUPS, likewise the owning test's to change. */
  groups: Record<string, readonly string[]>;
  /** Stop answering on `port` (connections refused) without losing state; `resume` reopens it. */
  pause(): void;
  resume(): void;
  /** Accept connections but never answer (a black hole) until `resume`. */
  hang(): void;
  stop(): Promise<void>;
}

// Requests decoded and replies encoded by proto-loader (protobufjs) from proto/, not by the helper's
// codec, so that a codec bug on either side shows as a failed call. keepCase: the .proto's field names.
// AuthRequest.Secret is `bytes` there, so it arrives as the bytes on the wire (a Buffer).
const FROM_PROTO = protoLoader.loadSync("netauth_v2.proto", {
  includeDirs: [new URL("../proto", import.meta.url).pathname],
  keepCase: true,
})["netauth.v2.NetAuth2"] as grpc.ServiceDefinition;
// Encoding 600,000 groups takes a while: done once per reply object, so that tests time the helper.
const encoded = new WeakMap<object, Buffer>();
const cachingReplies = (m: grpc.MethodDefinition<unknown, unknown>) => ({
  ...m,
  responseSerialize(r: unknown) {
    if (!encoded.has(r as object)) encoded.set(r as object, m.responseSerialize(r));
    return encoded.get(r as object)!;
  },
});
const service: grpc.ServiceDefinition = { ...FROM_PROTO, EntityGroups: cachingReplies(FROM_PROTO.EntityGroups) };
const groupReplies = new WeakMap<readonly string[], ListOfGroups>();
function groupReply(groups: readonly string[]) {
  if (!groupReplies.has(groups)) groupReplies.set(groups, { Groups: groups.map((Name) => ({ Name })) });
  return groupReplies.get(groups)!;
}

type Call = grpc.ServerUnaryCall<AuthRequest & EntityRequest & GroupRequest, unknown>;

const encoder = new TextEncoder();
const sameBytes = (a?: Uint8Array, b?: Uint8Array) =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
type Reply = grpc.sendUnaryData<unknown>;

export async function startFakeNetAuth(tls?: { cert: Uint8Array; key: Uint8Array }): Promise<FakeNetAuthServer> {
  const received: Received[] = [];
  const secrets: Record<string, string> = { ...SECRETS };
  const groups: Record<string, readonly string[]> = { ...GROUPS };
  const groupsOf = (entity: string) => groups[entity] ?? bulkGroupsOf(entity);
  const secretOf = (entity: string) =>
    BYTE_SECRETS[entity] ?? (secrets[entity] === undefined ? undefined : encoder.encode(secrets[entity]));
  const server = new grpc.Server();
  const handler =
    (method: string, answer: (entity: string, call: Call, reply: Reply) => void) => (call: Call, reply: Reply) => {
      const entity = call.request.Entity?.ID;
      received.push({
        method,
        entity,
        group: call.request.Group?.Name,
        secret: call.request.Secret?.length ? new Uint8Array(call.request.Secret) : undefined,
        clientName: call.metadata.get("client-name")[0]?.toString(),
        serviceName: call.metadata.get("service-name")[0]?.toString(),
      });
      if (entity === HANG) return; // never answered: the helper's deadline must cut it
      if (entity === BOOM) return reply({ code: grpc.status.INTERNAL, details: "database on fire" });
      answer(entity ?? "", call, reply);
    };
  const notFound = { code: grpc.status.NOT_FOUND, details: "The specified entity does not exist" };
  server.addService(service, {
    AuthEntity: handler("AuthEntity", (entity, call, reply) => {
      const ok = sameBytes(secretOf(entity), call.request.Secret) && !LOCKED.has(entity);
      reply(ok ? null : { code: grpc.status.UNAUTHENTICATED, details: "Authentication failed" }, ok ? {} : undefined);
    }),
    EntityInfo: handler("EntityInfo", (entity, _call, reply) => {
      if (!secretOf(entity)) return reply(notFound);
      reply(null, { Entities: [{ ID: entity, meta: { Locked: LOCKED.has(entity) } }] });
    }),
    EntityGroups: handler("EntityGroups", (entity, _call, reply) => {
      if (!secretOf(entity)) return reply(notFound);
      reply(null, groupReply(groupsOf(entity)));
    }),
    // Like netauthd: NOT_FOUND "The requested resource does not exist" for an unknown group.
    GroupInfo: handler("GroupInfo", (_e, call, reply) => {
      const name = call.request.Group?.Name ?? "";
      if (!KNOWN_GROUPS.has(name)) {
        return reply({ code: grpc.status.NOT_FOUND, details: "The requested resource does not exist" });
      }
      reply(null, { Groups: [{ Name: name }] });
    }),
    SystemPing: handler("SystemPing", (_e, _c, reply) => reply(null, {})),
    SystemStatus: handler("SystemStatus", (_e, _c, reply) => reply(null, { SystemOK: true })),
  });
  const backendPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => err ? reject(err) : resolve(p))
  );
  const front = new Front(backendPort, tls);
  front.listen(0);
  return {
    port: front.port,
    received,
    secrets,
    groups,
    pause: () => front.close(),
    resume() {
      front.hanging = false;
      if (!front.listening) front.listen(front.port);
    },
    hang() {
      front.hanging = true;
    },
    stop() {
      front.close();
      // Forced: calls to HANG are still open and would hold a graceful shutdown forever.
      server.forceShutdown();
      return Promise.resolve();
    },
  };
}

/**
 * The port clients see: a TCP relay to the plaintext gRPC server, with TLS by Deno's own
 * stack when asked (grpc-js's secure server needs node:http2's createSecureServer, which Deno
 * does not serve correctly). Closing it is "NetAuth is down"; listening again on the same
 * port brings it back.
 */
export class Front {
  port = 0;
  hanging = false;
  private listener?: Deno.Listener;
  private readonly conns = new Set<Deno.Conn>();

  constructor(private readonly backendPort: number, private readonly tls?: { cert: Uint8Array; key: Uint8Array }) {}

  listen(port: number): void {
    const decoder = new TextDecoder();
    const listener = this.tls
      ? Deno.listenTls({
        hostname: "127.0.0.1",
        port,
        cert: decoder.decode(this.tls.cert),
        key: decoder.decode(this.tls.key),
        alpnProtocols: ["h2"],
      })
      : Deno.listen({ hostname: "127.0.0.1", port });
    this.listener = listener;
    this.port = listener.addr.port;
    this.accept(listener).catch(() => {});
  }

  get listening(): boolean {
    return this.listener !== undefined;
  }

  close(): void {
    this.listener?.close();
    this.listener = undefined;
    for (const conn of this.conns) this.closeConn(conn);
  }

  private async accept(listener: Deno.Listener): Promise<void> {
    for await (const front of listener) {
      this.conns.add(front);
      if (this.hanging) continue; // held open, never relayed: closed by close() or stop()
      const back = await Deno.connect({ hostname: "127.0.0.1", port: this.backendPort });
      this.conns.add(back);
      // grpc-js writes HEADERS and DATA separately: with Nagle on, the relay would hold each DATA
      // frame until the backend's delayed ACK (~40 ms), and every call would pay it.
      back.setNoDelay(true);
      if ("setNoDelay" in front) (front as Deno.TcpConn).setNoDelay(true); // TLS conns have no such call
      Promise.allSettled([front.readable.pipeTo(back.writable), back.readable.pipeTo(front.writable)])
        .then(() => [front, back].forEach((c) => this.closeConn(c)));
    }
  }

  private closeConn(conn: Deno.Conn): void {
    this.conns.delete(conn);
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}
