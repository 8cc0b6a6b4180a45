import assert from "node:assert/strict";
import { CURRENT_KDF, derive, isSaneKdf, makeVerifier, matches, SALT_BYTES } from "../../src/cache/verifier.ts";

Deno.test("scrypt parameters: N=2^15, r=8, p=1 (32 MiB), 32-byte key, 16-byte salt", () => {
  assert.deepEqual(CURRENT_KDF, { name: "scrypt", N: 32768, r: 8, p: 1, keyLength: 32 });
  assert.equal(SALT_BYTES, 16);
});

Deno.test("a verifier matches its secret only, and every entry gets a fresh salt", async () => {
  const a = await makeVerifier("correct horse");
  const b = await makeVerifier("correct horse");
  assert.notDeepEqual(a.salt, b.salt);
  assert.notDeepEqual(a.verifier, b.verifier);
  assert.equal(await matches("correct horse", a), true);
  assert.equal(await matches("correct horse ", a), false);
  assert.equal(await matches("", a), false);
});

Deno.test("secrets are verified as bytes: UTF-8 text as before, other bytes exactly", async () => {
  const weak = { ...CURRENT_KDF, N: 1024 };
  const text = await makeVerifier("päss", weak);
  assert.equal(await matches(new TextEncoder().encode("päss"), text), true, "entries made from strings still match");
  const latin1 = Uint8Array.of(0x70, 0xe4, 0x73, 0x73); // "päss" in Latin-1: not UTF-8
  const raw = await makeVerifier(latin1, weak);
  assert.equal(await matches(latin1, raw), true);
  assert.equal(await matches("päss", raw), false);
  assert.equal(await matches("p\ufffdss", raw), false, "no lossy decoding on the way");
});

Deno.test("parameters recorded in an entry are the ones verified with", async () => {
  const weak = { ...CURRENT_KDF, N: 1024, keyLength: 16 };
  const entry = await makeVerifier("pw", weak);
  assert.equal(entry.verifier.length, 16);
  assert.equal(await matches("pw", entry), true);
  assert.deepEqual(await derive("pw", entry.salt, weak), entry.verifier);
});

Deno.test("parameters read from disk are bounded", () => {
  assert.equal(isSaneKdf(CURRENT_KDF), true);
  for (
    const bad of [
      { ...CURRENT_KDF, N: 2 ** 24 },
      { ...CURRENT_KDF, N: 3000 },
      { ...CURRENT_KDF, r: 0 },
      {
        ...CURRENT_KDF,
        name: "md5",
      },
      null,
      "scrypt",
    ]
  ) {
    assert.equal(isSaneKdf(bad), false, JSON.stringify(bad));
  }
});
