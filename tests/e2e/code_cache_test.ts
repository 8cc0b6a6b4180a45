// Issue 16's code-cache backdoor, done exactly: with root write access once, compile a same-length tampered
// exit table into the runtime's V8 code cache, put the original file back and give the entry the original's
// source_hash. Run the old way (a code cache), every wrong password then exits 0; the installed launcher runs
// with --no-code-cache, so through the real pam_exec the wrong password is still refused.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { ALICE_SECRET } from "../../testkit/netauthd.ts";
import {
  authAsPamExec,
  e2eTest,
  missingPrerequisite,
  pamtester,
  shippedPamExecLines,
  withInstalledHelper,
} from "./pam.ts";

const missing = await missingPrerequisite();
const EXIT_TABLE = /AUTH_ERR:\{code:7,/;

e2eTest("a tampered V8 code cache in the runtime directory changes no verdict", missing, async (t) => {
  const service = `netauth-codecache-${Deno.pid}`;
  await withInstalledHelper(async ({ prefix }) => {
    const lib = `${prefix}/lib/netauth-pam-helper`;
    const launcher = `${prefix}/sbin/netauth-pam-helper`;
    const cacheDb = `${lib}/runtime/deno/v8_code_cache_v2`;
    const installed = Deno.readTextFileSync(launcher);
    assert.match(installed, / --no-code-cache /);
    // The launcher as it was before: the same command with Deno's code cache on.
    const oldLauncher = `${prefix}/sbin/old-launcher`;
    Deno.writeTextFileSync(oldLauncher, installed.replace(" --no-code-cache ", " "), { mode: 0o755 });
    const chunk = [...Deno.readDirSync(lib)].map((e) => `${lib}/${e.name}`)
      .find((path) => path.endsWith(".js") && EXIT_TABLE.test(Deno.readTextFileSync(path)));
    assert.ok(chunk, `no chunk in ${lib} holds the exit table`);
    const runOld = (password: string) => authAsPamExec([oldLauncher], password, service);

    await t.step("the tamper works against a helper that uses the code cache (the control)", async () => {
      const original = Deno.readFileSync(chunk);
      const originalHash = (await untilCached(cacheDb, chunk, () => runOld("not-her-password"))).hash;
      const text = new TextDecoder().decode(original);
      Deno.writeTextFileSync(chunk, text.replace(EXIT_TABLE, "AUTH_ERR:{code:0,"));
      assert.equal(Deno.statSync(chunk).size, original.length);
      await untilCached(cacheDb, chunk, () => runOld("not-her-password"), (hash) => hash !== originalHash);
      Deno.writeFileSync(chunk, original);
      const db = new DatabaseSync(cacheDb);
      db.prepare("UPDATE codecache SET source_hash = ? WHERE specifier = ?").run(originalHash, `file://${chunk}`);
      db.close();
      const poisoned = await runOld("not-her-password");
      assert.equal(
        poisoned.code,
        0,
        `the tampered cache no longer works, so this test proves nothing: ${poisoned.line}`,
      );
    });

    await t.step("through pam_exec and the installed launcher the wrong password is refused", async () => {
      const before = cacheEntry(cacheDb, chunk);
      try {
        Deno.writeTextFileSync(
          `/etc/pam.d/${service}`,
          shippedPamExecLines(launcher, `${prefix}/pam.log`).join("\n") + "\n",
        );
        const wrong = await pamtester(service, "alice", "authenticate", "not-her-password");
        assert.notEqual(wrong.code, 0, wrong.output);
        assert.match(Deno.readTextFileSync(`${prefix}/pam.log`), /outcome=denied exit=7 /);
        assert.equal((await pamtester(service, "alice", "authenticate", ALICE_SECRET)).code, 0);
        assert.equal((await pamtester(service, "alice", "acct_mgmt")).code, 0);
      } finally {
        await Deno.remove(`/etc/pam.d/${service}`).catch(() => {});
      }
      // Nothing the launcher runs read or wrote the cache's entry.
      assert.deepEqual(cacheEntry(cacheDb, chunk), before);
    });
  });
});

interface CacheEntry {
  hash: bigint;
  data: Uint8Array;
}

/** The code cache's entry for `file`, if the database and the entry exist. */
function cacheEntry(db: string, file: string): CacheEntry | undefined {
  try {
    Deno.statSync(db);
  } catch {
    return undefined;
  }
  const cache = new DatabaseSync(db, { readOnly: true });
  const select = cache.prepare("SELECT source_hash, data FROM codecache WHERE specifier = ?");
  select.setReadBigInts(true); // the hash is a 64-bit integer
  const row = select.get(`file://${file}`);
  cache.close();
  return row ? { hash: row.source_hash as bigint, data: row.data as Uint8Array } : undefined;
}

/** Runs `run` until the cache holds an entry for `file` that `wanted` accepts (at most 10 times). */
async function untilCached(
  db: string,
  file: string,
  run: () => Promise<unknown>,
  wanted: (hash: bigint) => boolean = () => true,
): Promise<CacheEntry> {
  for (let attempt = 0; attempt < 10; attempt++) {
    await run();
    const entry = cacheEntry(db, file);
    if (entry && wanted(entry.hash)) return entry;
  }
  throw new Error(`deno wrote no matching code cache entry for ${file} in 10 runs`);
}
