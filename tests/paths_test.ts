import assert from "node:assert/strict";
import { isFlagPath } from "../src/paths.ts";

Deno.test("a flag path is absolute, without commas or white space (Deno's permission lists)", () => {
  for (const ok of ["/", "/var/cache/netauth", "/opt/n@uth-1.0/"]) assert.equal(isFlagPath(ok), true, ok);
  for (const bad of ["", "relative/dir", "./dir", "/a,b", "/a b", "/a\tb", "/a\nb"]) {
    assert.equal(isFlagPath(bad), false, JSON.stringify(bad));
  }
});
