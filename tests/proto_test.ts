// Our codec (src/netauth/messages.ts) against proto/*.proto, the record of NetAuth's wire facts:
// the expected bytes are built here from the field numbers the .proto files declare.
import assert from "node:assert/strict";
import { CODECS, NETAUTH2 } from "../src/netauth/messages.ts";

const proto = (name: string) => Deno.readTextFileSync(new URL(`../proto/${name}`, import.meta.url));

/** message -> field -> "type=number", from `optional|repeated TYPE NAME = N;` lines. */
function declaredFields(): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [, name, body] of proto("netauth.proto").matchAll(/^message (\w+) \{([^}]*)\}/gm)) {
    out[name] = {};
    for (const [, , type, field, no] of body.matchAll(/^\s*(optional|repeated) (\w+) (\w+) = (\d+);/gm)) {
      out[name][field] = `${type}=${no}`;
    }
  }
  return out;
}
const PROTO = declaredFields();
const no = (message: string, field: string) => Number(PROTO[message][field].split("=")[1]);

// An independent, minimal encoder for the expectations: one-byte keys and lengths suffice here.
const utf8 = (s: string) => [...new TextEncoder().encode(s)];
const len = (field: number, bytes: number[]) => [field * 8 + 2, bytes.length, ...bytes];
const bool = (field: number, value: boolean) => [field * 8, value ? 1 : 0];
const bytes = (xs: number[]) => Uint8Array.from(xs);

