import assert from "node:assert/strict";
import { testConfig } from "../../testkit/config.ts";
import { configError } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { handleLogin, type LoginDeps } from "../../src/commands/login.ts";
import { fakeNetAuth } from "../../testkit/fake_client.ts";
import { decide } from "../../src/policy.ts";
import { makePki } from "../../testkit/pki.ts";

const config = testConfig();

function deps(env: Record<string, string>, stdin: string, overrides: Partial<LoginDeps> = {}) {
  const seen = { connects: 0, warmUps: 0, warmUpsAtConnect: -1, lines: [] as string[] };
  const client = fakeNetAuth({ secrets: { alice: "pw" } });
  const d: LoginDeps = {
    getEnv: (name) => env[name],
    stdin: ReadableStream.from([new TextEncoder().encode(stdin)]),
    loadConfig: () => Promise.resolve(config),
    netGranted: () => true,
    warmUpTls: () => seen.warmUps++,
    connect: () => (seen.connects++, seen.warmUpsAtConnect = seen.warmUps, Promise.resolve(client)),
    logger: createLogger("TRACE", (line) => seen.lines.push(line)),
    decide,
    ...overrides,
  };
  return { d, seen, client };
}

const options = { requireGroups: [] };
const AUTH = { PAM_TYPE: "auth", PAM_USER: "alice", PAM_SERVICE: "login" };

Deno.test("a good request reaches NetAuth with the stdin secret", async () => {
  const { d, seen, client } = deps(AUTH, "pw\0");
  const result = await handleLogin(options, d);
  assert.deepEqual([result.exit, result.outcome, result.msg], [0, "authenticated", "authenticated"]);
  assert.deepEqual(client.calls, ["auth alice", "close"]);
  assert.deepEqual(client.secrets, [new Uint8Array(2)], "the secret's buffer is zeroed once the decision is made");
  assert.deepEqual(result.fields, { source: undefined });
  // The request's fields travel with the logger, so main.ts's decision line carries them.
  for (const line of seen.lines) assert.match(line, / entity=alice service=login type=auth( |$)/, line);
});

Deno.test("a refused PAM_USER's line still names service, rhost and type, but not the entity", async () => {
  const { d, seen } = deps({ ...AUTH, PAM_USER: "a b", PAM_RHOST: "192.0.2.7" }, "pw");
  const result = await handleLogin(options, d);
  assert.equal(result.exit, 10);
  d.logger.log("WARN", result.msg, result.fields);
  assert.equal(
    seen.lines.at(-1),
    'level=warn msg="PAM_USER \\"a b\\" cannot be a NetAuth entity ID" service=login rhost=192.0.2.7 type=auth',
  );
});

Deno.test("local failures end the run before any NetAuth client exists", async () => {
  const cases: [Record<string, string>, string, Partial<LoginDeps>, number][] = [
    [{ ...AUTH, PAM_USER: "../x" }, "pw", {}, 10],
    [{ ...AUTH, PAM_TYPE: "password" }, "pw", {}, 3],
    [AUTH, "", {}, 7],
    [AUTH, "x".repeat(600), {}, 7],
    [AUTH, "pw", { loadConfig: () => Promise.reject(configError("/c", "core.server", "required")) }, 3],
    [AUTH, "pw", { netGranted: () => false }, 3],
  ];
  for (const [env, stdin, overrides, exit] of cases) {
    const { d, seen } = deps(env, stdin, overrides);
    const result = await handleLogin(options, d);
    assert.equal(result.exit, exit, JSON.stringify([env, overrides]));
    assert.equal(seen.connects, 0);
    assert.equal(seen.warmUps, 0, "a request refused locally starts no TLS warm-up");
  }
});

Deno.test("the TLS warm-up starts once before connecting over TLS, never for plaintext", async () => {
  const pki = await makePki();
  try {
    const tls = testConfig({ pwnMe: false, certificate: `${pki.dir}/trusted.pem` });
    const overTls = deps(AUTH, "pw", { loadConfig: () => Promise.resolve(tls) });
    assert.equal((await handleLogin(options, overTls.d)).exit, 0);
    assert.deepEqual([overTls.seen.warmUps, overTls.seen.warmUpsAtConnect], [1, 1]);
    const plain = deps(AUTH, "pw");
    assert.equal((await handleLogin(options, plain.d)).exit, 0);
    assert.deepEqual([plain.seen.connects, plain.seen.warmUps], [1, 0]);
  } finally {
    await Deno.remove(pki.dir, { recursive: true });
  }
});

Deno.test("account requests never read stdin", async () => {
  const stdin = new ReadableStream<Uint8Array>({ pull: () => assert.fail("stdin read") });
  const { d } = deps({ PAM_TYPE: "account", PAM_USER: "alice" }, "", { stdin });
  assert.equal((await handleLogin(options, d)).exit, 0);
});

Deno.test("a sandbox that does not cover the configured server says how to fix it", async () => {
  const { d } = deps(AUTH, "pw", { netGranted: () => false });
  assert.equal(
    (await handleLogin(options, d)).msg,
    "this helper's sandbox does not allow connecting to netauth.example.org:1729 " +
      "(core.server or core.port changed since it was built?): re-run install.sh",
  );
});
