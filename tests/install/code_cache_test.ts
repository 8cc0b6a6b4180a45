// The code cache's seal and --verify's check of it, on a real SQLite file in WAL mode as Deno keeps it.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { codeCacheCheck, codeCachePath, sealCodeCache, stillSealed } from "../../src/install/code_cache.ts";
import { sha256Hex } from "../../src/digest.ts";

/** A runtime directory whose DENO_DIR holds a cache with an entry still in its write-ahead log. */
function warmed(dir: string): { path: string; db: DatabaseSync } {
  Deno.mkdirSync(`${dir}/runtime/deno`, { recursive: true });
  const path = codeCachePath(`${dir}/runtime`);
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode=WAL; CREATE TABLE codecache (specifier TEXT, data BLOB)");
  db.prepare("INSERT INTO codecache VALUES (?, ?)").run("file:///lib/a.js", new Uint8Array(8192));
  return { path, db };
}

const manifestFor = (dir: string, files: string[]) => ({
  runtimeDirs: [{ path: `${dir}/runtime`, uid: 0, gid: 0, mode: "0755" }],
  files: files.map((path) => ({ path, sha256: "", uid: 0, gid: 0, mode: "0444" })),
});

Deno.test("sealing folds the write-ahead log into the file and makes it read-only; --verify then reports ok", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const { path, db } = warmed(dir);
    assert.ok(Deno.statSync(`${path}-wal`).size > 0);
    assert.equal(codeCacheCheck(manifestFor(dir, [path]), (p) => p).ok, false);
    db.close();
    assert.equal(sealCodeCache(path), true);
    assert.throws(() => Deno.statSync(`${path}-wal`));
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o444);
    const rows = new DatabaseSync(path, { readOnly: true }).prepare("SELECT count(*) AS n FROM codecache").get();
    assert.equal(rows?.n, 1);
    assert.deepEqual(codeCacheCheck(manifestFor(dir, [path]), (p) => p), {
      ok: true,
      what: `code cache ${path}: sealed, nothing written since`,
    });
    assert.equal(sealCodeCache(`${dir}/none`), false);
    // A re-install keeps it only while it is the one the manifest records.
    const manifestJson = `${dir}/manifest.json`;
    const entry = { path, sha256: await sha256Hex(Deno.readFileSync(path)), uid: 0, gid: 0, mode: "0444" };
    Deno.writeTextFileSync(manifestJson, JSON.stringify({ files: [entry] }));
    assert.equal(await stillSealed(path, manifestJson), Deno.uid() === 0);
    Deno.writeTextFileSync(manifestJson, JSON.stringify({ files: [{ ...entry, sha256: "0".repeat(64) }] }));
    assert.equal(await stillSealed(path, manifestJson), false);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("--verify: anything in the cache's write-ahead log, or a cache the manifest does not record, is DRIFT", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = codeCachePath(`${dir}/runtime`);
    assert.deepEqual(codeCacheCheck(manifestFor(dir, []), (p) => p), {
      ok: true,
      what: `code cache ${path}: none (every start compiles)`,
    });
    const { db } = warmed(dir); // left open: its entry stays in the log, as a writer's would
    const check = codeCacheCheck(manifestFor(dir, [path]), (p) => p);
    assert.equal(check.ok, false);
    assert.match(check.what, /-wal: \d+ bytes written since it was sealed \(re-run install\.sh\)$/);
    db.close();
    assert.deepEqual(codeCacheCheck(manifestFor(dir, []), (p) => p), {
      ok: false,
      what: `code cache ${path}: not in the manifest, so unverified (re-run install.sh)`,
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
