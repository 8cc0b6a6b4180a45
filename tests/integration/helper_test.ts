// The helper as pam_exec runs it, under the exact shipped sandbox, against a scripted server.
import assert from "node:assert/strict";
import { atUnload, it, startScripted } from "../../testkit/fixture.ts";
import { BOOM, HANG, SECRETS, startFakeNetAuth } from "../../testkit/fake_netauth.ts";
import { configToml, decisionLine, makeConfDir, runHelper } from "../../testkit/run_helper.ts";

const { pki, server: tlsServer, confDir, flags } = await startScripted();
const strangerServer = await startFakeNetAuth({ cert: pki.strangerCert, key: pki.strangerKey });
const plainServer = await startFakeNetAuth();
const SECRET = SECRETS.alice;

for (const server of [strangerServer, plainServer]) atUnload(() => server.stop());

function pam(type: string, user: string, service = "sshd"): Record<string, string> {
  return { PAM_TYPE: type, PAM_USER: user, PAM_SERVICE: service, PAM_RHOST: "192.0.2.7" };
}

/** Runs against `tlsServer` unless told otherwise; the secret must never appear in output. */
function login(
  env: Record<string, string>,
  stdin: string | Uint8Array = SECRET,
  more: Partial<Parameters<typeof runHelper>[0]> = {},
) {
  return runHelper({ confDir, flags, env, stdin, secret: SECRET, ...more });
}

/** How many requests for `entity` reached `server` while `fn` ran. */
async function requestsDuring(server: typeof tlsServer, entity: string, fn: () => Promise<unknown>): Promise<number> {
  const before = server.received.filter((r) => r.entity === entity).length;
  await fn();
  return server.received.filter((r) => r.entity === entity).length - before;
}

it("the sandbox flags are the documented ones for this config directory", () => {
  assert.deepEqual(flags, [
    "--no-prompt",
    `--allow-read=${confDir}`,
    "--allow-env=PAM_TYPE,PAM_USER,PAM_SERVICE,PAM_RHOST,PAM_RUSER,PAM_TTY,NETAUTH_LOGLEVEL,NETAUTH_STARTED_MS,NETAUTH_WAITED_MS",
    "--ignore-env",
    "--allow-sys=hostname,uid",
    `--allow-net=localhost:${tlsServer.port}`,
  ]);
  return Promise.resolve();
});

it("auth: right secret 0 with one logfmt decision line", async () => {
  const run = await login(pam("auth", "alice"));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "");
  assert.match(
    decisionLine(run),
    /^level=info msg=authenticated entity=alice service=sshd rhost=192.0.2.7 type=auth outcome=authenticated exit=0 ms=\d+$/,
  );
});

it("auth: the secret and the metadata reach the server as sent", async () => {
  await login(pam("auth", "alice", "gdm-password"), SECRET + "\0");
  const last = tlsServer.received.at(-1)!;
  assert.deepEqual(last, {
    method: "AuthEntity",
    entity: "alice",
    group: undefined,
    secret: new TextEncoder().encode(SECRET),
    clientName: "test-host",
    serviceName: "gdm-password",
  });
});

it("auth: wrong secret, unknown and locked entity exit 7", async () => {
  assert.equal((await login(pam("auth", "alice"), "nope")).code, 7);
  assert.equal((await login(pam("auth", "nobody"))).code, 7);
  assert.equal((await login(pam("auth", "carol"), SECRETS.carol)).code, 7);
});

it("account: permitted 0, locked 6, unknown 10; --require-group 0 / 6", async () => {
  assert.equal((await login(pam("account", "alice"), "")).code, 0);
  assert.equal((await login(pam("account", "carol"), "")).code, 6);
  assert.equal((await login(pam("account", "nobody"), "")).code, 10);
  assert.equal((await login(pam("account", "bob"), "", { args: ["--require-group", "ops"] })).code, 6);
  assert.equal(
    (await login(pam("account", "bob"), "", { args: ["--require-group", "ops", "--require-group", "staff"] })).code,
    0,
  );
  const groupAuth = await login(pam("auth", "bob"), SECRETS.bob, {
    args: ["--require-group", "ops"],
    secret: SECRETS.bob,
  });
  assert.equal(groupAuth.code, 6);
});

it("empty and oversized secrets, and a NUL inside, exit 7 without contacting the server", async () => {
  for (const stdin of ["", "\0", "x".repeat(513), "a\0b"]) {
    let code = -1;
    const reached = await requestsDuring(tlsServer, "bob", async () => {
      code = (await login(pam("auth", "bob"), stdin)).code;
    });
    assert.equal(code, 7);
    assert.equal(reached, 0);
  }
});

