// Where users would notice a difference from NetAuth's own Go client (issue 8, item 5), against
// the scripted server; tests/e2e/netauthd_agreement_test.ts has the real one.
import assert from "node:assert/strict";
import { atUnload, it, removeAtUnload, startFaulty, startScripted } from "../../testkit/fixture.ts";
import { BYTE_SECRETS, SECRETS, startFakeNetAuth } from "../../testkit/fake_netauth.ts";
import type { Fault } from "../../testkit/faulty_netauth.ts";
import { configToml, decisionLine, makeConfDir, runHelper } from "../../testkit/run_helper.ts";
import { OutageStore } from "../../src/outage/record.ts";
import { CacheStore } from "../../src/cache/store.ts";

const scripted = await startScripted({ cache: true });
const { pki, server, confDir, flags, cacheDir, cacheFlags } = scripted;
const broken = await startFaulty(scripted);
const pam = (user: string, type = "auth") => ({ PAM_TYPE: type, PAM_USER: user, PAM_SERVICE: "sshd" });
const withoutMs = (line: string) => line.replace(/ ms=\d+$/, " ms=N");

/** A config directory trusting `caPem`, for a scripted server with `cert`/`key`; removed at unload. */
async function serving(cert: Uint8Array | undefined, key: Uint8Array | undefined, caPem: string) {
  const other = await startFakeNetAuth(cert && key ? { cert, key } : undefined);
  const dir = await makeConfDir(configToml(other.port), caPem);
  atUnload(() => other.stop());
  removeAtUnload(dir);
  return { server: other, dir, pem: `${dir}/keys/tls.pem` };
}

it("a secret that is not UTF-8 reaches NetAuth byte for byte, and the cache keeps its bytes", async () => {
  const erin = BYTE_SECRETS.erin; // "erin-" then 0xe9: Latin-1 é
  const run = await runHelper({ confDir, flags, env: pam("erin"), stdin: erin });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(server.received.at(-1)?.secret, erin);
  // With pam_exec's trailing NUL too; and the UTF-8 spelling "erin-é" is another password.
  assert.equal((await runHelper({ confDir, flags, env: pam("erin"), stdin: Uint8Array.of(...erin, 0) })).code, 0);
  assert.equal((await runHelper({ confDir, flags, env: pam("erin"), stdin: "erin-\u00e9" })).code, 7);
  assert.deepEqual(server.received.at(-1)?.secret, new TextEncoder().encode("erin-\u00e9"));

  const cached = { confDir, flags: cacheFlags, args: ["--cache-dir", cacheDir] };
  assert.equal((await runHelper({ ...cached, env: pam("erin"), stdin: erin })).code, 0);
  server.pause();
  try {
    const offline = await runHelper({ ...cached, env: pam("erin"), stdin: erin });
    assert.equal(offline.code, 0, offline.stderr);
    assert.match(decisionLine(offline), /source=cache outcome=authenticated/);
    assert.equal((await runHelper({ ...cached, env: pam("erin"), stdin: "erin-\u00e9" })).code, 7);
  } finally {
    server.resume();
    await new OutageStore(cacheDir).remove(); // the outage is over for the tests after this one
  }
});

it("an expired CA in tls.certificate is not trusted: logins and --check both exit 9", async () => {
  const { server: behind, dir, pem } = await serving(pki.expiredCaServerCert, pki.expiredCaServerKey, pki.expiredCaPem);
  const why = `tls.certificate (${pem}) holds no certificate valid now: CN=expired expired on 2021-01-01`;
  const run = await runHelper({ confDir: dir, env: pam("alice"), stdin: SECRETS.alice, secret: SECRETS.alice });
  assert.equal(run.code, 9, run.stderr);
  assert.equal(
    withoutMs(run.stderr.trim()),
    `level=error msg="${why}" entity=alice service=sshd type=auth outcome=tls_failure exit=9 ms=N`,
  );
  assert.equal(behind.received.length, 0, "the secret was sent");
  const check = await runHelper({ confDir: dir, args: ["--check"] });
  assert.equal(check.code, 9, check.stdout);
  assert.equal(check.stdout.trim().split("\n").at(-1), `tls: FAIL ${why}`);
});

