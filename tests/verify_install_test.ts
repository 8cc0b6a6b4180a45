import assert from "node:assert/strict";
import { requiredOptions } from "../src/verify_install.ts";

Deno.test("the README's options: seteuid and quiet everywhere, expose_authtok on auth", () => {
  assert.deepEqual(requiredOptions("auth"), ["expose_authtok", "quiet", "seteuid"]);
  assert.deepEqual(requiredOptions("account"), ["quiet", "seteuid"]);
});
