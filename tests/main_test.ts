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