it("an expired CA next to a valid one is ignored, as Go's verifier does", async () => {
  const { dir, pem } = await serving(pki.serverCert, pki.serverKey, pki.expiredCaPem + pki.caPem);
  const run = await runHelper({ confDir: dir, env: pam("alice"), stdin: SECRETS.alice, secret: SECRETS.alice });
  assert.equal(run.code, 0, run.stderr);
  const check = await runHelper({ confDir: dir, args: ["--check"] });
  assert.equal(check.code, 0, check.stdout);
  assert.match(
    check.stdout,
    new RegExp(
      `^tls: ok ${pem} \\(CN=trusted, expires [-\\d]{10}; not trusted: CN=expired expired on 2021-01-01\\)$`,
      "m",
    ),
  );
});

it("--check --require-group names the groups NetAuth does not know (exit 3)", async () => {
  const bad = await runHelper({
    confDir,
    flags,
    args: ["--check", "--require-group", "ops", "--require-group", "stafff", "--require-group", "wheel"],
  });
  assert.equal(bad.code, 3, bad.stdout);
  const lines = bad.stdout.trim().split("\n");
  assert.equal(lines.length, 5, bad.stdout);
  assert.match(lines[3], /^server: ok /);
  assert.equal(lines[4], "groups: FAIL unknown group(s): stafff, wheel");
  assert.deepEqual(server.received.slice(-3).map((r) => [r.method, r.group]), [
    ["GroupInfo", "ops"],
    ["GroupInfo", "stafff"],
    ["GroupInfo", "wheel"],
  ]);
  const good = await runHelper({
    confDir,
    flags,
    args: ["--check", "--require-group", "ops", "--require-group", "staff"],
  });
  assert.equal(good.code, 0, good.stdout);
  assert.equal(good.stdout.trim().split("\n").at(-1), "groups: ok ops, staff exist");
});

