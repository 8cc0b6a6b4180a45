import assert from "node:assert/strict";
import {
  type CacheEntry,
  CacheStore,
  ENTRY_FORMAT,
  entryFileName,
  parse,
  serialize,
  unusableReason,
} from "../../src/cache/store.ts";
import { CURRENT_KDF } from "../../src/cache/verifier.ts";

const entry: CacheEntry = {
  entity: "alice",
  kdf: CURRENT_KDF,
  salt: new Uint8Array(16).fill(1),
  verifier: new Uint8Array(32).fill(2),
  groups: ["ops", "staff"],
  onlineAt: Date.parse("2026-11-20T10:00:00Z"),
  offlineFailures: 1,
};

Deno.test("entry format: versioned JSON, base64 salt and verifier, ISO time, never the secret", () => {
  const text = serialize(entry);
  assert.deepEqual(JSON.parse(text), {
    format: ENTRY_FORMAT,
    entity: "alice",
    kdf: CURRENT_KDF,
    salt: "AQEBAQEBAQEBAQEBAQEBAQ==",
    verifier: "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=",
    groups: ["ops", "staff"],
    onlineAt: "2026-11-20T10:00:00.000Z",
    offlineFailures: 1,
  });
  assert.deepEqual(parse(text, "alice"), entry);
});

Deno.test("corrupt, foreign or mismatched entries read as absent", () => {
  const good = JSON.parse(serialize(entry));
  const variants = [
    "not json",
    "",
    JSON.stringify({ ...good, format: "other/v9" }),
    JSON.stringify({ ...good, entity: "bob" }),
    JSON.stringify({ ...good, kdf: { ...CURRENT_KDF, N: 2 ** 30 } }),
    JSON.stringify({ ...good, salt: "%%%" }),
    JSON.stringify({ ...good, verifier: "AQ==" }),
    JSON.stringify({ ...good, onlineAt: "yesterday" }),
    JSON.stringify({ ...good, offlineFailures: -1 }),
    JSON.stringify({ ...good, groups: [1] }),
  ];
  for (const text of variants) assert.equal(parse(text, "alice"), undefined, text);
});

Deno.test("file names are a hash of the ID: no ID escapes the directory", () => {
  const ids = ["alice", "../../etc/passwd", "a/b", "..", ".", "nul\0byte", "x".repeat(10_000), "Ünïcode"];
  const names = ids.map(entryFileName);
  for (const name of names) assert.match(name, /^[0-9a-f]{64}\.json$/);
  assert.equal(new Set(names).size, ids.length);
  assert.equal(new CacheStore("/var/cache/na").pathFor("../x"), `/var/cache/na/${entryFileName("../x")}`);
});

Deno.test("write is atomic and private: mode 0600, no temp file left, remove is idempotent", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new CacheStore(dir);
    await store.write(entry);
    await store.write({ ...entry, offlineFailures: 0 });
    assert.deepEqual(await store.read("alice"), { ...entry, offlineFailures: 0 });
    const files = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.deepEqual(files, [entryFileName("alice")]);
    assert.equal(Deno.statSync(store.pathFor("alice")).mode! & 0o777, 0o600);
    await store.remove("alice");
    await store.remove("alice");
    assert.equal(await store.read("alice"), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a cache directory must exist, be ours and be closed to others", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.chmod(dir, 0o700);
    const uid = Deno.uid()!;
    assert.equal(await unusableReason(dir, uid), undefined);
    assert.equal(await unusableReason(`${dir}/missing`, uid), "does not exist");
    assert.equal(
      await unusableReason(dir, uid + 1),
      `is owned by uid ${uid}, not by the running user (uid ${uid + 1})`,
    );
    await Deno.chmod(dir, 0o750);
    assert.equal(await unusableReason(dir, uid), "is open to group or others (mode 750; want 700)");
    await Deno.writeTextFile(`${dir}/file`, "");
    assert.equal(await unusableReason(`${dir}/file`, uid), "is not a directory");
    await Deno.symlink(dir, `${dir}/link`);
    assert.equal(await unusableReason(`${dir}/link`, uid), "is not a directory");
    // The directories above get the config's strict modes (the same walk).
    await Deno.mkdir(`${dir}/cache`, { mode: 0o700 });
    await Deno.chmod(dir, 0o777);
    assert.equal(
      await unusableReason(`${dir}/cache`, uid),
      `is below ${dir}, which is writable by group or others (owner uid ${uid}, mode 777)`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
