// proto/ against NetAuth's published .proto files, at the github.com/netauth/protocol version
// tests/netauthd/go.mod requires, as `sh tests/netauthd/install.sh` leaves them in the Go module cache.
// Integration, not unit: its input comes from that install step. Ignored (reason printed) without
// the module, except under CI=true, where it fails.
import assert from "node:assert/strict";
import protobuf from "protobufjs";

const MODULE = "github.com/netauth/protocol";
const here = (path: string) => new URL(`../../${path}`, import.meta.url);
const read = (url: string | URL) => Deno.readTextFileSync(url);

/** The pinned version (go.mod) and its module hash (go.sum). */
function pinned(): { version: string; hash: string } {
  const version = read(here("tests/netauthd/go.mod")).match(new RegExp(`^\\s*${MODULE} (\\S+)`, "m"))?.[1];
  assert.ok(version, `tests/netauthd/go.mod requires no ${MODULE}`);
  const hash = read(here("tests/netauthd/go.sum")).match(new RegExp(`^${MODULE} ${version} (h1:\\S+)$`, "m"))?.[1];
  assert.ok(hash, `tests/netauthd/go.sum pins no hash for ${MODULE} ${version}`);
  return { version, hash };
}

function moduleCache(): string {
  try {
    const out = new Deno.Command("go", { args: ["env", "GOMODCACHE"], stderr: "null" }).outputSync();
    const dir = new TextDecoder().decode(out.stdout).trim();
    if (out.success && dir) return dir;
  } catch { /* no go: the usual default */ }
  return Deno.env.get("GOMODCACHE") ?? `${Deno.env.get("HOME")}/go/pkg/mod`;
}

const { version, hash } = pinned();
const cache = moduleCache();
const upstreamDir = `${cache}/${MODULE}@${version}`;
// Go verified the zip against go.sum when it downloaded it, and records the hash beside it.
const ziphash = `${cache}/cache/download/${MODULE}/@v/${version}.ziphash`;
const missing = (() => {
  try {
    Deno.statSync(`${upstreamDir}/netauth.proto`);
    return undefined;
  } catch {
    return `${upstreamDir} not found; run sh tests/netauthd/install.sh`;
  }
})();
const ci = Deno.env.get("CI") === "true";
if (missing && !ci) console.warn(`skipping the proto/ upstream check: ${missing}`);

/** Parses .proto files into one root, field names as written. */
function load(files: string[]): protobuf.Root {
  const root = new protobuf.Root();
  for (const file of files) protobuf.parse(read(file), root, { keepCase: true });
  root.resolveAll();
  return root;
}

/** Every message of `ns` and below, by its simple name. */
function messages(ns: protobuf.NamespaceBase, out = new Map<string, protobuf.Type>()) {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) out.set(nested.name, nested);
    if (nested instanceof protobuf.Namespace) messages(nested, out);
  }
  return out;
}

const rule = (f: protobuf.Field) => f.repeated ? "repeated" : f.required ? "required" : "optional";
const typeName = (f: protobuf.Field) => `${rule(f)} ${f.resolvedType?.name ?? f.type}`;
const packageOf = (t: protobuf.ReflectionObject) => t.parent?.fullName.replace(/^\./, "") ?? "";
const code = (s: string) => s.replace(/`/g, "").trim();

/** The differences proto/README.md documents: Where -> [NetAuth, here]. */
function documented(): Map<string, [string, string]> {
  const table = read(here("proto/README.md")).split("## Differences from NetAuth's files")[1];
  const rows = [...table.matchAll(/^\|([^|]+)\|([^|]+)\|([^|]+)\|[^|]+\|$/gm)].slice(2); // header, separator
  return new Map(rows.map(([, where, theirs, ours]) => [code(where), [code(theirs), code(ours)]]));
}

Deno.test({
  name: "proto/ matches NetAuth's published .proto files but for the documented differences",
  ignore: !!missing && !ci,
}, () => {
  if (missing) throw new Error(`CI=true but ${missing}`);
  assert.equal(read(ziphash).trim(), hash, `${ziphash} is not the hash tests/netauthd/go.sum pins`);
  const ours = load([here("proto/netauth.proto").pathname, here("proto/netauth_v2.proto").pathname]);
  const theirs = load([`${upstreamDir}/netauth.proto`, `${upstreamDir}/v2/rpc.proto`]);
  const upstream = messages(theirs);
  const found = new Map<string, [string, string]>();
  const differ = (where: string, a: string, b: string) => a !== b && found.set(where, [a, b]);

  for (const [name, type] of messages(ours)) {
    const their: protobuf.Type | undefined = upstream.get(name);
    assert.ok(their, `${name}: no such message in NetAuth's files`);
    if (packageOf(their) !== packageOf(type)) {
      differ(`${packageOf(their)} messages`, `package ${packageOf(their)}`, `${packageOf(type) || "root"} package`);
    }
    for (const field of type.fieldsArray) {
      const theirField: protobuf.Field | undefined = their.fields[field.name];
      assert.ok(theirField, `${name}.${field.name}: NetAuth has no such field`);
      assert.equal(field.id, theirField.id, `${name}.${field.name}: field number`);
      differ(`${name}.${field.name}`, typeName(theirField), typeName(field));
    }
  }
  const service = ours.lookupService("netauth.v2.NetAuth2");
  const theirService = theirs.lookupService("netauth.v2.NetAuth2");
  for (const m of service.methodsArray) {
    const their = theirService.methods[m.name];
    assert.ok(their, `NetAuth2.${m.name}: NetAuth has no such method`);
    assert.deepEqual(
      [m.resolvedRequestType!.name, m.resolvedResponseType!.name, !!m.requestStream, !!m.responseStream],
      [
        their.resolvedRequestType!.name,
        their.resolvedResponseType!.name,
        !!their.requestStream,
        !!their.responseStream,
      ],
      `NetAuth2.${m.name}`,
    );
  }
  assert.deepEqual(found, documented(), "proto/README.md's table of differences is what a comparison finds");
});
