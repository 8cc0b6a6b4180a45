/**
 * The NetAuth v2 client over @grpc/grpc-js. Loaded only once a request has passed every
 * local check, so bad input never pays for gRPC's start-up. Messages go through our own codec
 * (messages.ts) and grpc-js's generic unary call: no schema is compiled at run time.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import type { Config } from "../config.ts";
import { asciiOnly } from "../log.ts";
import { netPermission } from "../sandbox.ts";
import { type EntityInfo, type NetAuthClient, NetAuthError, type ServerHealth } from "./client.ts";
import { type ConnectionTrace, traceConnections } from "./connection_trace.ts";
import type { FailureContext } from "./failure_text.ts";
import { registerHostResolver, targetFor } from "./host_resolver.ts";
import { type Entity, type Method, NETAUTH2 } from "./messages.ts";
import { guardStatus, toNetAuthError } from "./reply_checks.ts";

/** What one run adds to the config for its calls. */
export interface ClientContext {
  /** The PAM service, sent as `service-name` metadata. */
  service: string;
  /** Absolute end of the whole run (ms since epoch); every call shares it. */
  deadline: number;
  /** A PEM root certificate (ignored with tls.pwn_me). */
  rootCertificate?: Uint8Array;
}

/**
 * Replies are bounded: NetAuth sends whole Entity and Group messages (SSH keys, metadata), so
 * 512 KiB leaves room for 1024 groups with half a KiB each. grpc-js refuses a longer message from
 * its length prefix, before buffering it; its own default is 4 MiB.
 */
const MAX_REPLY_BYTES = 512 * 1024;
/** Groups kept from EntityGroups, and the longest name. A reply over a limit is an error, never silently cut. */
const MAX_GROUPS = 1024;
const MAX_GROUP_NAME = 128;

// grpc-js frames what serialize returns with Buffer methods; ours is a view of the same bytes.
const toBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);

/**
 * The NetAuth client for one run: one HTTP/2 channel to the configured server, every call bounded by
 * `context.deadline` and every reply by size. Nothing is sent until the first call; `close()` ends the channel.
 */
export function connectNetAuth(config: Config, context: ClientContext): NetAuthClient {
  registerHostResolver();
  guardStatus();
  const credentials = config.pwnMe
    ? grpc.credentials.createInsecure()
    : grpc.credentials.createSsl(context.rootCertificate ? Buffer.from(context.rootCertificate) : null);
  const trace: ConnectionTrace = { phase: "connect" };
  traceConnections(credentials, trace);
  const client = new grpc.Client(targetFor(config.server, config.port), credentials, {
    // Proxy variables come from the user-steerable PAM environment: never consult them.
    "grpc.enable_http_proxy": 0,
    "grpc.enable_retries": 0,
    "grpc.max_receive_message_length": MAX_REPLY_BYTES,
  });
  const metadata = new grpc.Metadata();
  // Metadata values must be printable ASCII (grpc-js throws otherwise); PAM_SERVICE is the caller's.
  metadata.set("client-name", asciiOnly(config.clientId));
  metadata.set("service-name", asciiOnly(context.service));

  const where: FailureContext = {
    certificate: config.certificate,
    server: config.server,
    address: netPermission(config.server, config.port),
  };
  const call = <Req, Reply>(method: Method<Req, Reply>, request: Req): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const name = method.path.slice(method.path.lastIndexOf("/") + 1);
      client.makeUnaryRequest<Req, Reply>(
        method.path,
        (value) => toBuffer(method.request.encode(value)),
        (bytes) => method.reply.decode(bytes),
        request,
        metadata,
        { deadline: new Date(context.deadline) },
        (err, value) => {
          const seconds = (performance.now() - started) / 1000;
          if (err) reject(toNetAuthError(err, name, where, { ...trace, seconds }));
          else resolve(value!);
        },
      );
    });

  return {
    async authEntity(entity, secret) {
      // Secret is `bytes` in proto/netauth.proto: the bytes go out as they are, UTF-8 or not.
      // The codec wipes its working buffer; grpc-js copies the message into frames it owns.
      await call(NETAUTH2.AuthEntity, { Entity: { ID: entity }, Secret: secret });
    },
    async entityInfo(entity): Promise<EntityInfo> {
      const reply = await call(NETAUTH2.EntityInfo, { Entity: { ID: entity } });
      const found = theEntity(reply.Entities, entity);
      return { id: entity, locked: found.meta?.Locked === true };
    },
    async entityGroups(entity) {
      const reply = await call(NETAUTH2.EntityGroups, { Entity: { ID: entity } });
      const names = reply.Groups.map((g) => g.Name ?? "");
      const over = (what: string, limit: number) =>
        new NetAuthError("oversized", `EntityGroups sent ${what}, over the limit of ${limit}`);
      if (names.length > MAX_GROUPS) throw over(`${names.length} groups`, MAX_GROUPS);
      const long = names.find((name) => name.length > MAX_GROUP_NAME);
      if (long !== undefined) throw over(`a group name of ${long.length} characters`, MAX_GROUP_NAME);
      // ListOfGroups names no entity, so a reply can only be held to the shape of a group name.
      if (names.some((name) => name === "" || name.includes("\ufffd"))) {
        throw new NetAuthError("bad_reply", "EntityGroups sent a group without a name, or one that is not UTF-8");
      }
      return names;
    },
    async groupExists(name) {
      try {
        await call(NETAUTH2.GroupInfo, { Group: { Name: name } });
        return true;
      } catch (err) {
        if (err instanceof NetAuthError && err.kind === "not_found") return false;
        throw err;
      }
    },
    async ping() {
      await call(NETAUTH2.SystemPing, {});
    },
    async status(): Promise<ServerHealth> {
      const reply = await call(NETAUTH2.SystemStatus, {});
      const failure = reply.FirstFailure?.Name
        ? `${reply.FirstFailure.Name}: ${reply.FirstFailure.FaultMessage ?? ""}`
        : undefined;
      return { ok: reply.SystemOK === true, firstFailure: failure };
    },
    close() {
      client.close();
    },
  };
}

/** The one entity an EntityInfo reply must hold: the one asked for, never a stand-in. */
function theEntity(entities: Entity[], requested: string): Entity {
  const names = entities.map((e) => JSON.stringify(e.ID ?? ""));
  if (entities.length !== 1 || entities[0].ID !== requested) {
    const sent = names.length === 0 ? "no entity" : names.join(", ");
    throw new NetAuthError("bad_reply", `EntityInfo for ${JSON.stringify(requested)} named ${sent}`);
  }
  return entities[0];
}
