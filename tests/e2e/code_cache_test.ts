// The runtime's V8 code cache (docs/install.md, "Code cache"): root warms and seals it at install time, its
// SHA-256 is in the manifest, and the runtime, holding no capability, cannot write it. Issue 16's backdoor done
// exactly (with root write access once: compile a same-length tampered exit table into the cache, put the
// original file back, give the entry the original's source_hash) does turn a wrong password into exit 0 through
// pam_exec, as a changed chunk would: what this install guarantees is that `install.sh --verify` reports it
// (DRIFT, exit 1), whether the entry sits in the cache's write-ahead log or was folded into the file, and that
// re-running install.sh replaces it.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { sha256Hex } from "../../src/digest.ts";
import { ALICE_SECRET } from "../../testkit/netauthd.ts";
import {
  authAsPamExec,
  e2eTest,
  installHelper,
  missingPrerequisite,
  pamtester,
  ROOT,
  sh,
  shippedPamExecLines,
  withInstalledHelper,
} from "./pam.ts";

const missing = await missingPrerequisite();
const EXIT_TABLE = /AUTH_ERR:\{code:7,/;

e2eTest(
  "the sealed V8 code cache: read-only to logins, and a tampered entry is caught by --verify",
  missing,
  async (t) => {
    const service = `netauth-codecache-${Deno.pid}`;
    await withInstalledHelper(async ({ prefix, server }) => {
      const lib = `${prefix}/lib/netauth-pam-helper`;
      const launcher = `${prefix}/sbin/netauth-pam-helper`;
      const cacheDb = `${lib}/runtime/deno/v8_code_cache_v2`;
      const chunk = [...Deno.readDirSync(lib)].map((e) => `${lib}/${e.name}`)
        .find((path) => path.endsWith(".js") && EXIT_TABLE.test(Deno.readTextFileSync(path)));
      assert.ok(chunk, `no chunk in ${lib} holds the exit table`);
      const verify = () => sh(`${ROOT}install.sh`, ["--verify", "--prefix", prefix]);
      const digest = async () => await sha256Hex(Deno.readFileSync(cacheDb));
      const walBytes = () => {
        try {
          return Deno.statSync(`${cacheDb}-wal`).size;
        } catch {
          return 0; // none: the last connection to close folded it into the file
        }
      };
      let originalHash = 0n;
      Deno.writeTextFileSync(
        `/etc/pam.d/${service}`,
        shippedPamExecLines(launcher, `${prefix}/pam.log`).join("\n") + "\n",
      );
      const wrongPassword = async () => (await pamtester(service, "alice", "authenticate", "not-her-password")).code;

      try {
        await t.step("the install seals a warm cache, in the manifest; logins read it and write nothing", async () => {
          const manifest = JSON.parse(Deno.readTextFileSync(`${lib}/manifest.json`));
          const entry = manifest.files.find((f: { path: string }) => f.path === cacheDb);
          assert.deepEqual(entry, { path: cacheDb, sha256: await digest(), uid: 0, gid: 0, mode: "0444" });
          const warm = cacheEntry(cacheDb, chunk);
          assert.ok(warm, "the install did not warm the chunk with the exit table");
          originalHash = warm.hash;
          assert.notEqual(await wrongPassword(), 0);
          assert.equal((await pamtester(service, "alice", "authenticate", ALICE_SECRET)).code, 0);
          assert.equal((await pamtester(service, "alice", "acct_mgmt")).code, 0);
          assert.equal(await digest(), entry.sha256);
          assert.equal(walBytes(), 0);
          const verified = await verify();
          assert.equal(verified.code, 0, verified.output);
          assert.match(verified.output, /^ok code cache .*: sealed, nothing written since$/m);
        });

        await t.step("an entry the cache lacks is compiled at each login and never written back", async () => {
          const db = new DatabaseSync(cacheDb); // root with its capabilities, as an attacker would be
          db.prepare("DELETE FROM codecache WHERE specifier = ?").run(`file://${chunk}`);
          db.close();
          const before = await digest();
          assert.notEqual(await wrongPassword(), 0);
          assert.equal(cacheEntry(cacheDb, chunk), undefined);
          assert.equal(await digest(), before);
          assert.equal(walBytes(), 0);
        });

        await t.step("issue 16's tamper turns a wrong password into exit 0, and --verify reports it", async () => {
          // The tamper needs a runtime that can write the cache: the launcher as it was, with capabilities.
          const withCaps = `${prefix}/sbin/with-caps`;
          const installed = Deno.readTextFileSync(launcher);
          assert.match(installed, / --inh-caps=-all --bounding-set=-all /);
          Deno.writeTextFileSync(withCaps, installed.replace(" --inh-caps=-all --bounding-set=-all ", " "), {
            mode: 0o755,
          });
          const original = Deno.readFileSync(chunk);
          const text = new TextDecoder().decode(original);
          Deno.writeTextFileSync(chunk, text.replace(EXIT_TABLE, "AUTH_ERR:{code:0,"));
          assert.equal(Deno.statSync(chunk).size, original.length);
          const tampered = await authAsPamExec([withCaps], "not-her-password", service);
          assert.equal(tampered.code, 0, tampered.line); // the tampered chunk itself, compiled and cached
          Deno.writeFileSync(chunk, original);
          assert.ok(walBytes() > 0, "the runtime with capabilities wrote no entry");
          const pending = await verify();
          assert.equal(pending.code, 1, pending.output);
          assert.match(pending.output, /^DRIFT code cache .*-wal: \d+ bytes written since it was sealed/m);
          const db = new DatabaseSync(cacheDb);
          db.prepare("UPDATE codecache SET source_hash = ? WHERE specifier = ?")
            .run(originalHash, `file://${chunk}`);
          db.close(); // closing folds the log into the file: only the file's SHA-256 can show it now
          assert.equal(walBytes(), 0);
          assert.equal(await wrongPassword(), 0, "the tampered cache no longer works, so this test proves nothing");
          const drifted = await verify();
          assert.equal(drifted.code, 1, drifted.output);
          assert.match(drifted.output, new RegExp(`^DRIFT sha256 ${cacheDb}: [0-9a-f]{64}, manifest says `, "m"));
        });

        await t.step("re-running install.sh replaces the cache; the wrong password is refused again", async () => {
          await installHelper(prefix, server.clientConfigDir);
          assert.notEqual(await wrongPassword(), 0);
          const verified = await verify();
          assert.equal(verified.code, 0, verified.output);
        });
      } finally {
        await Deno.remove(`/etc/pam.d/${service}`).catch(() => {});
      }
    });
  },
);

/** The cache's entry for `file` (its source hash and compiled bytes), if there is one. */
function cacheEntry(db: string, file: string): { hash: bigint; data: Uint8Array } | undefined {
  const cache = new DatabaseSync(db, { readOnly: true });
  const select = cache.prepare("SELECT source_hash, data FROM codecache WHERE specifier = ?");
  select.setReadBigInts(true); // the hash is a 64-bit integer
  const row = select.get(`file://${file}`);
  cache.close();
  return row ? { hash: row.source_hash as bigint, data: row.data as Uint8Array } : undefined;
}
