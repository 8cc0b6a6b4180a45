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

Deno.test("the broker's fast path is in main.ts's static graph and reaches no gRPC, cache or node: module", async () => {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json", "src/broker/forward.ts"] }).output();
  const graph = JSON.parse(new TextDecoder().decode(out.stdout));
  const specifiers = graph.modules.map((m: { specifier: string }) => m.specifier).join(" ");
  assert.match(specifiers, /broker\/protocol\.ts/, "graph incomplete");
  assert.doesNotMatch(specifiers, /grpc|proto-loader|\/cache\/|node:|npm:/);
  const main = await new Deno.Command(Deno.execPath(), { args: ["info", "--json", "src/main.ts"] }).output();
  const mainGraph = JSON.parse(new TextDecoder().decode(main.stdout));
  const forward = mainGraph.modules.find((m: { specifier: string }) => m.specifier.endsWith("/src/main.ts"))
    .dependencies.find((d: { specifier: string }) => d.specifier === "./broker/forward.ts");
  assert.ok(forward && !forward.isDynamic, "main.ts imports the fast path statically (the bundle test walks it)");
  assert.ok(
    mainGraph.modules.find((m: { specifier: string }) => m.specifier.endsWith("/src/main.ts"))
      .dependencies.some((d: { specifier: string; isDynamic?: boolean }) =>
        d.specifier === "./broker/serve.ts" && d.isDynamic
      ),
    "the broker itself loads only with --serve",
  );
});
