// `deno task bundle --outdir DIR`: the code-split bundle install.sh installs. DIR gets the entry as
// netauth-pam-helper.js and the chunks it imports (gRPC, the cache, --audit's check load on demand).
// deno bundle names chunks by a hash that covers the builder's npm cache path; we rename each by the
// SHA-256 of its content instead, so the same tree gives the same files anywhere (docs/install.md, "Reproducible builds").
import { sha256Hex } from "../src/digest.ts";

const ENTRY = "netauth-pam-helper.js";
const ROOT = new URL("../", import.meta.url).pathname;

const at = Deno.args.indexOf("--outdir");
const outdir = at >= 0 ? Deno.args[at + 1] : undefined;
if (!outdir || Deno.args.length !== 2) {
  console.error("usage: deno task bundle --outdir DIR");
  Deno.exit(2);
}
const raw = await Deno.makeTempDir({ prefix: "netauth-bundle-" });
try {
  const built = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--frozen", "--minify", "--platform", "deno", "--code-splitting"].concat(
      ["--config", `${ROOT}deno.json`, "--outdir", raw, `${ROOT}src/main.ts`],
    ),
  }).output();
  if (!built.success) {
    await Deno.stderr.write(built.stderr);
    Deno.exit(1);
  }
  const texts = new Map<string, string>();
  for (const e of Deno.readDirSync(raw)) texts.set(e.name, Deno.readTextFileSync(`${raw}/${e.name}`));
  // esbuild's helpers for npm's CommonJS (grpc-js) sit in one chunk that also calls node:module's
  // createRequire, and every entry imports it bare, only to keep evaluation order. The chunks that use
  // the helpers import them by name anyway; dropping the bare imports keeps node:module (~10 MiB, and
  // Node compatibility's start-up) off the path of runs that never reach gRPC.
  const helpers = [...texts].filter(([, text]) => text.includes("__deno_internal_createRequire")).map(([n]) => n);
  for (const [name, text] of texts) {
    texts.set(name, helpers.reduce((t, h) => t.replaceAll(`import"./${h}";`, ""), text));
  }
  const imports = (text: string) => [...texts.keys()].filter((name) => text.includes(`"./${name}"`));
  // Leaves first: a chunk's new name depends on the new names of what it imports.
  const renamed = new Map<string, string>();
  const visiting = new Set<string>();
  const rename = async (name: string): Promise<string> => {
    if (renamed.has(name)) return renamed.get(name)!;
    if (visiting.has(name)) throw new Error(`chunks import each other in a cycle through ${name}`);
    visiting.add(name);
    let text = texts.get(name)!;
    for (const dep of imports(text)) text = text.replaceAll(`"./${dep}"`, `"./${await rename(dep)}"`);
    const stem = name.replace(/-[A-Z0-9]+\.js$/, "");
    const final = name === "main.js"
      ? ENTRY
      : `${stem}-${(await sha256Hex(new TextEncoder().encode(text))).slice(0, 12)}.js`;
    texts.set(name, text);
    renamed.set(name, final);
    return final;
  };
  await Deno.mkdir(outdir, { recursive: true });
  for (const name of [...texts.keys()].sort()) {
    const final = await rename(name);
    await Deno.writeTextFile(`${outdir}/${final}`, texts.get(name)!);
  }
} finally {
  await Deno.remove(raw, { recursive: true });
}
