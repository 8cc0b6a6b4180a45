// The helper's hand-written codec (src/netauth/messages.ts) against protobufjs, an independent
// implementation compiled from proto/: seeded random and edge-case messages must encode to the same
// bytes through both and decode to the same values. Where protobufjs itself departs from the
// protobuf spec, the last tests pin the spec's answer instead (see PROTOBUFJS_DEVIATIONS).
import assert from "node:assert/strict";
import protobuf from "protobufjs";
import { CODECS, NETAUTH2 } from "../../src/netauth/messages.ts";

const root = new protobuf.Root();
for (const file of ["netauth.proto", "netauth_v2.proto"]) {
  protobuf.parse(Deno.readTextFileSync(new URL(`../../proto/${file}`, import.meta.url)), root, { keepCase: true });
}
root.resolveAll();

type Name = keyof typeof CODECS;
type Value = Record<string, unknown>;
const codec = (name: Name) => CODECS[name] as { encode(v: Value): Uint8Array; decode(b: Uint8Array): Value };
const typeOf = (name: string) => root.lookupType(name);

/** The fields messages.ts's types carry: what the helper sends and reads. Every other field is skipped. */
const READS: Record<Name, string[]> = {
  Empty: [],
  EntityMeta: ["Locked"],
  Entity: ["ID", "meta"],
  Group: ["Name"],
  AuthRequest: ["Entity", "Secret"],
  EntityRequest: ["Entity"],
  GroupRequest: ["Group"],
  ListOfEntities: ["Entities"],
  ListOfGroups: ["Groups"],
  SubSystemStatus: ["Name", "OK", "FaultMessage"],
  ServerStatus: ["SystemOK", "FirstFailure"],
};

/**
 * Where protobufjs 7.6.6 departs from the protobuf encoding spec (and from NetAuth's Go server).
 * The helper follows the spec; each has its own test below, and the random cases avoid them.
 */
const PROTOBUFJS_DEVIATIONS = {
  merge: "a sub-message field sent twice: protobufjs keeps the last, the spec merges them",
  bool: "a bool varint is read as its low 32 bits, so 2^32 reads false; the spec says any non-zero is true",
  surrogate: "a lone UTF-16 surrogate is written as 3 raw bytes (not UTF-8); TextEncoder writes U+FFFD",
  plainReader: "a plain Uint8Array is decoded without U+FFFD; grpc-js passes a Buffer, read like TextDecoder",
};

// mulberry32: a small seeded generator, so a failure names a case that reproduces.
const SEED = 0x17c0dec;
function random(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)] };
}
type Random = ReturnType<typeof random>;

// Well-formed strings only (PROTOBUFJS_DEVIATIONS.surrogate): ASCII, 2-, 3- and 4-byte UTF-8, NUL.
const CHARS = ["a", "Z", "0", " ", "\0", "é", "ß", "€", "中", "😀", "\u{10ffff}", "\ufffd"];
function randomString(r: Random): string {
  const length = r.pick([0, 1, 5, 20, 130, 300]); // 130 and 300 chars: two-byte lengths
  return Array.from({ length }, () => r.pick(CHARS)).join("");
}
const randomBytes = (r: Random) => Uint8Array.from({ length: r.pick([0, 1, 4, 40, 200]) }, () => r.int(256));
/** Bytes that are mostly not UTF-8: lone continuation bytes, truncated and over-long sequences. */
const notUtf8 = (r: Random) =>
  Uint8Array.from(
    Array.from({ length: 1 + r.int(6) }, () =>
      r.pick([[0x80], [0xe9], [0xc3], [0xe2, 0x82], [0xc0, 0xaf], [0xff], [0x61]]))
      .flat(),
  );
const INT32S = [0, 1, 127, 128, 300, 2 ** 31 - 1, -1, -(2 ** 31)]; // negatives are 10-byte varints

function randomScalar(r: Random, type: string): unknown {
  if (type === "string") return randomString(r);
  if (type === "bool") return r.next() < 0.5;
  if (type === "bytes") return randomBytes(r);
  if (type === "int32") return r.pick(INT32S);
  throw new Error(`no generator for ${type}`);
}

