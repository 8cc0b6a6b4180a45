/**
 * The NetAuth v2 calls this helper makes, with typed request and reply shapes, and their codec.
 * Field names and numbers are proto/'s: tests/netauth/messages_test.ts holds the codec to protobufjs
 * compiled from proto/ (test-only), tests/proto_test.ts to its declared numbers. Fields we never read are skipped.
 *
 * @module
 */
import { boolOf, bytesOf, type Field, fields, readString, Writer } from "./wire.ts";

/** NetAuth's EntityMeta: only the lock is read. */
export interface EntityMeta {
  /** Field 9: the entity may not log in. */
  Locked?: boolean;
}
/** NetAuth's Entity: the fields the helper sends or reads. */
export interface Entity {
  /** Field 1: the entity ID (PAM_USER). */
  ID?: string;
  /** Field 4. */
  meta?: EntityMeta;
}
/** NetAuth's Group: its name only. */
export interface Group {
  /** Field 1. */
  Name?: string;
}
/** AuthEntity's request: the entity and its password. */
export interface AuthRequest {
  /** Field 1. */
  Entity?: Entity;
  /** NetAuth declares `string`; sent as the bytes pam_exec gave (docs/design.md, "NetAuth wire facts"). */
  Secret?: Uint8Array;
}
/** EntityInfo's and EntityGroups' request. */
export interface EntityRequest {
  /** Field 1: the entity, by ID. */
  Entity?: Entity;
}
/** GroupInfo's request. */
export interface GroupRequest {
  /** Field 1: the group, by name. */
  Group?: Group;
}
/** EntityInfo's reply. */
export interface ListOfEntities {
  /** Field 1, repeated. */
  Entities: Entity[];
}
/** EntityGroups' and GroupInfo's reply. */
export interface ListOfGroups {
  /** Field 1, repeated. */
  Groups: Group[];
}
/** One subsystem in SystemStatus's reply. */
export interface SubSystemStatus {
  /** Field 1. */
  Name?: string;
  /** Field 2. */
  OK?: boolean;
  /** Field 3: why it is not OK. */
  FaultMessage?: string;
}
/** SystemStatus's reply. */
export interface ServerStatus {
  /** Field 1: every subsystem OK. */
  SystemOK?: boolean;
  /** Field 2. */
  FirstFailure?: SubSystemStatus;
}
/** The empty message (AuthEntity's reply, SystemPing's both ways). */
export type Empty = Record<never, never>;

/** One message's encoder and decoder; decoding skips fields the helper never reads. */
export interface Codec<T> {
  /** The message's wire bytes. */
  encode(value: T): Uint8Array;
  /** The message the bytes hold; throws on malformed bytes. */
  decode(bytes: Uint8Array): T;
}

/** Folds each field of `bytes` into a fresh value. */
function decodeWith<T>(bytes: Uint8Array, init: () => T, read: (value: T, f: Field) => void): T {
  const value = init();
  for (const f of fields(bytes)) read(value, f);
  return value;
}

const empty: Codec<Empty> = {
  encode: () => new Uint8Array(0),
  decode: (bytes) => decodeWith(bytes, () => ({}), () => {}),
};

const entityMeta: Codec<EntityMeta> = {
  encode: (m) => new Writer().bool(9, m.Locked).finish(),
  decode: (bytes) => decodeWith<EntityMeta>(bytes, () => ({}), (m, f) => f.no === 9 && (m.Locked = boolOf(f))),
};

const entity: Codec<Entity> = {
  encode: (e) => new Writer().string(1, e.ID).message(4, e.meta && entityMeta.encode(e.meta)).finish(),
  decode: (bytes) =>
    decodeWith<Entity>(bytes, () => ({}), (e, f) => {
      if (f.no === 1) e.ID = readString(f);
      // A repeated sub-message merges (protobuf's rule): a later empty meta cannot unset Locked.
      else if (f.no === 4) e.meta = { ...e.meta, ...entityMeta.decode(bytesOf(f)) };
    }),
};

const group: Codec<Group> = {
  encode: (g) => new Writer().string(1, g.Name).finish(),
  decode: (bytes) => decodeWith<Group>(bytes, () => ({}), (g, f) => f.no === 1 && (g.Name = readString(f))),
};

