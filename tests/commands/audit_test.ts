// `--audit` with injected parts. `deno test --allow-all` grants everything, so here the report must
// find the sandbox wider than declared and fail: what it would say of a helper installed wrongly.
import assert from "node:assert/strict";
import { testConfig } from "../../testkit/config.ts";
import { auditCommand, type AuditDeps, type AuditReport } from "../../src/commands/audit.ts";
import { configError } from "../../src/config.ts";
import { sandboxFlags, sandboxTargetFor } from "../../src/sandbox.ts";

const config = testConfig({ pwnMe: false });

async function audit(options: { cacheDir?: string; runtimeDir?: string }, overrides: Partial<AuditDeps> = {}) {
  const printed: string[] = [];
  const inspected: string[] = [];
  const exit = await auditCommand({ configPath: config.file, ...options }, {
    loadConfig: () => Promise.resolve(config),
    inspectArtefact: (dir) => {
      inspected.push(dir);
      return Promise.resolve({ path: `${dir}/netauth-pam-helper.js`, manifest: `${dir}/manifest.json` });
    },
    print: (line) => printed.push(line),
    ...overrides,
  });
  assert.equal(printed.length, 1, "one JSON document");
  return { exit, report: JSON.parse(printed[0]) as AuditReport, inspected };
}

Deno.test("permissions beyond the declared sandbox fail the audit with exit 4, each one listed", async () => {
  const { exit, report } = await audit({});
  assert.equal(exit, 4);
  assert.equal(report.ok, false);
  assert.equal(report.config, "/etc/netauth/config.toml");
  assert.deepEqual(report.declared, sandboxFlags(sandboxTargetFor(config)));
  for (
    const label of ["read:/etc/shadow", "write:/etc/pam.d", "net:1.1.1.1:443", "env:LD_PRELOAD", "run:any program"]
  ) {
    assert.ok(report.unexpected.includes(label), `${label} not in ${report.unexpected.join(", ")}`);
  }
  assert.ok(report.unexpected.includes("attempt:run /bin/true"));
  assert.equal(report.attempts["run /bin/true"], "succeeded");
  assert.deepEqual(report.missing, [], "everything declared is granted");
});

Deno.test("a config that does not load is reported, with the probes still run", async () => {
  const { exit, report } = await audit({}, {
    loadConfig: () => Promise.reject(configError(config.file, "core.server", "required")),
  });
  assert.equal(exit, 4);
  assert.equal(report.configError, "config /etc/netauth/config.toml: core.server: required");
  assert.deepEqual(report.declared, []);
  assert.ok(report.probes.some((p) => p.permission === "read" && p.target === "/etc/netauth"));
});

Deno.test("the cache directory is declared readable and writable", async () => {
  const { report } = await audit({ cacheDir: "/var/cache/netauth" });
  assert.equal(report.cacheDir, "/var/cache/netauth");
  assert.ok(report.declared.includes("--allow-write=/var/cache/netauth"));
  const cacheProbes = report.probes.filter((p) => p.target === "/var/cache/netauth");
  assert.deepEqual(cacheProbes.map((p) => [p.permission, p.expected]), [["read", "granted"], ["write", "granted"]]);
});

Deno.test("an installed helper's runtime directories and artefact are inspected and reported", async () => {
  const runtimeDir = "/nonexistent-netauth-test/lib/netauth-pam-helper/runtime";
  const { exit, report, inspected } = await audit({ runtimeDir });
  assert.deepEqual(inspected, ["/nonexistent-netauth-test/lib/netauth-pam-helper"]);
  assert.equal(report.artefact?.manifest, "/nonexistent-netauth-test/lib/netauth-pam-helper/manifest.json");
  assert.deepEqual(report.runtimeDirs?.map((d) => [d.path, d.problem]), [
    [runtimeDir, "does not exist: re-run install.sh"],
    [`${runtimeDir}/home`, "does not exist: re-run install.sh"],
    [`${runtimeDir}/deno`, "does not exist: re-run install.sh"],
    [`${runtimeDir}/tmp`, "does not exist: re-run install.sh"],
  ]);
  assert.equal(exit, 4);
});