/** A message of `type` as protobufjs's object form; `only` limits it to the helper's fields. */
function randomMessage(r: Random, type: protobuf.Type, only: boolean): Value {
  const out: Value = {};
  for (const f of type.fieldsArray) {
    if (only && !(READS[type.name as Name] ?? []).includes(f.name)) continue;
    if (f.optional && !f.repeated && r.next() < 0.3) continue; // absent optional
    const one = () =>
      f.resolvedType instanceof protobuf.Type ? randomMessage(r, f.resolvedType, only) : randomScalar(r, f.type);
    out[f.name] = f.repeated ? Array.from({ length: r.int(4) }, one) : one();
  }
  return out;
}

/** protobufjs's decoded value, cut to the fields the helper reads, in the helper's shapes. */
function project(type: protobuf.Type, value: Value): Value {
  const out: Value = {};
  for (const name of READS[type.name as Name]) {
    const f = type.fields[name];
    const one = (v: unknown) =>
      f.resolvedType instanceof protobuf.Type
        ? project(f.resolvedType, v as Value)
        : v instanceof Uint8Array
        ? new Uint8Array(v) // a Buffer, as a plain Uint8Array like the helper's
        : v;
    if (f.repeated) out[name] = (value[name] as unknown[]).map(one);
    else if (value[name] !== undefined) out[name] = one(value[name]);
  }
  return out;
}

const theirDecode = (type: protobuf.Type, bytes: Uint8Array) =>
  project(type, type.toObject(type.decode(Buffer.from(bytes)), { arrays: true }));
const theirEncode = (type: protobuf.Type, value: Value) => new Uint8Array(type.encode(type.fromObject(value)).finish()); // a Buffer, as a plain Uint8Array

/** One scalar field by protobufjs's writer, whatever else its message requires. */
function scalarField(f: protobuf.Field, value: unknown): Uint8Array {
  const w = protobuf.Writer.create().uint32(f.id * 8 + protobuf.types.basic[f.type as "string"]);
  return (w as unknown as Record<string, (v: unknown) => protobuf.Writer>)[f.type](value).finish();
}
const key = (no: number, wire: number) => protobuf.Writer.create().uint32(no * 8 + wire).finish();
function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}
const lenField = (no: number, payload: Uint8Array) =>
  protobuf.Writer.create().uint32(no * 8 + 2).bytes(payload).finish();

/** Fields proto/ does not declare, one per wire type, with 10-byte varints among them. */
function unknownField(r: Random): Uint8Array {
  const no = r.pick([15, 99, 1000, 536_870_911]); // 536870911: the largest field number
  const w = protobuf.Writer.create();
  switch (r.int(4)) {
    case 0:
      return w.uint32(no * 8).uint64(r.pick([0, 1, 2 ** 32, Number.MAX_SAFE_INTEGER])).finish();
    case 1:
      return cat(key(no, 0), Uint8Array.of(...Array(9).fill(0xff), 0x01)); // 2^64 - 1
    case 2:
      return w.uint32(no * 8 + 1).fixed64(r.int(2 ** 31)).uint32(no * 8 + 5).fixed32(r.int(2 ** 31)).finish();
    default:
      return lenField(no, randomBytes(r));
  }
}

/**
 * `value` encoded field by field: sub-messages the same way, unknown fields mixed in, string fields
 * sometimes not UTF-8, and the fields shuffled (a repeated field's items keep their order).
 */
function scrambled(r: Random, type: protobuf.Type, value: Value): Uint8Array {
  const parts: { no: number; bytes: Uint8Array }[] = [];
  for (const f of type.fieldsArray) {
    if (value[f.name] === undefined) continue;
    for (const item of f.repeated ? value[f.name] as unknown[] : [value[f.name]]) {
      let bytes: Uint8Array;
      if (f.resolvedType instanceof protobuf.Type) bytes = lenField(f.id, scrambled(r, f.resolvedType, item as Value));
      else if (f.type === "string" && r.next() < 0.2) bytes = lenField(f.id, notUtf8(r));
      else bytes = scalarField(f, item);
      parts.push({ no: f.id, bytes });
    }
  }
  for (let i = r.int(3); i > 0; i--) parts.push({ no: -1, bytes: unknownField(r) });
  const order = parts.map((p) => ({ ...p, at: r.next() }));
  // Same-numbered items keep their relative order: a shuffle must not change the value.
  const byNo = new Map<number, number[]>();
  for (const p of order) byNo.set(p.no, [...(byNo.get(p.no) ?? []), p.at].sort((a, b) => a - b));
  const seen = new Map<number, number>();
  const sorted = order.map((p) => {
    const n = seen.get(p.no) ?? 0;
    seen.set(p.no, n + 1);
    return { ...p, at: p.no === -1 ? p.at : byNo.get(p.no)![n] };
  }).sort((a, b) => a.at - b.at);
  return cat(...sorted.map((p) => p.bytes));
}