const authRequest: Codec<AuthRequest> = {
  encode(r) {
    const w = new Writer().message(1, r.Entity && entity.encode(r.Entity));
    if (r.Secret) w.bytes(2, r.Secret);
    const out = w.finish();
    w.wipe();
    return out;
  },
  decode: (bytes) =>
    decodeWith<AuthRequest>(bytes, () => ({}), (r, f) => {
      if (f.no === 1) r.Entity = entity.decode(bytesOf(f));
      else if (f.no === 2) r.Secret = bytesOf(f).slice();
    }),
};

const entityRequest: Codec<EntityRequest> = {
  encode: (r) => new Writer().message(1, r.Entity && entity.encode(r.Entity)).finish(),
  decode: (bytes) =>
    decodeWith<EntityRequest>(bytes, () => ({}), (r, f) => f.no === 1 && (r.Entity = entity.decode(bytesOf(f)))),
};

const groupRequest: Codec<GroupRequest> = {
  encode: (r) => new Writer().message(1, r.Group && group.encode(r.Group)).finish(),
  decode: (bytes) =>
    decodeWith<GroupRequest>(bytes, () => ({}), (r, f) => f.no === 1 && (r.Group = group.decode(bytesOf(f)))),
};

/** A message whose one field (1) repeats `item`, under `key`: ListOfEntities, ListOfGroups. */
function listOf<K extends string, T>(key: K, item: Codec<T>): Codec<Record<K, T[]>> {
  return {
    encode(list) {
      const w = new Writer();
      for (const value of list[key]) w.message(1, item.encode(value));
      return w.finish();
    },
    decode: (bytes) =>
      decodeWith(bytes, () => ({ [key]: [] }) as unknown as Record<K, T[]>, (list, f) => {
        if (f.no === 1) list[key].push(item.decode(bytesOf(f)));
      }),
  };
}

const listOfEntities: Codec<ListOfEntities> = listOf("Entities", entity);
const listOfGroups: Codec<ListOfGroups> = listOf("Groups", group);

const subSystemStatus: Codec<SubSystemStatus> = {
  encode: (s) => new Writer().string(1, s.Name).bool(2, s.OK).string(3, s.FaultMessage).finish(),
  decode: (bytes) =>
    decodeWith<SubSystemStatus>(bytes, () => ({}), (s, f) => {
      if (f.no === 1) s.Name = readString(f);
      else if (f.no === 2) s.OK = boolOf(f);
      else if (f.no === 3) s.FaultMessage = readString(f);
    }),
};

const serverStatus: Codec<ServerStatus> = {
  encode: (s) =>
    new Writer().bool(1, s.SystemOK).message(2, s.FirstFailure && subSystemStatus.encode(s.FirstFailure)).finish(),
  decode: (bytes) =>
    decodeWith<ServerStatus>(bytes, () => ({}), (s, f) => {
      if (f.no === 1) s.SystemOK = boolOf(f);
      else if (f.no === 2) s.FirstFailure = subSystemStatus.decode(bytesOf(f));
    }),
};

/** One gRPC method: where to call it and how its messages travel. */
export interface Method<Req, Reply> {
  /** The HTTP/2 path: `/netauth.v2.NetAuth2/NAME`. */
  path: string;
  /** The request's codec. */
  request: Codec<Req>;
  /** The reply's codec. */
  reply: Codec<Reply>;
}

const method = <Req, Reply>(name: string, request: Codec<Req>, reply: Codec<Reply>): Method<Req, Reply> => ({
  path: `/netauth.v2.NetAuth2/${name}`,
  request,
  reply,
});

/** Every call the helper makes, as netauth_v2.proto declares it. */
export const NETAUTH2 = {
  AuthEntity: method("AuthEntity", authRequest, empty),
  EntityInfo: method("EntityInfo", entityRequest, listOfEntities),
  EntityGroups: method("EntityGroups", entityRequest, listOfGroups),
  GroupInfo: method("GroupInfo", groupRequest, listOfGroups),
  SystemPing: method("SystemPing", empty, empty),
  SystemStatus: method("SystemStatus", empty, serverStatus),
};

/** The message codecs by the .proto's names, for the tests that hold them to proto/netauth.proto. */
export const CODECS = {
  Empty: empty,
  EntityMeta: entityMeta,
  Entity: entity,
  Group: group,
  AuthRequest: authRequest,
  EntityRequest: entityRequest,
  GroupRequest: groupRequest,
  ListOfEntities: listOfEntities,
  ListOfGroups: listOfGroups,
  SubSystemStatus: subSystemStatus,
  ServerStatus: serverStatus,
};