Deno.test("the service: every call we make, with the request and reply types netauth_v2.proto declares", () => {
  const rpcs = [...proto("netauth_v2.proto").matchAll(/rpc (\w+)\(\.(\w+)\) returns \(\.(\w+)\)/g)];
  assert.match(proto("netauth_v2.proto"), /^package netauth\.v2;$/m);
  assert.match(proto("netauth_v2.proto"), /^service NetAuth2 \{/m);
  assert.deepEqual(
    rpcs.map(([, name, req, reply]) => [name, req, reply]),
    Object.entries(NETAUTH2).map(([name, m]) => [
      name,
      Object.entries(CODECS).find(([, c]) => c === m.request)![0],
      Object.entries(CODECS).find(([, c]) => c === m.reply)![0],
    ]),
  );
  assert.equal(NETAUTH2.AuthEntity.path, "/netauth.v2.NetAuth2/AuthEntity");
});

Deno.test("the declared fields this helper relies on (NetAuth's string Secret is bytes here: same wire type)", () => {
  assert.deepEqual(PROTO.AuthRequest, { Entity: "Entity=1", Secret: "bytes=2", Token: "string=98" });
  assert.equal(PROTO.Entity.ID, "string=1");
  assert.equal(PROTO.Entity.meta, "EntityMeta=4");
  assert.equal(PROTO.EntityMeta.Locked, "bool=9");
  assert.equal(PROTO.Group.Name, "string=1");
  assert.equal(PROTO.ListOfGroups.Groups, "Group=1");
  assert.equal(PROTO.ListOfEntities.Entities, "Entity=1");
  assert.deepEqual(PROTO.ServerStatus, {
    SystemOK: "bool=1",
    FirstFailure: "SubSystemStatus=2",
    SubSystems: "SubSystemStatus=3",
  });
});

Deno.test("AuthRequest: the entity and the secret's exact bytes (not UTF-8) at the declared numbers", () => {
  const secret = [0x70, 0x77, 0xe9, 0x00];
  const expected = [
    ...len(no("AuthRequest", "Entity"), len(no("Entity", "ID"), utf8("alice"))),
    ...len(no("AuthRequest", "Secret"), secret),
  ];
  const wire = CODECS.AuthRequest.encode({ Entity: { ID: "alice" }, Secret: bytes(secret) });
  assert.deepEqual([...wire], expected);
  assert.deepEqual(CODECS.AuthRequest.decode(wire), { Entity: { ID: "alice" }, Secret: bytes(secret) });
});

Deno.test("EntityRequest, GroupRequest and Empty encode as declared", () => {
  assert.deepEqual(
    [...CODECS.EntityRequest.encode({ Entity: { ID: "bob" } })],
    len(no("EntityRequest", "Entity"), len(no("Entity", "ID"), utf8("bob"))),
  );
  assert.deepEqual(
    [...CODECS.GroupRequest.encode({ Group: { Name: "ops" } })],
    len(no("GroupRequest", "Group"), len(no("Group", "Name"), utf8("ops"))),
  );
  assert.equal(CODECS.Empty.encode({}).length, 0);
});

Deno.test("replies decode from netauthd's bytes, skipping fields we never read", () => {
  // An Entity with Number = 7 (varint), a secret string, and meta { GECOS, Locked = true, Groups }.
  const meta = [...len(no("EntityMeta", "GECOS"), utf8("Alice")), ...bool(no("EntityMeta", "Locked"), true)];
  const groups250 = [0xd2, 0x0f, 3, ...utf8("ops")]; // field 250, wire type 2: a two-byte key
  const entity = [
    ...len(no("Entity", "ID"), utf8("alice")),
    no("Entity", "Number") * 8,
    7,
    ...len(no("Entity", "meta"), [...meta, ...groups250]),
  ];
  const fixed = [0x2d, 1, 2, 3, 4, 0x31, 1, 2, 3, 4, 5, 6, 7, 8]; // fields 5 (fixed32) and 6 (fixed64): skipped
  assert.deepEqual(
    CODECS.ListOfEntities.decode(bytes([...len(no("ListOfEntities", "Entities"), entity)])),
    { Entities: [{ ID: "alice", meta: { Locked: true } }] },
  );
  assert.deepEqual(CODECS.Entity.decode(bytes([...fixed, ...len(1, utf8("x"))])), { ID: "x" });
  const groups = [...len(1, len(1, utf8("ops"))), ...len(1, [...len(1, utf8("staff")), 0x18, 0x96, 0x01])];
  assert.deepEqual(CODECS.ListOfGroups.decode(bytes(groups)), { Groups: [{ Name: "ops" }, { Name: "staff" }] });
  const status = [...bool(1, false), ...len(2, [...len(1, utf8("db")), ...bool(2, false), ...len(3, utf8("down"))])];
  assert.deepEqual(CODECS.ServerStatus.decode(bytes(status)), {
    SystemOK: false,
    FirstFailure: { Name: "db", OK: false, FaultMessage: "down" },
  });
});

Deno.test("a meta sent twice merges as protobuf merges it: a later empty one does not unlock", () => {
  const locked = len(no("Entity", "meta"), bool(no("EntityMeta", "Locked"), true));
  const empty = len(no("Entity", "meta"), []);
  const id = len(no("Entity", "ID"), utf8("carol"));
  assert.deepEqual(CODECS.Entity.decode(bytes([...id, ...locked, ...empty])), { ID: "carol", meta: { Locked: true } });
});

Deno.test("every codec round-trips what it encodes", () => {
  const samples: { [K in keyof typeof CODECS]: Parameters<typeof CODECS[K]["encode"]>[0] } = {
    Empty: {},
    EntityMeta: { Locked: false },
    Entity: { ID: "ünïcode", meta: { Locked: true } },
    Group: { Name: "g".repeat(300) }, // a two-byte length
    AuthRequest: { Entity: { ID: "e" }, Secret: bytes([1, 2, 3]) },
    EntityRequest: { Entity: { ID: "e" } },
    GroupRequest: { Group: { Name: "n" } },
    ListOfEntities: { Entities: [{ ID: "a" }, { ID: "b", meta: {} }] },
    ListOfGroups: { Groups: [{ Name: "a" }, {}] },
    SubSystemStatus: { Name: "n", OK: true, FaultMessage: "" },
    ServerStatus: { SystemOK: true, FirstFailure: { Name: "x" } },
  };
  for (const [name, value] of Object.entries(samples)) {
    const codec = CODECS[name as keyof typeof CODECS] as {
      encode(v: unknown): Uint8Array;
      decode(b: Uint8Array): unknown;
    };
    assert.deepEqual(codec.decode(codec.encode(value)), value, name);
  }
});

Deno.test("malformed replies are errors, never a partial value", () => {
  const bad: [string, number[]][] = [
    ["truncated varint", [0x08, 0x80]],
    ["length past the end", [0x0a, 0x05, 0x61]],
    ["field number 0", [0x02, 0x00]],
    ["group wire type", [0x0b]],
    ["varint where bytes belong", [0x08, 0x01]],
    ["over-long varint", [0x08, ...Array(10).fill(0xff), 0x01]],
  ];
  for (const [what, wire] of bad) {
    assert.throws(() => CODECS.ListOfGroups.decode(bytes(wire)), Error, what);
  }
});
