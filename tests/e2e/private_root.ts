// The package's end-to-end tests build what they install with `deno task deb`; the private root they install it
// in is testkit's.
import assert from "node:assert/strict";
import { ROOT, sh } from "./pam.ts";
export { privateRoot } from "../../testkit/private_root.ts";

/** `deno task deb` into `outdir` (uncompressed: the test installs it, the bytes inside are the same). */
export async function buildDeb(outdir: string, version: string, ...more: string[]): Promise<string> {
  const res = await sh(Deno.execPath(), [
    "task",
    "--quiet",
    "--config",
    `${ROOT}deno.json`,
    "deb",
    "--outdir",
    outdir,
    "--version",
    version,
    "--compression",
    "none",
    ...more,
  ]);
  assert.equal(res.code, 0, res.output);
  return [...Deno.readDirSync(outdir)].filter((e) => e.name.endsWith(".deb")).map((e) => `${outdir}/${e.name}`)[0];
}
