// The bundle is a function of the source tree and the Deno version only: two builds of the same tree,
// from different directories, users' caches and working directories, are byte-identical.
import assert from "node:assert/strict";
import { denoDir } from "./run_helper.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const decoder = new TextDecoder();

/** Copies the checkout's tracked and untracked-but-not-ignored files (what a clean checkout would hold). */
async function copyCheckout(to: string): Promise<void> {
  const out = await new Deno.Command("git", {
    args: ["-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
  }).output();
  assert.equal(out.code, 0, decoder.decode(out.stderr));
  for (const rel of decoder.decode(out.stdout).split("\0").filter(Boolean)) {
    try {
      Deno.statSync(`${ROOT}${rel}`);
    } catch {
      continue; // deleted in the working tree
    }
    Deno.mkdirSync(`${to}/${rel.replace(/\/?[^/]*$/, "")}`, { recursive: true });
    Deno.copyFileSync(`${ROOT}${rel}`, `${to}/${rel}`);
  }
}

/** `deno task bundle`, as install.sh runs it, from `cwd` with its own HOME and DENO_DIR. */
async function bundle(checkout: string, cwd: string, env: Record<string, string>): Promise<Uint8Array> {
  const output = `${cwd}/out.js`;
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "--config", `${checkout}/deno.json`, "bundle", "--output", output],
    cwd,
    env,
  }).output();
  assert.equal(res.code, 0, decoder.decode(res.stderr));
  return Deno.readFileSync(output);
}

Deno.test("two builds in different directories, with different caches and homes, give the same bytes", async () => {
  const base = await Deno.makeTempDir({ prefix: "netauth-repro-" });
  try {
    const a = `${base}/a/checkout`;
    const b = `${base}/somewhere/much/deeper/netauth-pam-helper-copy`;
    await copyCheckout(a);
    await copyCheckout(b);
    // The second builder has its own DENO_DIR (seeded from ours so the test needs no network) and home.
    const otherDenoDir = `${base}/other-user/.cache/deno`;
    Deno.mkdirSync(otherDenoDir, { recursive: true });
    const cp = await new Deno.Command("cp", { args: ["-r", `${denoDir()}/npm`, `${otherDenoDir}/npm`] }).output();
    assert.equal(cp.code, 0, decoder.decode(cp.stderr));
    Deno.mkdirSync(`${base}/elsewhere`);
    const first = await bundle(a, a, { HOME: Deno.env.get("HOME") ?? "/root", DENO_DIR: denoDir() });
    const second = await bundle(b, `${base}/elsewhere`, { HOME: `${base}/other-user`, DENO_DIR: otherDenoDir });

    const text = decoder.decode(second);
    for (const leak of [base, "/.cache/deno", "registry.npmjs.org", "other-user", "checkout/src"]) {
      assert.ok(!text.includes(leak), `the bundle names a builder path: ${leak}`);
    }
    assert.equal(first.length, second.length, "the two bundles differ in length");
    assert.ok(first.every((byte, i) => byte === second[i]), "the two bundles differ");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
