import assert from "node:assert/strict";
import { KDF_SLOTS, KdfBusyError, kdfPoolState, withKdfSlot } from "../../src/cache/kdf_pool.ts";
import { CURRENT_KDF, derive } from "../../src/cache/verifier.ts";

Deno.test("at most KDF_SLOTS derivations run at once in a process (the CPU count, 1 to 4)", async () => {
  assert.ok(KDF_SLOTS >= 1 && KDF_SLOTS <= 4);
  assert.equal(KDF_SLOTS, Math.min(4, navigator.hardwareConcurrency));
  let peak = 0;
  const salt = new Uint8Array(16);
  const watching = setInterval(() => peak = Math.max(peak, kdfPoolState().running), 1);
  try {
    // Twelve real 32 MiB derivations asked for at once: without the bound they all run on the thread pool.
    const keys = await Promise.all(Array.from({ length: 12 }, () => derive("pw", salt, CURRENT_KDF)));
    assert.equal(new Set(keys.map((k) => k.toHex())).size, 1);
  } finally {
    clearInterval(watching);
  }
  assert.ok(peak >= 1 && peak <= KDF_SLOTS, `peak ${peak}`);
  assert.deepEqual(kdfPoolState(), { running: 0, waiting: 0 });
});

Deno.test("a derivation that gets no slot before its deadline does not run: KdfBusyError", async () => {
  const release: (() => void)[] = [];
  const holders = Array.from(
    { length: KDF_SLOTS },
    () => withKdfSlot(() => new Promise<void>((resolve) => release.push(resolve))),
  );
  let ran = false;
  await assert.rejects(
    withKdfSlot(() => Promise.resolve(ran = true), Date.now() + 30),
    (err) => err instanceof KdfBusyError && /busy until the deadline/.test(err.message),
  );
  assert.equal(ran, false);
  release.forEach((r) => r());
  await Promise.all(holders);
});
