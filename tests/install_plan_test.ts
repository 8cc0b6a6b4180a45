import assert from "node:assert/strict";
import { bakedArgs, BUNDLE_RUN_OPTIONS } from "../src/install_plan.ts";

Deno.test("the installed helper is told its config, cache and runtime directories", () => {
  assert.deepEqual(bakedArgs({ confDir: "/etc/netauth" }), ["--config", "/etc/netauth/config.toml"]);
  assert.deepEqual(bakedArgs({ confDir: "/etc/netauth", cacheDir: "/var/cache/n", runtimeDir: "/l/runtime" }), [
    "--config",
    "/etc/netauth/config.toml",
    "--cache-dir",
    "/var/cache/n",
    "--runtime-dir",
    "/l/runtime",
  ]);
});

Deno.test("the bundle runs with nothing from a config file, a lock, the network or npm", () => {
  assert.deepEqual(BUNDLE_RUN_OPTIONS, ["run", "--quiet", "--no-config", "--no-lock", "--no-remote", "--no-npm"]);
});
