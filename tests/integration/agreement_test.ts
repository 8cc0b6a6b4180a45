// Where users would notice a difference from NetAuth's own Go client (issue 8, item 5), against
// the scripted server; tests/integration/netauthd_agreement_test.ts has the real one.
import assert from "node:assert/strict";
import { BYTE_SECRETS, startFakeNetAuth } from "./fake_netauth.ts";
import { makePki } from "./pki.ts";
import { configToml, decisionLine, makeConfDir, printFlags, runHelper } from "./run_helper.ts";

const pki = await makePki();
const server = await startFakeNetAuth({ cert: pki.serverCert, key: pki.serverKey });
const confDir = await makeConfDir(configToml(server.port), pki.caPem);
const cacheDir = await Deno.makeTempDir({ prefix: "netauth-cache-" });
await Deno.chmod(cacheDir, 0o700);
const flags = await printFlags(confDir);
const cleanup: (() => unknown)[] = [() => server.stop()];
globalThis.addEventListener("unload", () => {
  for (const fn of cleanup) fn();
  for (const dir of [pki.dir, confDir, cacheDir]) Deno.removeSync(dir, { recursive: true });
});

const it = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
const pam = (user: string, type = "auth") => ({ PAM_TYPE: type, PAM_USER: user, PAM_SERVICE: "sshd" });

it("a secret that is not UTF-8 reaches NetAuth byte for byte, and the cache keeps its bytes", async () => {
  const erin = BYTE_SECRETS.erin; // "erin-" then 0xe9: Latin-1 é
  const run = await runHelper({ confDir, flags, env: pam("erin"), stdin: erin });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(server.received.at(-1)?.secret, erin);
  // With pam_exec's trailing NUL too; and the UTF-8 spelling "erin-é" is another password.
  assert.equal((await runHelper({ confDir, flags, env: pam("erin"), stdin: Uint8Array.of(...erin, 0) })).code, 0);
  assert.equal((await runHelper({ confDir, flags, env: pam("erin"), stdin: "erin-\u00e9" })).code, 7);
  assert.deepEqual(server.received.at(-1)?.secret, new TextEncoder().encode("erin-\u00e9"));

  const cached = { confDir, flags: await printFlags(confDir, cacheDir), args: ["--cache-dir", cacheDir] };
  assert.equal((await runHelper({ ...cached, env: pam("erin"), stdin: erin })).code, 0);
  server.pause();
  try {
    const offline = await runHelper({ ...cached, env: pam("erin"), stdin: erin });
    assert.equal(offline.code, 0, offline.stderr);
    assert.match(decisionLine(offline), /source=cache outcome=authenticated/);
    assert.equal((await runHelper({ ...cached, env: pam("erin"), stdin: "erin-\u00e9" })).code, 7);
  } finally {
    server.resume();
  }
});