it("missing or odd PAM_USER and unsupported PAM_TYPE exit before the server", async () => {
  const cases: [Record<string, string>, number, RegExp][] = [
    [{ PAM_TYPE: "auth" }, 3, /PAM_USER is not set/],
    [pam("auth", "../../etc/passwd"), 10, /cannot be a NetAuth entity ID/],
    [pam("auth", "bob\nlevel=info"), 10, /cannot be a NetAuth entity ID/],
    [pam("open_session", "bob"), 3, /PAM_TYPE \\"open_session\\" is not supported/],
    [{ PAM_USER: "bob" }, 3, /PAM_TYPE is not set/],
  ];
  for (const [env, code, message] of cases) {
    const reached = await requestsDuring(tlsServer, "bob", async () => {
      const run = await login(env);
      assert.equal(run.code, code, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    });
    assert.equal(reached, 0);
  }
});

it("a hung server is cut at --timeout", async () => {
  // 2 s, not 1: NetAuth is asked only with a real try's 700 ms left (deadline.ts), start-up included.
  const run = await login(pam("auth", HANG), SECRET, { args: ["--timeout", "2"] });
  assert.equal(run.code, 9);
  // gRPC's deadline normally ends the call first; on a starved machine main.ts's timer, 200 ms later, can win.
  // Either way the user reads one whole line that says the deadline cut the call.
  const request = "entity=hang service=sshd rhost=192.0.2.7 type=auth";
  const line = decisionLine(run);
  const byGrpc = new RegExp(
    `^level=error msg="NetAuth did not answer: connected to 127\\.0\\.0\\.1:${tlsServer.port}, AuthEntity unanswered ` +
      `after \\d+\\.\\d s" ${request} ` +
      "outcome=unavailable exit=9 ms=\\d+$",
  );
  const byTimer = new RegExp(`^level=error msg="deadline of 2s passed" ${request} outcome=deadline exit=9 ms=\\d+$`);
  assert.ok(byGrpc.test(line) || byTimer.test(line), line);
  // Generous, yet short of the default 10 s timeout: --timeout 2 is the one that cut it.
  assert.ok(run.ms < 9000, `took ${run.ms} ms with --timeout 2`);
});

it("a listener that takes the connection but never speaks TLS: the line names the phase and the address", async () => {
  // The kernel completes the TCP handshake for a listener nobody accepts from.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = silent.addr.port;
  const dir = await makeConfDir(configToml(port), pki.caPem);
  try {
    const env = pam("auth", "alice");
    const run = await runHelper({ confDir: dir, env, stdin: SECRET, secret: SECRET, args: ["--timeout", "2"] });
    assert.equal(run.code, 9);
    const request = "entity=alice service=sshd rhost=192.0.2.7 type=auth";
    const line = decisionLine(run);
    const byGrpc = new RegExp(
      `^level=error msg="NetAuth did not answer: connected to 127\\.0\\.0\\.1:${port}, TLS handshake unanswered ` +
        `after \\d+\\.\\d s" ${request} outcome=unavailable exit=9 ms=\\d+$`,
    );
    // As above, main.ts's timer can win on a starved machine.
    const byTimer = new RegExp(`^level=error msg="deadline of 2s passed" ${request} outcome=deadline exit=9 ms=\\d+$`);
    assert.ok(byGrpc.test(line) || byTimer.test(line), line);
  } finally {
    silent.close();
    await Deno.remove(dir, { recursive: true });
  }
});

it("server INTERNAL is the server's own answer, not an outage: exit 4", async () => {
  const run = await login(pam("auth", BOOM));
  assert.equal(run.code, 4);
  assert.match(
    decisionLine(run),
    /msg="NetAuth refused the request: INTERNAL: database on fire" .*outcome=server_refused exit=4 /,
  );
});

it("nothing listening fails fast with 9, not at the deadline", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const dir = await makeConfDir(configToml(port), pki.caPem);
  try {
    const run = await runHelper({ confDir: dir, env: pam("auth", "alice"), stdin: SECRET, secret: SECRET });
    assert.equal(run.code, 9);
    assert.match(
      decisionLine(run),
      new RegExp(
        `^level=error msg="NetAuth unavailable: no TCP connection to localhost:${port}: connect ECONNREFUSED ` +
          `127\\.0\\.0\\.1:${port}" entity=alice service=sshd ` +
          "rhost=192.0.2.7 type=auth outcome=unavailable exit=9 ms=\\d+$",
      ),
    );
    // Generous, yet short of the default 10 s timeout: a refused connection is not waited out.
    assert.ok(run.ms < 9000, `took ${run.ms} ms with the default 10 s timeout`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

it("a certificate from another CA is refused: 9, and the secret is not sent", async () => {
  const dir = await makeConfDir(configToml(strangerServer.port), pki.caPem);
  try {
    const run = await runHelper({ confDir: dir, env: pam("auth", "alice"), stdin: SECRET, secret: SECRET });
    assert.equal(run.code, 9);
    assert.equal(strangerServer.received.length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

it("a plaintext server without tls.pwn_me never sees the secret", async () => {
  const raw = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const captured: Uint8Array[] = [];
  const serving = (async () => {
    for await (const conn of raw) {
      const buf = new Uint8Array(4096);
      const n = await conn.read(buf).catch(() => null);
      if (n) captured.push(buf.slice(0, n));
      // What a plaintext HTTP/2 server says to a TLS ClientHello: garbage, then goodbye.
      await conn.write(new TextEncoder().encode("\x00\x00\x12\x04\x00\x00\x00\x00\x00")).catch(() => {});
      conn.close();
    }
  })();
  const dir = await makeConfDir(configToml(raw.addr.port), pki.caPem);
  const grpcDir = await makeConfDir(configToml(plainServer.port), pki.caPem);
  try {
    const run = await runHelper({ confDir: dir, env: pam("auth", "alice"), stdin: SECRET, secret: SECRET });
    assert.equal(run.code, 9);
    assert.ok(captured.length > 0, "the helper never connected");
    const seen = new TextDecoder("latin1").decode(new Uint8Array(captured.flatMap((c) => [...c])));
    assert.ok(!seen.includes(SECRET));
    const grpcRun = await runHelper({ confDir: grpcDir, env: pam("auth", "alice"), stdin: SECRET, secret: SECRET });
    assert.equal(grpcRun.code, 9);
    assert.equal(plainServer.received.length, 0);
  } finally {
    raw.close();
    await serving.catch(() => {});
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(grpcDir, { recursive: true });
  }
});

it("tls.pwn_me = true talks plaintext, and says so", async () => {
  const dir = await makeConfDir(configToml(plainServer.port, "[tls]\npwn_me = true\n"));
  try {
    const run = await runHelper({ confDir: dir, env: pam("auth", "alice"), stdin: SECRET, secret: SECRET });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /level=warn msg="tls.pwn_me is set: talking to NetAuth in plaintext"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

it("proxy and GRPC_* variables in the PAM environment change nothing", async () => {
  const hostile = {
    https_proxy: "http://127.0.0.1:9",
    http_proxy: "http://127.0.0.1:9",
    grpc_proxy: "http://127.0.0.1:9",
    no_grpc_proxy: "",
    GRPC_TRACE: "all",
    GRPC_VERBOSITY: "DEBUG",
    GRPC_NODE_TRACE: "all",
    GRPC_NODE_VERBOSITY: "DEBUG",
    GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: `${pki.dir}/stranger.pem`,
    GRPC_SSL_CIPHER_SUITES: "NULL",
    GRPC_NODE_USE_ALTERNATIVE_RESOLVER: "true",
    NODE_EXTRA_CA_CERTS: `${pki.dir}/stranger.pem`,
    NODE_TLS_REJECT_UNAUTHORIZED: "0",
  };
  const run = await login({ ...pam("auth", "alice"), ...hostile });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
  const stranger = await makeConfDir(configToml(strangerServer.port), pki.caPem);
  try {
    const refused = await runHelper({ confDir: stranger, env: { ...pam("auth", "alice"), ...hostile }, stdin: SECRET });
    assert.equal(refused.code, 9, "NODE_TLS_REJECT_UNAUTHORIZED or a roots file changed the trust");
  } finally {
    await Deno.remove(stranger, { recursive: true });
  }
});

it("at TRACE the secret appears nowhere, on any path", async () => {
  const trace = { args: ["--log-level", "TRACE"] };
  const runs = [
    await login(pam("auth", "alice"), SECRET, trace),
    await login(pam("auth", "bob"), SECRET, trace),
    await login(pam("auth", BOOM), SECRET, trace),
    await login(pam("auth", "a b"), SECRET, trace),
    await login({ ...pam("auth", "alice"), NETAUTH_LOGLEVEL: "trace" }, SECRET),
    await login(pam("auth", "alice"), SECRET.repeat(60), trace),
  ];
  assert.ok(runs[0].stderr.split("\n").length > 2, "TRACE should say more than the decision");
  for (const run of runs) assert.ok(!run.stderr.includes(SECRET) && !run.stdout.includes(SECRET));
});

it("NETAUTH_LOGLEVEL from the PAM environment cannot silence a failed guess", async () => {
  const run = await login({ ...pam("auth", "alice"), NETAUTH_LOGLEVEL: "ERROR" }, "wrong-password");
  assert.equal(run.code, 7);
  assert.match(run.stderr, /^level=warn .*exit=7 /m);
});

it("16 concurrent logins all succeed", async () => {
  const runs = await Promise.all(Array.from({ length: 16 }, () => login(pam("auth", "alice"))));
  assert.deepEqual(runs.map((r) => r.code), Array(16).fill(0));
});
