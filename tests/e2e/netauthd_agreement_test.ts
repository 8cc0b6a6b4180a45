// The agreement cases against the real NetAuth: netauthd v0.6.4 and its Go CLI (built by
// tests/netauthd/install.sh). Skipped without the binaries, except under CI=true (testkit/skip.ts).
import assert from "node:assert/strict";
import { ADMIN, ADMIN_SECRET, missingNetAuthd, netauthBinDir, startNetAuthd } from "../../testkit/netauthd.ts";
import { startFakeNetAuth } from "../../testkit/fake_netauth.ts";
import { removeAtUnload } from "../../testkit/fixture.ts";
import { testWhere } from "../../testkit/skip.ts";
import { makePki } from "../../testkit/pki.ts";
import { configToml, makeConfDir, printFlags, runHelper } from "../../testkit/run_helper.ts";

const missing = await missingNetAuthd();
const pki = await makePki();
removeAtUnload(pki.dir);
const it = (name: string, fn: (t: Deno.TestContext) => Promise<void>) =>
  testWhere(missing, { name, fn, sanitizeOps: false, sanitizeResources: false });
const decoder = new TextDecoder();

it("netauthd: non-UTF-8 secrets, --check --require-group, a certificate from elsewhere", async (t) => {
  const server = await startNetAuthd();
  try {
    const confDir = server.clientConfigDir;
    const flags = await printFlags(confDir);
    await t.step("a secret NetAuth's CLI set as erin-\\xe9 logs in with exactly those bytes", async () => {
      // Deno.Command would pass argv as UTF-8, so the byte 0xe9 goes through printf in sh.
      const script = `exec "$0" --config "$1" --entity "$2" --secret "$3" entity create erin ` +
        `--initial-secret "$(printf 'erin-\\351')"`;
      const created = await new Deno.Command("sh", {
        args: ["-c", script, `${netauthBinDir()}/netauth`, server.clientConfig, ADMIN, ADMIN_SECRET],
        clearEnv: true,
        env: { HOME: server.dir, TMPDIR: `${server.dir}/tmp`, PATH: "/usr/bin:/bin" },
      }).output();
      assert.equal(created.code, 0, decoder.decode(created.stderr));
      const env = { PAM_TYPE: "auth", PAM_USER: "erin", PAM_SERVICE: "sshd" };
      const bytes = Uint8Array.of(...new TextEncoder().encode("erin-"), 0xe9);
      const run = await runHelper({ confDir, flags, env, stdin: bytes });
      assert.equal(run.code, 0, run.stderr);
      assert.equal((await runHelper({ confDir, flags, env, stdin: "erin-\u00e9" })).code, 7);
    });
    await t.step("--check --require-group asks GroupInfo and names the unknown group", async () => {
      const args = ["--check", "--require-group", "ops", "--require-group", "stafff"];
      const run = await runHelper({ confDir, flags, args });
      assert.equal(run.code, 3, run.stdout);
      assert.equal(run.stdout.trim().split("\n").at(-1), "groups: FAIL unknown group(s): stafff");
      assert.match(await server.log(), /Unknown Group: group=stafff service=netauth-pam-helper-check/);
      const ok = await runHelper({
        confDir,
        flags,
        args: ["--check", "--require-group", "ops", "--require-group", "staff"],
      });
      assert.equal(ok.code, 0, ok.stdout);
    });
    await t.step("its self-signed certificate, with another CA in tls.certificate, is named as such", async () => {
      const dir = await makeConfDir(configToml(server.port), pki.caPem);
      try {
        const run = await runHelper({ confDir: dir, args: ["--check"] });
        assert.equal(run.code, 9, run.stdout);
        assert.equal(
          run.stdout.trim().split("\n").at(-1),
          `server: FAIL TLS: the server's certificate is not signed by the CA in tls.certificate (${dir}/keys/tls.pem)`,
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  } finally {
    await server.cleanup();
  }
});

it("NetAuth's Go client trusts what the helper trusts: not an expired CA, unless a valid one is there", async () => {
  const cases = [
    [pki.expiredCaServerCert, pki.expiredCaServerKey, pki.expiredCaPem, 2, 9],
    [pki.serverCert, pki.serverKey, pki.expiredCaPem + pki.caPem, 0, 0],
  ] as const;
  for (const [cert, key, caPem, goExit, helperExit] of cases) {
    const fake = await startFakeNetAuth({ cert, key });
    const dir = await makeConfDir(configToml(fake.port), caPem);
    try {
      const ping = await new Deno.Command(`${netauthBinDir()}/netauth`, {
        args: ["--config", `${dir}/config.toml`, "system", "ping"],
        clearEnv: true,
        env: { HOME: dir, PATH: "/usr/bin:/bin" },
      }).output();
      assert.equal(ping.code, goExit, decoder.decode(ping.stdout));
      if (goExit !== 0) assert.match(decoder.decode(ping.stdout), /x509: certificate has expired or is not yet valid/);
      assert.equal((await runHelper({ confDir: dir, args: ["--check"] })).code, helperExit);
    } finally {
      await fake.stop();
      await Deno.remove(dir, { recursive: true });
    }
  }
});
