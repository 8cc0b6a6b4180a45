// The launcher PAM runs as root, as each mode writes it, through `shellcheck -s sh`: clean, and every disable says why.
import assert from "node:assert/strict";
import { planFiles, type PlanSpec } from "../../src/install/install_plan.ts";
import { PACKAGED } from "../../src/install/package_layout.ts";
import { sandboxFlags, sandboxTargetFor, withBrokerSocket } from "../../src/sandbox.ts";
import { testWhere } from "../../testkit/skip.ts";

const LIB = "/usr/local/lib/netauth-pam-helper";
const RUNTIME = `${LIB}/runtime`;
const SOCKET = `${RUNTIME}/broker/socket`;
const config = (server: string) => ({
  file: "/etc/netauth/config.toml",
  certificate: "/etc/netauth/keys/tls.pem",
  server,
  port: 1729,
});
const source = (artefact: string): Pick<PlanSpec, "setpriv" | "installed" | "staged" | "loginSlots"> => ({
  setpriv: "/usr/bin/setpriv",
  loginSlots: { count: 8, chosen: false }, // admission control's text is linted too
  installed: { artefact: `${LIB}/${artefact}`, deno: `${LIB}/deno`, runtimeDir: RUNTIME },
  staged: { artefact: `/tmp/stage/${artefact}`, deno: "/tmp/stage/deno", runtimeDir: "/tmp/stage/runtime" },
});

/** Every mode's plan and its sandbox flags, as install.sh (bundle, compile, --broker) and --setup (package) make them. */
const MODES: Record<string, { spec: PlanSpec; flags: string[] }> = {
  bundle: {
    spec: {
      mode: "bundle",
      paths: { confDir: "/etc/netauth", runtimeDir: RUNTIME },
      ...source("netauth-pam-helper.js"),
    },
    flags: sandboxFlags(sandboxTargetFor(config("netauth.example.org"), undefined, RUNTIME)),
  },
  compile: {
    spec: {
      mode: "compile",
      paths: { confDir: "/etc/netauth", cacheDir: "/var/cache/netauth", runtimeDir: RUNTIME },
      ...source("netauth-pam-helper"),
    },
    flags: sandboxFlags(sandboxTargetFor(config("10.0.0.5"), "/var/cache/netauth", RUNTIME)),
  },
  broker: {
    spec: {
      mode: "bundle",
      paths: { confDir: "/etc/netauth", runtimeDir: RUNTIME, brokerSocket: SOCKET },
      launcherPath: "/usr/local/sbin/netauth-pam-helper",
      ...source("netauth-pam-helper.js"),
    },
    // An IPv6 server: its bracketed net flag is a word the launcher has to quote.
    flags: sandboxFlags(withBrokerSocket(sandboxTargetFor(config("::1"), undefined, RUNTIME), SOCKET)),
  },
  package: {
    spec: {
      mode: "bundle",
      paths: { confDir: PACKAGED.confDir, runtimeDir: PACKAGED.runtimeDir, brokerSocket: PACKAGED.brokerSocket },
      setpriv: "/usr/bin/setpriv",
      loginSlots: { count: 3, chosen: true },
      installed: { artefact: PACKAGED.artefact, deno: PACKAGED.deno, runtimeDir: PACKAGED.runtimeDir },
      staged: { artefact: PACKAGED.artefact, deno: PACKAGED.deno, runtimeDir: PACKAGED.runtimeDir },
    },
    flags: sandboxFlags(
      withBrokerSocket(
        sandboxTargetFor(config("netauth.example.org"), undefined, PACKAGED.runtimeDir),
        PACKAGED.brokerSocket,
      ),
    ),
  },
};

/** Every launcher text the modes write: the one PAM runs and the staged build's. */
const launchers = Object.entries(MODES).flatMap(([mode, { spec, flags }]) => {
  const files = planFiles(spec, flags);
  return [[`${mode} launcher`, files.launcher], [`${mode} verify-launcher`, files["verify-launcher"]]];
});

async function missingShellcheck(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("shellcheck", { args: ["--version"], stdout: "null", stderr: "null" }).output();
    return out.success ? undefined : "shellcheck --version failed";
  } catch {
    return "shellcheck not installed (apt-get install shellcheck)";
  }
}

/** shellcheck's findings on `text` as sh (from stdin), or "" when it is clean. */
async function shellcheck(text: string): Promise<string> {
  const child = new Deno.Command("shellcheck", {
    args: ["-s", "sh", "-f", "gcc", "-"],
    stdin: "piped",
    stdout: "piped",
  })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  return new TextDecoder().decode(out.stdout);
}

testWhere(await missingShellcheck(), {
  name: "every mode's launcher (bundle, compile, --broker, package; installed and staged) is shellcheck-clean as sh",
  async fn() {
    const findings = await Promise.all(launchers.map(async ([name, text]) => [name, await shellcheck(text)]));
    assert.deepEqual(findings.filter(([, found]) => found !== ""), []);
  },
});

Deno.test("each shellcheck disable in the launcher names its codes and gives a reason on the same line", () => {
  for (const [name, text] of launchers) {
    const disables = text.split("\n").filter((line) => /^\s*# shellcheck /.test(line));
    for (const line of disables) assert.match(line, /^\s*# shellcheck disable=SC\d+(,SC\d+)* # \S.{15,}$/, name);
  }
});