const NAMES = Object.keys(CODECS) as Name[];
const CASES = 150;

Deno.test("the codec's messages are proto/'s, and every call's request and reply is among them", () => {
  for (const name of NAMES) assert.ok(typeOf(name), name);
  const service = root.lookupService("netauth.v2.NetAuth2");
  for (const [method, m] of Object.entries(NETAUTH2)) {
    const rpc = service.methods[method];
    assert.equal(m.path, `/netauth.v2.NetAuth2/${method}`);
    assert.equal(m.request, CODECS[rpc.resolvedRequestType!.name as Name], method);
    assert.equal(m.reply, CODECS[rpc.resolvedResponseType!.name as Name], method);
  }
});

Deno.test("encode: random messages give the same bytes through the helper and protobufjs", () => {
  const r = random(SEED);
  for (const name of NAMES) {
    const type = typeOf(name);
    for (let i = 0; i < CASES; i++) {
      const value = randomMessage(r, type, true);
      const ours = codec(name).encode(value);
      assert.deepEqual(ours, theirEncode(type, value), `${name} case ${i} (seed ${SEED})`);
      assert.deepEqual(codec(name).decode(ours), theirDecode(type, ours), `${name} case ${i} (seed ${SEED})`);
    }
  }
});

Deno.test("decode: random messages with unknown, shuffled and non-UTF-8 fields read the same", () => {
  const r = random(SEED + 1);
  for (const name of NAMES) {
    const type = typeOf(name);
    for (let i = 0; i < CASES; i++) {
      const bytes = scrambled(r, type, randomMessage(r, type, false));
      assert.deepEqual(codec(name).decode(bytes), theirDecode(type, bytes), `${name} case ${i} (seed ${SEED + 1})`);
    }
  }
});

Deno.test("edge cases encode and decode the same: empty and absent optionals, empty secret, large lengths", () => {
  const values: [Name, Value][] = [
    ["Empty", {}],
    ["EntityMeta", {}],
    ["EntityMeta", { Locked: false }],
    ["Entity", { ID: "" }],
    ["Entity", { ID: "x", meta: {} }],
    ["AuthRequest", {}],
    ["AuthRequest", { Entity: {}, Secret: new Uint8Array(0) }],
    ["AuthRequest", { Entity: { ID: "erin" }, Secret: Uint8Array.of(0x65, 0xe9, 0x00, 0xff, 0xfe) }],
    ["AuthRequest", { Entity: { ID: "big" }, Secret: new Uint8Array(70_000).fill(0xc3) }], // a 3-byte length
    ["GroupRequest", { Group: { Name: "g".repeat(16_384) } }],
    ["ListOfGroups", { Groups: [] }],
    ["ListOfGroups", { Groups: [{}, { Name: "" }, {}] }],
    ["ListOfEntities", { Entities: [{ meta: { Locked: true } }, {}] }],
    ["ServerStatus", { SystemOK: false, FirstFailure: {} }],
    ["SubSystemStatus", { Name: "", OK: false, FaultMessage: "" }],
  ];
  for (const [name, value] of values) {
    const ours = codec(name).encode(value);
    assert.deepEqual(ours, theirEncode(typeOf(name), value), name);
    assert.deepEqual(codec(name).decode(ours), theirDecode(typeOf(name), ours), name);
  }
});