it("TLS failures say what is wrong in the config's words, without a trailing resolution note", async () => {
  const stranger = await serving(pki.strangerCert, pki.strangerKey, pki.caPem);
  const selfSigned = await serving(pki.selfSignedCert, pki.selfSignedKey, pki.caPem);
  const otherName = await serving(pki.otherNameCert, pki.otherNameKey, pki.caPem);
  const plain = await serving(undefined, undefined, pki.caPem);
  const notSigned = (pem: string) =>
    `TLS: the server's certificate is not signed by the CA in tls.certificate (${pem})`;
  const cases: [typeof stranger, string][] = [
    // Deno's TLS stack reports an expired server certificate the same way as one from another CA.
    [stranger, `${notSigned(stranger.pem)}, or has expired`],
    [selfSigned, notSigned(selfSigned.pem)],
    [otherName, "TLS: the server's certificate is not valid for localhost (core.server)"],
    [plain, `TLS: localhost:${plain.server.port} did not answer in TLS (a plaintext server?)`],
  ];
  for (const [{ dir }, reason] of cases) {
    const run = await runHelper({ confDir: dir, env: pam("alice"), stdin: SECRETS.alice, secret: SECRETS.alice });
    assert.equal(run.code, 9, run.stderr);
    assert.equal(
      withoutMs(run.stderr.trim()),
      `level=error msg="NetAuth unavailable: ${reason}" entity=alice service=sshd type=auth outcome=unavailable exit=9 ms=N`,
    );
    const check = await runHelper({ confDir: dir, args: ["--check"] });
    assert.equal(check.code, 9, check.stdout);
    assert.equal(check.stdout.trim().split("\n").at(-1), `server: FAIL ${reason}`);
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dead = await makeConfDir(configToml(listener.addr.port), pki.caPem);
  listener.close();
  removeAtUnload(dead);
  const refused = await runHelper({ confDir: dead, args: ["--check"] });
  assert.match(
    refused.stdout,
    /^server: FAIL no TCP connection to localhost:\d+: connect ECONNREFUSED 127\.0\.0\.1:\d+$/m,
  );
});

/**
 * Runs `type` for alice against the broken server while her cache entry is fresh, so that a cache
 * answer would show: a wrong password for auth, and any account. Asserts the entry is untouched.
 * `entry` runs a built bundle instead of src/main.ts.
 */
async function againstBroken(fault: Fault, type: "auth" | "account", args: string[] = [], entry?: string) {
  const store = new CacheStore(cacheDir);
  const online = await runHelper({
    confDir,
    flags: cacheFlags,
    env: pam("alice"),
    stdin: SECRETS.alice,
    args: ["--cache-dir", cacheDir],
  });
  assert.equal(online.code, 0, online.stderr);
  const cached = await Deno.readTextFile(store.pathFor("alice"));
  broken.faulty.fault = fault;
  const calls = broken.faulty.calls;
  const run = await runHelper({
    confDir: broken.confDir,
    flags: broken.flags,
    env: pam("alice", type),
    stdin: type === "auth" ? "not-alice-pw" : "",
    args: ["--cache-dir", cacheDir, ...args],
    entry,
  });
  assert.ok(broken.faulty.calls > calls, "the broken server was not asked");
  assert.equal(await Deno.readTextFile(store.pathFor("alice")), cached, "the offline cache answered or changed");
  return { ...run, line: withoutMs(run.stderr.trim()) };
}

const badReply = (type: string, why: string) =>
  `level=error msg="NetAuth sent a bad reply: ${why}" entity=alice service=sshd type=${type} source=netauth ` +
  "outcome=bad_reply exit=4 ms=N";

// [fault, PAM type, extra arguments, what the line says]; each was answered by the cache, or was exit 0, on main.
const faults: [Fault, "auth" | "account", string[], string][] = [
  ["malformed_protobuf", "auth", [], "AuthEntity reply does not parse (truncated varint)"],
  ["huge_status_message", "auth", [], "AuthEntity reply was cut off before its status (Call cancelled)"],
  ["http_503", "auth", [], "HTTP status 503, not a gRPC reply"],
  ["empty_status", "auth", [], 'grpc-status \\"\\" is not a status code'],
  ["no_status", "auth", [], "no grpc-status in the reply"],
  ["bare_compressed", "auth", [], "AuthEntity sent a compressed message without an agreed grpc-encoding"],
  ["other_entity", "account", [], 'EntityInfo for \\"alice\\" named \\"mallory\\"'],
  ["garbled_id", "account", [], 'EntityInfo for \\"alice\\" named \\"al\\ufffdce\\"'],
  [
    "nameless_group",
    "auth",
    ["--require-group", "ops"],
    "EntityGroups sent a group without a name, or one that is not UTF-8",
  ],
];

for (const [fault, type, args, why] of faults) {
  it(`a TLS-verified server's ${fault.replaceAll("_", " ")}: exit 4, one line, no cache answer`, async () => {
    const run = await againstBroken(fault, type, args);
    assert.equal(run.code, 4, run.stderr);
    assert.equal(run.line, badReply(type, why));
  });
}

it("the shipped bundle too reads an empty grpc-status as a bad reply, never as OK", async () => {
  const outdir = await Deno.makeTempDir({ prefix: "netauth-bundle-" });
  removeAtUnload(outdir);
  const root = new URL("../../", import.meta.url).pathname;
  const built = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "--config", `${root}deno.json`, "bundle", "--outdir", outdir],
  }).output();
  assert.ok(built.success, new TextDecoder().decode(built.stderr));
  const run = await againstBroken("empty_status", "auth", [], `${outdir}/netauth-pam-helper.js`);
  assert.equal(run.code, 4, run.stderr);
  assert.equal(run.line, badReply("auth", 'grpc-status \\"\\" is not a status code'));
});

it("a connection dropped before the reply is a transport failure: the offline cache answers", async () => {
  for (const fault of ["drop", "drop_after_headers"] as const) {
    const run = await againstBroken(fault, "account");
    assert.equal(run.code, 0, run.stderr);
    // A transport failure: the outage is recorded too (the online run before it cleared any older record).
    assert.match(
      run.line,
      new RegExp(
        '^level=info msg="account permitted from the offline cache" entity=alice service=sshd type=account ' +
          "outage=recorded since=\\S+ attempt=full source=cache outcome=permitted exit=0 ms=N$",
      ),
    );
  }
});
