import assert from "node:assert/strict";
import { encodeHello, encodeReply, readFrame } from "../src/broker/protocol.ts";

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

Deno.test("the broker's fast path is in main.ts's static graph and reaches no gRPC, cache or node: module", async () => {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json", "src/broker/forward.ts"] }).output();
  const graph = JSON.parse(new TextDecoder().decode(out.stdout));
  const specifiers = graph.modules.map((m: { specifier: string }) => m.specifier).join(" ");
  assert.match(specifiers, /broker\/protocol\.ts/, "graph incomplete");
  assert.doesNotMatch(specifiers, /grpc|proto-loader|\/cache\/|node:|npm:/);
  const main = await new Deno.Command(Deno.execPath(), { args: ["info", "--json", "src/main.ts"] }).output();
  const mainGraph = JSON.parse(new TextDecoder().decode(main.stdout));
  // main.ts -> commands/run.ts -> broker/forward.ts, each a static import: the fast path is in the main chunk.
  const staticDep = (module: string, dep: string) => {
    const found = mainGraph.modules.find((m: { specifier: string }) => m.specifier.endsWith(module))
      ?.dependencies.find((d: { specifier: string }) => d.specifier === dep);
    return found && !found.isDynamic;
  };
  assert.ok(
    staticDep("/src/main.ts", "./commands/run.ts") && staticDep("/src/commands/run.ts", "../broker/forward.ts"),
    "main.ts imports the fast path statically (the bundle test walks it)",
  );
  assert.ok(
    mainGraph.modules.find((m: { specifier: string }) => m.specifier.endsWith("/src/main.ts"))
      .dependencies.some((d: { specifier: string; isDynamic?: boolean }) =>
        d.specifier === "./commands/serve.ts" && d.isDynamic
      ),
    "the broker itself loads only with --serve",
  );
});

Deno.test({
  name: "a login answered by the broker loads no node: module, no gRPC and no cache (the fast path)",
  ignore: Deno.uid() !== 0, // the socket must sit in a root-only directory, as installed
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "netauth-fastpath-" });
    Deno.mkdirSync(`${dir}/broker`, { mode: 0o700 });
    Deno.mkdirSync(`${dir}/cache`, { mode: 0o700 });
    const socket = `${dir}/broker/socket`;
    const listener = Deno.listen({ transport: "unix", path: socket });
    // A scripted broker: greet, read the request, answer "permitted".
    const served = (async () => {
      for await (const conn of listener) {
        await conn.write(encodeHello());
        await readFrame((b) => conn.read(b));
        await conn.write(encodeReply({ exit: 0, outcome: "permitted", msg: "account permitted" }));
        conn.close();
      }
    })().catch(() => {});
    try {
      const args = ["--allow-all", "src/main.ts", "--broker-socket", socket, "--cache-dir", `${dir}/cache`];
      const run = await modulesLoaded(
        [...args, "--config", `${dir}/config.toml`],
        { PAM_TYPE: "account", PAM_USER: "alice", PAM_SERVICE: "login" },
      );
      assert.equal(run.code, 0, "the broker's answer is the exit code (no config exists: the direct path would fail)");
      assert.deepEqual(run.loaded, []);
    } finally {
      listener.close();
      await served;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("the decision line says how long the launcher's admission control made the login wait, when it did", async () => {
  const line = async (env: Record<string, string>) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-env", "src/main.ts"],
      env: { PAM_TYPE: "auth", PAM_USER: "", ...env },
      clearEnv: true,
      stdin: "null",
    }).output();
    return new TextDecoder().decode(out.stderr).trim().split("\n").at(-1) ?? "";
  };
  assert.match(await line({ NETAUTH_WAITED_MS: "1234" }), / outcome=\S+ exit=3 waited=1234 ms=\d+$/);
  assert.match(await line({}), / outcome=\S+ exit=3 ms=\d+$/);
  assert.match(await line({ NETAUTH_WAITED_MS: "soon" }), / exit=3 ms=\d+$/);
});