Deno.test("large varints: 10-byte values are skipped or read as protobufjs reads them", () => {
  const negativeNumber = theirEncode(typeOf("Entity"), { ID: "n", Number: -1 }); // Number: 10 bytes
  assert.deepEqual(codec("Entity").decode(negativeNumber), { ID: "n" });
  // Locked as non-minimal and multi-byte varints whose low 32 bits are not zero (see `bool` below).
  for (const locked of [[0x81, 0x00], [0x80, 0x80, 0x80, 0x80, 0x08], [...Array(9).fill(0xff), 0x01]]) {
    const bytes = cat(key(9, 0), Uint8Array.of(...locked));
    assert.deepEqual(codec("EntityMeta").decode(bytes), theirDecode(typeOf("EntityMeta"), bytes), `${locked}`);
    assert.deepEqual(codec("EntityMeta").decode(bytes), { Locked: true });
  }
});

Deno.test("a field sent twice: the last scalar wins, sub-messages merge as one with both payloads", () => {
  const r = random(SEED + 2);
  const entity = typeOf("Entity"), meta = typeOf("EntityMeta");
  for (let i = 0; i < CASES; i++) {
    const a = scrambled(r, meta, randomMessage(r, meta, false));
    const b = scrambled(r, meta, randomMessage(r, meta, false));
    const ids = [randomString(r), randomString(r)].map((id) => lenField(1, new TextEncoder().encode(id)));
    const twice = cat(ids[0], lenField(4, a), ids[1], lenField(4, b));
    // The spec defines the merge: the same as one field whose payload is both payloads in turn.
    const merged = cat(ids[0], ids[1], lenField(4, cat(a, b)));
    assert.deepEqual(codec("Entity").decode(twice), theirDecode(entity, merged), `case ${i}`);
  }
  // The case that matters: a later empty meta must not unlock (PROTOBUFJS_DEVIATIONS.merge).
  const lockedThenEmpty = cat(lenField(4, Uint8Array.of(0x48, 1)), lenField(4, new Uint8Array(0)));
  assert.deepEqual(codec("Entity").decode(lockedThenEmpty), { meta: { Locked: true } });
  assert.deepEqual(theirDecode(entity, lockedThenEmpty), { meta: {} }, PROTOBUFJS_DEVIATIONS.merge);
});

Deno.test("where protobufjs departs from the spec, the helper keeps the spec", () => {
  const locked2to32 = cat(key(9, 0), Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x10)); // Locked = 2^32
  assert.deepEqual(codec("EntityMeta").decode(locked2to32), { Locked: true });
  assert.deepEqual(theirDecode(typeOf("EntityMeta"), locked2to32), { Locked: false }, PROTOBUFJS_DEVIATIONS.bool);

  const lone = { ID: "a\ud800b" };
  assert.deepEqual([...codec("Entity").encode(lone)], [0x0a, 5, 0x61, 0xef, 0xbf, 0xbd, 0x62]);
  const theirs = [...theirEncode(typeOf("Entity"), lone)];
  assert.deepEqual(theirs, [0x0a, 5, 0x61, 0xed, 0xa0, 0x80, 0x62], PROTOBUFJS_DEVIATIONS.surrogate);

  const notUtf8Id = Uint8Array.of(0x0a, 3, 0x61, 0xe9, 0x62);
  assert.deepEqual(codec("Entity").decode(notUtf8Id), { ID: "a\ufffdb" });
  assert.deepEqual(theirDecode(typeOf("Entity"), notUtf8Id), { ID: "a\ufffdb" });
  const plain = typeOf("Entity").toObject(typeOf("Entity").decode(notUtf8Id));
  assert.notEqual(plain.ID, "a\ufffdb", PROTOBUFJS_DEVIATIONS.plainReader);
});

Deno.test("protobufjs stays test-only: no module under src/ imports it or proto-loader", () => {
  const src = new URL("../../src/", import.meta.url);
  const walk = (dir: URL): string[] =>
    [...Deno.readDirSync(dir)].flatMap((e) =>
      e.isDirectory ? walk(new URL(`${e.name}/`, dir)) : e.name.endsWith(".ts") ? [new URL(e.name, dir).pathname] : []
    );
  const offenders = walk(src).filter((file) =>
    /["'](?:npm:)?(?:protobufjs|@grpc\/proto-loader)\b/.test(Deno.readTextFileSync(file))
  );
  assert.deepEqual(offenders, []);
});
