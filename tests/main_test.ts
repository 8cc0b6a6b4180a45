import assert from "node:assert/strict";

Deno.test("main.ts loads gRPC only through a dynamic import", async () => {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json", "src/main.ts"] }).output();
  const graph = JSON.parse(new TextDecoder().decode(out.stdout));
  const staticImports = new Map<string, string[]>();
  for (const mod of graph.modules) {
    const deps = (mod.dependencies ?? []).filter((d: { code?: { specifier: string }; isDynamic?: boolean }) =>
      d.code && !d.isDynamic
    );
    staticImports.set(mod.specifier, deps.map((d: { code: { specifier: string } }) => d.code.specifier));
  }
  // Walk the static graph from main.ts: gRPC must not be reachable without a dynamic import.
  const seen = new Set<string>();
  const walk = (spec: string) => {
    if (seen.has(spec)) return;
    seen.add(spec);
    for (const dep of staticImports.get(spec) ?? []) walk(dep);
  };
  walk(graph.roots[0]);
  const reached = [...seen].join(" ");
  assert.ok(
    graph.modules.some((m: { specifier: string }) => m.specifier.endsWith("grpc_client.ts")),
    "graph incomplete",
  );
  assert.doesNotMatch(reached, /grpc|proto-loader|grpc_client|\/cache\//);
  assert.match(reached, /login\.ts/);
});

/** The `node:` modules (and Deno's Node layer under them) and the cache modules a run loads, from Deno's debug log. */
async function modulesLoaded(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; loaded: string[] }> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["run", "-L", "debug", ...args], env, stdin: "null" })
    .output();
  const log = new TextDecoder().decode(out.stderr);
  // Deno logs each node: module as a code-cache hit or update as it loads; a local file's line may never come
  // (its cache is written after evaluation, and a refusal exits first), so the log is known live by its main module.
  assert.match(log, /main_module file:\/\/\S+\.ts/, "the debug log names the main module");
  return {
    code: out.code,
    loaded: [...log.matchAll(/ES module: ((?:node:|ext:deno_node\/|file:\/\/\S*\/src\/cache\/)[^\s,]+)/g)].map((m) =>
      m[1]
    ),
  };
}

Deno.test("a request refused on sight with --cache-dir set loads no node: module (nor opens the cache)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netauth-startup-" });
  try {
    // The measurement sees a node: module where one is loaded.
    Deno.writeTextFileSync(`${dir}/probe.ts`, 'await import("node:crypto");\n');
    assert.notDeepEqual((await modulesLoaded([`${dir}/probe.ts`], {})).loaded, []);

    Deno.mkdirSync(`${dir}/cache`, { mode: 0o700 });
    const run = await modulesLoaded(
      ["--allow-all", "src/main.ts", "--cache-dir", `${dir}/cache`, "--config", `${dir}/config.toml`],
      { PAM_TYPE: "auth", PAM_USER: "not a valid id!", PAM_SERVICE: "login" },
    );
    assert.equal(run.code, 10, "PAM_USER that cannot be an entity ID: PAM_USER_UNKNOWN");
    assert.deepEqual(run.loaded, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
