// The import graph of src/: no cycles, no module imports from a layer above its own, and nothing a login loads
// imports from src/install/ (the installer's own code). Every import counts (static, dynamic and type-only), read
// from the source text.
import assert from "node:assert/strict";

const SRC = new URL("../src/", import.meta.url).pathname;

/** Lowest first. A new module must be placed here, which is the point: say where it belongs. */
const LAYERS: Record<string, string[]> = {
  "0 facts": [
    "version.ts",
    "log.ts",
    "exit_codes.ts",
    "errors.ts",
    "paths.ts",
    "digest.ts",
    "argv.ts",
    "install/package_layout.ts",
    "semaphore.ts",
    "host_facts.ts",
  ],
  "1 local checks": [
    "file_modes.ts",
    "deadline.ts",
    "config.ts",
    "certificate.ts",
    "pam_request.ts",
    "sandbox.ts",
    "runtime_dir.ts",
    "netauth/client.ts",
    "netauth/failure_text.ts",
    "netauth/wire.ts",
    "netauth/messages.ts",
    "netauth/tls_warm_up.ts",
    "manifest_format.ts",
    "broker/protocol.ts",
    "broker/socket.ts",
    "login_options.ts",
    "pam_files.ts",
    "install/verify_report.ts",
    "install/log_dir.ts",
    "install/package_conf.ts",
  ],
  "2 decisions and services": [
    "policy.ts",
    "netauth/connection_trace.ts",
    "netauth/reply_checks.ts",
    "netauth/host_resolver.ts",
    "netauth/grpc_client.ts",
    "cache/lock.ts",
    "cache/kdf_pool.ts",
    "cache/verifier.ts",
    "cache/verifier_memo.ts",
    "cache/store.ts",
    "cache/offline.ts",
    "cache/open.ts",
    "outage/record.ts",
    "outage/gate.ts",
    "outage/open.ts",
    "artefact.ts",
    "broker/vouch.ts",
    "broker/forward.ts",
    "broker/limits.ts",
    "login.ts",
    "broker/listener.ts",
  ],
  "3 command line": ["cli.ts"],
  "4 commands": [
    "commands/login.ts",
    "commands/run.ts",
    "commands/check_user.ts",
    "commands/check.ts",
    "commands/audit.ts",
    "commands/help.ts",
    "commands/serve.ts",
  ],
  "5 entry points": [
    "main.ts",
    "install/launcher.ts",
    "install/install_plan.ts",
    "install/manifest.ts",
    "install/code_cache.ts",
    "install/verify_broker.ts",
    "install/verify_install.ts",
    "install/verify_build.ts",
    "install/broker_unit.ts",
    "install/host_files.ts",
    "install/package_setup.ts",
  ],
};

function sourceFiles(dir = SRC, prefix = ""): string[] {
  return [...Deno.readDirSync(dir)].flatMap((entry) =>
    entry.isDirectory
      ? sourceFiles(`${dir}${entry.name}/`, `${prefix}${entry.name}/`)
      : entry.name.endsWith(".ts")
      ? [`${prefix}${entry.name}`]
      : []
  );
}

/** The src/ modules `file` imports, as paths relative to src/. */
function importsOf(file: string): string[] {
  const text = Deno.readTextFileSync(`${SRC}${file}`);
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*)"(\.[^"]+)"/g)].map((m) => m[1]);
  return specifiers
    .map((spec) => new URL(spec, `file://${SRC}${file}`).pathname)
    .filter((path) => path.startsWith(SRC))
    .map((path) => path.slice(SRC.length));
}

const layerOf = new Map(Object.entries(LAYERS).flatMap(([layer, files]) => files.map((f) => [f, layer])));
const graph = new Map(sourceFiles().map((file) => [file, importsOf(file)]));

Deno.test("every module in src/ has a layer, and every listed module exists", () => {
  assert.deepEqual([...graph.keys()].filter((f) => !layerOf.has(f)), [], "place these in LAYERS");
  assert.deepEqual([...layerOf.keys()].filter((f) => !graph.has(f)), [], "remove these from LAYERS");
});

Deno.test("no module imports from a higher layer", () => {
  const upward = [...graph].flatMap(([file, deps]) =>
    deps.filter((dep) => layerOf.get(dep)! > layerOf.get(file)!).map((dep) =>
      `${file} (${layerOf.get(file)}) imports ${dep} (${layerOf.get(dep)})`
    )
  );
  assert.deepEqual(upward, []);
});

Deno.test("the import graph has no cycles", () => {
  const done = new Set<string>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (path.includes(file)) return cycles.push([...path.slice(path.indexOf(file)), file].join(" -> "));
    if (done.has(file)) return;
    for (const dep of graph.get(file) ?? []) visit(dep, [...path, file]);
    done.add(file);
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});

/** Every module main.ts reaches, through any import. */
function reachableFrom(entry: string): Set<string> {
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const dep of graph.get(file) ?? []) walk(dep);
  };
  walk(entry);
  return seen;
}

Deno.test("nothing a login loads comes from src/install/", () => {
  const loaded = reachableFrom("main.ts");
  assert.ok(
    loaded.has("commands/login.ts") && loaded.has("artefact.ts"),
    "the walk follows static and dynamic imports",
  );
  assert.deepEqual([...loaded].filter((file) => file.startsWith("install/")), []);
});

Deno.test("deno info agrees: main.ts's module graph has no file under src/install/", async () => {
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `${SRC}main.ts`],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(info.success, "deno info src/main.ts");
  const { modules } = JSON.parse(new TextDecoder().decode(info.stdout)) as { modules: { specifier: string }[] };
  const local = modules.map((m) => m.specifier).filter((s) => s.startsWith(`file://${SRC}`));
  assert.ok(local.some((s) => s.endsWith("/commands/login.ts")), "deno info lists the login path");
  assert.deepEqual(local.filter((s) => s.startsWith(`file://${SRC}install/`)), []);
});
