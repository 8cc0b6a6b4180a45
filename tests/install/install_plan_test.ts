import assert from "node:assert/strict";
import {
  bakedArgs,
  BUNDLE_RUN_OPTIONS,
  loginSlotsFor,
  planFiles,
  type PlanSpec,
} from "../../src/install/install_plan.ts";

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
  assert.equal(BUNDLE_RUN_OPTIONS.join(" "), "run --quiet --no-config --no-lock --no-remote --no-npm");
});

const spec: PlanSpec = {
  mode: "bundle",
  paths: { confDir: "/etc/netauth", runtimeDir: "/l/runtime" },
  setpriv: "/usr/bin/setpriv",
  loginSlots: { count: 4, chosen: false },
  launcherPath: "/usr/sbin/netauth-pam-helper",
  installed: { artefact: "/l/netauth-pam-helper.js", deno: "/l/deno", runtimeDir: "/l/runtime" },
  staged: { artefact: "/stage/netauth-pam-helper.js", deno: "/stage/deno", runtimeDir: "/stage/runtime" },
};
const flags = ["--no-prompt", "--allow-read=/etc/netauth,/l", "--allow-net=netauth.test:1729"];
/** What the launcher runs (before admission control and setpriv are put in front). */
const command = (launcher: string) => launcher.split("\n").find((line) => line.startsWith("set -- /"))!;

Deno.test("one plan: the flags and baked arguments on a line each, and both launchers", () => {
  const files = planFiles(spec, flags);
  assert.deepEqual(Object.keys(files).sort(), ["baked-args", "flags", "launcher", "verify-launcher"]);
  assert.equal(files.flags, "--no-prompt --allow-read=/etc/netauth,/l --allow-net=netauth.test:1729\n");
  assert.equal(files["baked-args"], "--config /etc/netauth/config.toml --runtime-dir /l/runtime\n");
  const baked = "--config /etc/netauth/config.toml --runtime-dir /l/runtime";
  const run = "run --quiet --no-config --no-lock --no-remote --no-npm --no-prompt --allow-read=/etc/netauth,/l";
  assert.equal(
    command(files.launcher),
    `set -- /l/deno ${run} --allow-net=netauth.test:1729 /l/netauth-pam-helper.js ${baked} "$@"`,
  );
  assert.match(files.launcher, /DENO_DIR=\/l\/runtime\/deno /);
});

Deno.test("the staged build's launcher differs only in where the artefact, deno and runtime directories are", () => {
  const files = planFiles(spec, flags);
  assert.equal(
    files["verify-launcher"],
    files.launcher.replaceAll("/l/netauth-pam-helper.js", "/stage/netauth-pam-helper.js")
      .replaceAll("/l/deno ", "/stage/deno ").replaceAll("=/l/runtime/", "=/stage/runtime/")
      .replace(" /l/runtime/slots ", " /stage/runtime/slots "),
  );
  assert.notEqual(files["verify-launcher"], files.launcher);
});

Deno.test("compile mode: the launcher runs the binary with the baked arguments, no deno and no flags", () => {
  const compiled = { ...spec, mode: "compile" as const };
  const files = planFiles({
    ...compiled,
    installed: { ...spec.installed, artefact: "/l/netauth-pam-helper" },
  }, flags);
  assert.equal(
    command(files.launcher),
    `set -- /l/netauth-pam-helper --config /etc/netauth/config.toml --runtime-dir /l/runtime "$@"`,
  );
});

Deno.test("bundle mode refuses a deno that is not an absolute path", () => {
  assert.throws(
    () => planFiles({ ...spec, installed: { ...spec.installed, deno: "deno" } }, flags),
    /bundle mode needs the absolute path of deno, got "deno"/,
  );
});

Deno.test("with --broker: the socket is baked in, and the plan gains the broker's unit running the same launcher", () => {
  const socket = "/l/runtime/broker/socket";
  const paths = { ...spec.paths, brokerSocket: socket, cacheDir: "/var/cache/n" };
  assert.deepEqual(bakedArgs(paths).slice(-2), ["--broker-socket", socket]);
  const files = planFiles({ ...spec, paths }, flags);
  assert.match(files["baked-args"], / --broker-socket \/l\/runtime\/broker\/socket\n$/);
  assert.match(files["broker-unit"] ?? "", /^ExecStart=\/usr\/sbin\/netauth-pam-helper --serve$/m);
  assert.match(files["broker-unit"] ?? "", /^ReadWritePaths=\/l\/runtime\/broker \/var\/cache\/n$/m);
  assert.equal(planFiles(spec, flags)["broker-unit"], undefined);
});

Deno.test("login slots: --login-slots N as given, else four a CPU (4 to 64); a bad N is refused", () => {
  assert.deepEqual(loginSlotsFor(undefined, 1), { count: 4, chosen: false });
  assert.deepEqual(loginSlotsFor(undefined, 2), { count: 8, chosen: false });
  assert.deepEqual(loginSlotsFor(undefined, 16), { count: 64, chosen: false });
  assert.deepEqual(loginSlotsFor(undefined, 96), { count: 64, chosen: false });
  assert.deepEqual(loginSlotsFor("1", 16), { count: 1, chosen: true });
  for (const bad of ["0", "", "-1", "2.5", "1025", "4 ", "x"]) {
    assert.throws(() => loginSlotsFor(bad), /^Error: --login-slots expects a whole number from 1 to 1024, got /);
  }
  const launcher = planFiles(spec, flags).launcher;
  assert.match(launcher, /^# Admission control: at most 4 helpers at once \(the default for this host's CPUs\);/m);
  assert.match(
    launcher,
    /^ {2}set -- \/usr\/bin\/setsid -w \/bin\/sh -c "\$admission" netauth-admission 4 \/l\/runtime\/slots "\$started_ms" "\$@"$/m,
  );
});
