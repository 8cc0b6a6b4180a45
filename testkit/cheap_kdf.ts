// scrypt at the lowest cost the cache accepts (isSaneKdf): 128 KiB per derivation instead of the
// helper's 32 MiB, so unit tests exercise the cache's logic without paying for its hardness.
// tests/cache/open_test.ts asserts that the helper itself still uses CURRENT_KDF.
import { CURRENT_KDF, type KdfParams } from "../src/cache/verifier.ts";

export const TEST_KDF: KdfParams = { ...CURRENT_KDF, N: 2 ** 10, r: 1 };
