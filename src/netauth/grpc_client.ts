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
import { Semaphore } from "../semaphore.ts";
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
  /** A PEM root certificate (ignored with tls.pwn_me, and while a given `channel` is usable). */
  rootCertificate?: Uint8Array;
  /** A warm channel (the broker's, from openSharedChannel) to call on; the client's close() leaves it open. */
  channel?: SharedChannel;
}

/**
 * A channel kept open across runs (the broker's): every run's client calls on it. It connects at once
 * and again whenever it falls idle (the server closed it, or it timed out); after a failure grpc-js
 * reconnects by itself, backing off.
 */
export interface SharedChannel {
  /** Ends the channel. */
  close(): void;
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
 * Calls in flight at once on a shared channel (HTTP/2 streams on its one connection); the others wait in line
 * until their deadline. A server that closes a connection (GOAWAY) with hundreds of streams open on it, in a login
 * storm, is what once aborted the runtime's HTTP/2 layer in the broker; its logins are also bounded
 * (broker/limits.ts MAX_DECIDING, one call at a time each), so this is the channel's own guarantee.
 */
export const MAX_CALLS_PER_CHANNEL = 32;
/** grpc-js's words for a stream the server closed unprocessed (REFUSED_STREAM, as after a GOAWAY): safe to send again. */
const REFUSED = "Stream refused by server";

/** The grpc-js channel behind each shared channel, kept here so that no caller handles grpc-js itself. */
const sharedClients = new WeakMap<SharedChannel, Opened>();

/** A channel for many runs; `options` adds grpc-js channel options (the broker's keepalive and backoff). */
export function openSharedChannel(
  config: Config,
  rootCertificate?: Uint8Array,
  options: Record<string, number> = {},
): SharedChannel {
  const opened = { ...openChannel(config, rootCertificate, options), calls: new Semaphore(MAX_CALLS_PER_CHANNEL) };
  const { client } = opened;
  const channel = client.getChannel();
  let closed = false;
  // getConnectivityState(true) connects an idle channel; each change of state is watched for the next.
  const keepWarm = () => {
    if (closed) return;
    const state = channel.getConnectivityState(true);
    if (state !== grpc.connectivityState.SHUTDOWN) {
      channel.watchConnectivityState(state, Date.now() + 3_600_000, keepWarm);
    }
  };
  keepWarm();
  const shared = {
    close: () => {
      closed = true;
      client.close();
    },
  };
  sharedClients.set(shared, opened);
  return shared;
}

/** A grpc-js channel, and what its connections reached (for the failure's wording). */
interface Opened {
  client: grpc.Client;
  trace: ConnectionTrace;
  /** A shared channel's bound on calls at once (MAX_CALLS_PER_CHANNEL); a run's own channel has none. */
  calls?: Semaphore;
}

function openChannel(config: Config, rootCertificate?: Uint8Array, options: grpc.ChannelOptions = {}): Opened {
  registerHostResolver();
  guardStatus();
  const credentials = config.pwnMe
    ? grpc.credentials.createInsecure()
    : grpc.credentials.createSsl(rootCertificate ? Buffer.from(rootCertificate) : null);
  const trace: ConnectionTrace = { phase: "connect" };
  traceConnections(credentials, trace);
  const client = new grpc.Client(targetFor(config.server, config.port), credentials, {
    // Proxy variables come from the user-steerable PAM environment: never consult them.
    "grpc.enable_http_proxy": 0,
    "grpc.enable_retries": 0,
    "grpc.max_receive_message_length": MAX_REPLY_BYTES,
    ...options,
  });
  return { client, trace };
}

/**
 * The NetAuth client for one run: one HTTP/2 channel to the configured server (or the broker's warm one),
 * every call bounded by `context.deadline` and every reply by size. Nothing is sent until the first call;
 * `close()` ends the channel unless it was given.
 */
export function connectNetAuth(config: Config, context: ClientContext): NetAuthClient {
  const shared = context.channel && sharedClients.get(context.channel);
  // A shared channel between reconnect attempts (after an outage) would fail every call at once until its backoff
  // ends, though NetAuth may be back: such a run connects afresh, as a run without a broker does.
  const usable = shared?.client.getChannel().getConnectivityState(false) !== grpc.connectivityState.TRANSIENT_FAILURE;
  const opened = shared && usable ? shared : openChannel(config, context.rootCertificate);
  const { client, trace } = opened;
  const metadata = new grpc.Metadata();
  // Metadata values must be printable ASCII (grpc-js throws otherwise); PAM_SERVICE is the caller's.
  metadata.set("client-name", asciiOnly(config.clientId));
  metadata.set("service-name", asciiOnly(context.service));

  const where: FailureContext = {
    certificate: config.certificate,
    server: config.server,
    address: netPermission(config.server, config.port),
  };
  const attempt = <Req, Reply>(method: Method<Req, Reply>, request: Req, name: string, retried: boolean) =>
    new Promise<Reply>((resolve, reject) => {
      const started = performance.now();
      client.makeUnaryRequest<Req, Reply>(
        method.path,
        (value) => toBuffer(method.request.encode(value)),
        (bytes) => method.reply.decode(bytes),
        request,
        metadata,
        { deadline: new Date(context.deadline) },
        (err, value) => {
          const seconds = (performance.now() - started) / 1000;
          // Refused unprocessed (the server closed the connection with a GOAWAY): once more, on a new connection.
          if (err?.details === REFUSED && !retried && Date.now() < context.deadline) {
            attempt(method, request, name, true).then(resolve, reject);
          } else if (err) reject(toNetAuthError(err, name, where, { ...trace, seconds }));
          else resolve(value!);
        },
      );
    });
  const call = async <Req, Reply>(method: Method<Req, Reply>, request: Req): Promise<Reply> => {
    const name = method.path.slice(method.path.lastIndexOf("/") + 1);
    if (!opened.calls) return await attempt(method, request, name, false);
    const release = await opened.calls.acquire(context.deadline);
    if (!release) {
      throw new NetAuthError("unavailable", `${name} found no free stream on the warm channel before the deadline`, {
        phase: "rpc",
        unanswered: true,
        tlsRejected: false,
      });
    }
    try {
      return await attempt(method, request, name, false);
    } finally {
      release();
    }
  };

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
      if (opened !== shared) client.close();
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
