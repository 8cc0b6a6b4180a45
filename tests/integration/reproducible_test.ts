// The bundle is a function of the source tree and the Deno version only: two builds of the same tree,
// from different directories, users' caches and working directories, are byte-identical.
import assert from "node:assert/strict";
import { denoDir } from "../../testkit/run_helper.ts";

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

/** `deno task bundle`, as install.sh runs it, from `cwd` with its own HOME and DENO_DIR: every file, by name. */
async function bundle(checkout: string, cwd: string, env: Record<string, string>): Promise<Map<string, Uint8Array>> {
  const outdir = `${cwd}/out`;
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "--config", `${checkout}/deno.json`, "bundle", "--outdir", outdir],
    cwd,
    env,
  }).output();
  assert.equal(res.code, 0, decoder.decode(res.stderr));
  const names = [...Deno.readDirSync(outdir)].map((e) => e.name).sort();
  return new Map(names.map((name) => [name, Deno.readFileSync(`${outdir}/${name}`)]));
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

    assert.ok(second.has("netauth-pam-helper.js") && second.size > 1, [...second.keys()].join());
    assert.deepEqual([...first.keys()], [...second.keys()], "the two builds split into different chunks");
    for (const [name, bytes] of second) {
      const text = decoder.decode(bytes);
      for (const leak of [base, "/.cache/deno", "registry.npmjs.org", "other-user", "checkout/src"]) {
        assert.ok(!text.includes(leak), `${name} names a builder path: ${leak}`);
      }
      const other = first.get(name)!;
      assert.ok(other.length === bytes.length && other.every((byte, i) => byte === bytes[i]), `${name} differs`);
    }
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("the bundle's entry and what it imports statically load no node: module (bad input loads almost nothing)", async () => {
  const outdir = await Deno.makeTempDir({ prefix: "netauth-split-" });
  try {
    const res = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "--config", `${ROOT}deno.json`, "bundle", "--outdir", outdir],
    }).output();
    assert.equal(res.code, 0, decoder.decode(res.stderr));
    const seen = new Set<string>();
    const visit = (name: string) => {
      if (seen.has(name)) return;
      seen.add(name);
      const text = Deno.readTextFileSync(`${outdir}/${name}`);
      // Static imports only: `import(...)` is what loads gRPC and the cache on demand.
      for (const [, spec] of text.matchAll(/(?:\bfrom|\bimport)\s*"((?:\.\/|node:)[^"]+)"/g)) {
        assert.ok(!spec.startsWith("node:"), `${name} imports ${spec} statically`);
        visit(spec.replace(/^\.\//, ""));
      }
    };
    visit("netauth-pam-helper.js");
    assert.ok(seen.size >= 2, [...seen].join());
    const all = [...Deno.readDirSync(outdir)].map((e) => e.name);
    assert.ok(all.some((n) => n.startsWith("grpc_client-") && !seen.has(n)), "gRPC is not a chunk of its own");
  } finally {
    await Deno.remove(outdir, { recursive: true });
  }
});
