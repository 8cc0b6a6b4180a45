import assert from "node:assert/strict";
import { testConfig } from "../testkit/config.ts";
import { configError } from "../src/config.ts";
import { readRootCertificate, trustedRoots } from "../src/certificate.ts";
import { createLogger } from "../src/log.ts";
import { decideLogin, type LoginOptions, type LoginParts } from "../src/login.ts";
import { fakeNetAuth } from "../testkit/fake_client.ts";
import { makePki } from "../testkit/pki.ts";
import type { PamRequest } from "../src/pam_request.ts";

const config = testConfig();
const options: LoginOptions = { timeoutSeconds: 10, requireGroups: [], outageWindowMs: 30_000 };
const ALICE: PamRequest = { type: "auth", entity: "alice", service: "login" };
const pw = () => new TextEncoder().encode("pw");

function parts(overrides: Partial<LoginParts> = {}) {
  const seen = { connects: 0, warmUps: 0, warmUpsAtConnect: -1, lines: [] as string[], due: 0 };
  const client = fakeNetAuth({ secrets: { alice: "pw" } });
  const p: LoginParts = {
    logger: createLogger("TRACE", (line) => seen.lines.push(line)),
    deadline: Date.now() + 10_000,
    loadConfig: () => Promise.resolve(config),
    netGranted: () => true,
    warmUpTls: () => seen.warmUps++,
    roots: async (c) => c.pwnMe ? undefined : (await trustedRoots(c, await readRootCertificate(c))).pem,
    // As main.ts's connect does: the calls' deadline is asked for last.
    connect: async (_config, _service, due) => {
      seen.due = await due();
      seen.connects++;
      seen.warmUpsAtConnect = seen.warmUps;
      return client;
    },
    ...overrides,
  };
  return { p, seen, client };
}

Deno.test("a checked request reaches NetAuth with its secret; the client is closed", async () => {
  const { p, client, seen } = parts();
  const result = await decideLogin(ALICE, pw(), options, p);
  assert.deepEqual([result.exit, result.outcome, result.msg], [0, "authenticated", "authenticated"]);
  assert.deepEqual(client.calls, ["auth alice", "close"]);
  assert.deepEqual(result.fields, { source: undefined });
  assert.equal(seen.due, p.deadline, "without a cache NetAuth gets the whole deadline");
});

Deno.test("with a cache, NetAuth's share ends the cache's reserve before the deadline", async () => {
  const { p, seen } = parts();
  const cached = { ...options, cache: { dir: "/nonexistent", maxAgeMs: 1000, tries: 1 } };
  assert.equal((await decideLogin(ALICE, pw(), cached, p)).exit, 0); // the unusable cache is skipped, with a warning
  assert.equal(seen.due, p.deadline - 1000);
  assert.ok(seen.lines.some((line) => line.includes("offline cache skipped: /nonexistent")), seen.lines.join("\n"));
});

Deno.test("local failures end the login before any NetAuth client exists", async () => {
  const cases: [Partial<LoginParts>, number, RegExp][] = [
    [{ loadConfig: () => Promise.reject(configError("/c", "core.server", "required")) }, 3, /core\.server/],
    [{ netGranted: () => false }, 3, /sandbox does not allow connecting to netauth\.example\.org:1729 .*install\.sh/],
  ];
  for (const [overrides, exit, msg] of cases) {
    const { p, seen } = parts(overrides);
    const result = await decideLogin(ALICE, pw(), options, p);
    assert.equal(result.exit, exit);
    assert.match(result.msg, msg);
    assert.equal(seen.connects, 0);
    assert.equal(seen.warmUps, 0, "a request refused locally starts no TLS warm-up");
  }
});

Deno.test("issue 26: too little of the deadline left for a real try: no_time (9), NetAuth never asked", async () => {
  const { p, client } = parts({ deadline: Date.now() + 500 });
  const result = await decideLogin(ALICE, pw(), options, p);
  assert.deepEqual([result.exit, result.outcome], [9, "no_time"]);
  assert.match(result.msg, /^NetAuth not asked: \d+ ms of its share/);
  assert.deepEqual(client.calls, []);
});

Deno.test("the TLS warm-up starts once before connecting over TLS, never for plaintext", async () => {
  const pki = await makePki();
  try {
    const tls = testConfig({ pwnMe: false, certificate: `${pki.dir}/trusted.pem` });
    const overTls = parts({ loadConfig: () => Promise.resolve(tls) });
    assert.equal((await decideLogin(ALICE, pw(), options, overTls.p)).exit, 0);
    assert.deepEqual([overTls.seen.warmUps, overTls.seen.warmUpsAtConnect], [1, 1]);
    const plain = parts();
    assert.equal((await decideLogin(ALICE, pw(), options, plain.p)).exit, 0);
    assert.deepEqual([plain.seen.connects, plain.seen.warmUps], [1, 0]);
  } finally {
    await Deno.remove(pki.dir, { recursive: true });
  }
});
