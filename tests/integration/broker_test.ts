// The warm broker (`--serve`) and the helper's fast path, under the shipped sandbox, against the
// scripted server: what a login through the broker looks like, and every way it falls back.
import assert from "node:assert/strict";
import { atUnload, it, removeAtUnload, startScripted } from "../../testkit/fixture.ts";
import { SECRETS } from "../../testkit/fake_netauth.ts";
import { decisionLine, runHelper } from "../../testkit/run_helper.ts";
import { type Broker, brokerFlags, makeSocketDir, startBroker } from "../../testkit/broker.ts";
import { dirname } from "../../src/paths.ts";
import { encodeRequest, MAX_FRAME_BYTES, PROTOCOL_VERSION } from "../../src/broker/protocol.ts";

const { server, confDir, cacheDir } = await startScripted({ cache: true });
const socket = await makeSocketDir();
removeAtUnload(dirname(dirname(socket)));
const flags = await brokerFlags(confDir, socket, cacheDir);
const cacheArgs = ["--cache-dir", cacheDir, "--cache-tries", "2"];
let broker: Broker = await startBroker({ confDir, socket, flags, args: cacheArgs });
atUnload(() => broker.signal("SIGKILL"));

async function login(user: string, password: string, options: { type?: string; args?: string[] } = {}) {
  const run = await runHelper({
    confDir,
    flags,
    env: { PAM_TYPE: options.type ?? "auth", PAM_USER: user, PAM_SERVICE: "broker-test" },
    stdin: password,
    // A generous deadline: these tests check verdicts and paths on a shared, loaded machine, not speed.
    args: ["--broker-socket", socket, ...cacheArgs, "--timeout", "30", ...(options.args ?? [])],
    secret: password || undefined,
  });
  return { ...run, line: decisionLine(run) };
}

/** The options a helper line with `cacheArgs` sends (protocol v2), for requests written by hand. */
const line = {
  configPath: `${confDir}/config.toml`,
  timeoutMs: 2000,
  requireGroups: [],
  cacheDir,
  cacheMaxAgeMs: 7 * 86_400_000,
  cacheTries: 2,
  outageWindowMs: 30_000,
  runtimeDir: "",
};

const authCalls = (entity: string) => server.received.filter((r) => r.method === "AuthEntity" && r.entity === entity);

it("the sandbox gains the socket only: its directory read, the socket written and connected to", () => {
  const dir = dirname(socket);
  assert.ok(flags.includes(`--allow-read=${confDir},${cacheDir},${dir}`), flags.join(" "));
  assert.ok(flags.includes(`--allow-write=${cacheDir},${socket}`), flags.join(" "));
  assert.ok(flags.some((f) => f.startsWith("--allow-net=") && f.endsWith(`,unix:${socket}`)), flags.join(" "));
  assert.equal(Deno.lstatSync(socket).mode! & 0o777, 0o600);
});

it("a login through the broker: path=broker on the helper's line, the broker's own line, the secret at the server", async () => {
  const before = broker.lines.length;
  const decided = broker.lines.filter((l) => / exit=\d+/.test(l)).length;
  const ok = await login("alice", SECRETS.alice);
  assert.equal(ok.code, 0, ok.stderr);
  await broker.decisions(decided + 1); // its stderr is read in the background
  assert.match(ok.line, /path=broker/);
  assert.match(ok.line, /outcome=authenticated exit=0/);
  const brokerLine = broker.lines.slice(before).find((l) => l.includes("exit=0"));
  assert.match(brokerLine ?? "", /entity=alice service=broker-test .*source=netauth outcome=authenticated exit=0/);
  assert.equal(new TextDecoder().decode(authCalls("alice").at(-1)?.secret), SECRETS.alice);
  assert.equal(authCalls("alice").at(-1)?.serviceName, "broker-test");
  for (const line of broker.lines) assert.ok(!line.includes(SECRETS.alice), "the broker logged the password");
});

it("verdicts through the broker are the direct path's: wrong password 7, locked 6, groups forwarded", async () => {
  const wrong = await login("alice", "not-it-pw-51d");
  assert.equal(wrong.code, 7);
  assert.match(wrong.line, /path=broker.*outcome=denied/);
  const locked = await login("carol", "", { type: "account" });
  assert.equal(locked.code, 6);
  assert.match(locked.line, /path=broker.*outcome=locked/);
  const group = await login("bob", SECRETS.bob, { args: ["--require-group", "ops"] });
  assert.equal(group.code, 6, group.stderr);
  assert.match(group.line, /path=broker.*outcome=not_in_group/);
});

it("issue 26: a helper started too long ago: the broker answers no_time (9), never from the cache", async () => {
  assert.equal((await login("alice", SECRETS.alice)).code, 0); // the broker's cache holds the password
  const run = await runHelper({
    confDir,
    flags,
    // A launcher held (SIGSTOP) until 3.1 s of a 4 s deadline had passed: NetAuth's share (3 s) is spent.
    env: {
      PAM_TYPE: "auth",
      PAM_USER: "alice",
      PAM_SERVICE: "broker-test",
      NETAUTH_STARTED_MS: `${Date.now() - 3100}`,
    },
    stdin: SECRETS.alice,
    args: ["--broker-socket", socket, ...cacheArgs, "--timeout", "4"],
    secret: SECRETS.alice,
  });
  const line = decisionLine(run);
  assert.equal(run.code, 9, line);
  assert.match(line, /path=broker.*outcome=no_time exit=9/);
  assert.doesNotMatch(line, /source=cache/);
});

it("local checks run first: a bad PAM_USER or an oversized password never reaches the broker", async () => {
  const before = broker.lines.length;
  const bad = await login("no such user!", "bad-user-pw-7f3");
  assert.equal(bad.code, 10);
  assert.doesNotMatch(bad.line, /path=/);
  const big = await login("alice", "p".repeat(600));
  assert.equal(big.code, 7);
  assert.match(big.line, /outcome=oversized_secret/);
  assert.equal(broker.lines.length, before, broker.lines.slice(before).join("\n"));
});

it("a stalled broker: the login goes direct and says why", async () => {
  broker.signal("SIGSTOP");
  try {
    const run = await login("alice", SECRETS.alice);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.line, /path=direct broker="broker did not greet within \d+ ms"/);
    assert.match(run.line, /source=netauth outcome=authenticated/);
  } finally {
    broker.signal("SIGCONT");
  }
});

it("malformed frames get a refusal, and the broker keeps serving", async () => {
  const refusalOf = async (bytes: Uint8Array) => {
    const conn = await Deno.connect({ transport: "unix", path: socket });
    try {
      await conn.write(bytes).catch(() => 0);
      const reply = new Uint8Array(4096);
      let got = 0;
      for (let n; (n = await conn.read(reply.subarray(got)).catch(() => null)) !== null;) got += n;
      return new TextDecoder().decode(reply.subarray(0, got));
    } finally {
      conn.close();
    }
  };
  const frame = (body: number[]) => Uint8Array.of(0, 0, body.length >> 8, body.length & 0xff, ...body);
  assert.match(await refusalOf(frame([PROTOCOL_VERSION + 1, 2])), /protocol version 3, expected 2/);
  assert.match(await refusalOf(frame([PROTOCOL_VERSION, 9])), /unknown frame kind 9/);
  // A caller that connects and sends nothing holds no slot for long.
  assert.match(await refusalOf(new Uint8Array()), /no request within 1000 ms/);
  assert.match(
    await refusalOf(Uint8Array.of(0, 1, 0, 0)),
    new RegExp(`frame length 65536, expected 2 to ${MAX_FRAME_BYTES}`),
  );
  assert.match(await refusalOf(frame([PROTOCOL_VERSION, 3, 0, 0, 0])), /expected a request|truncated/);
  const request = encodeRequest({
    type: "auth",
    remainingMs: 2000,
    user: "alice",
    service: "s",
    rhost: "",
    ruser: "",
    tty: "",
    line: { ...line, requireGroups: ["no way"] },
    secret: new TextEncoder().encode("x"),
  });
  assert.match(await refusalOf(request), /not a group name/);
  // A frame whose user the helper would refuse: the broker validates again, and answers as the helper would.
  const badUser = encodeRequest({
    type: "account",
    remainingMs: 2000,
    user: "../root",
    service: "s",
    rhost: "",
    ruser: "",
    tty: "",
    line,
    secret: new Uint8Array(),
  });
  assert.match(await refusalOf(badUser), /bad_entity_id/);
  assert.ok(broker.lines.some((l) => l.includes("request refused: protocol version 3")), broker.lines.join("\n"));
  const after = await login("alice", SECRETS.alice);
  assert.match(after.line, /path=broker.*exit=0/);
});

it("a socket of the wrong owner or mode, or a symbolic link, is ignored with one warning", async () => {
  const dir = dirname(socket);
  await Deno.chmod(dir, 0o755);
  try {
    const open = await login("alice", SECRETS.alice);
    assert.equal(open.code, 0, open.stderr);
    assert.match(open.stderr, /level=warn msg="broker socket ignored: [^"]+ has mode 755, not 700"/);
    assert.match(open.line, /path=direct broker="[^"]+ has mode 755, not 700"/);
  } finally {
    await Deno.chmod(dir, 0o700);
  }
  await Deno.chown(socket, 65534, 65534);
  try {
    const foreign = await login("alice", SECRETS.alice);
    assert.equal(foreign.code, 0, foreign.stderr);
    assert.match(foreign.line, /path=direct broker="[^"]+ is owned by uid 65534, not root"/);
    assert.match(foreign.stderr, /level=warn/);
  } finally {
    await Deno.chown(socket, 0, 0);
  }
  const link = `${dir}/link`;
  await Deno.symlink(socket, link);
  try {
    const run = await runHelper({
      confDir,
      flags: await brokerFlags(confDir, link, cacheDir),
      env: { PAM_TYPE: "auth", PAM_USER: "alice", PAM_SERVICE: "broker-test" },
      stdin: SECRETS.alice,
      args: ["--broker-socket", link, ...cacheArgs],
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(decisionLine(run), /path=direct broker="[^"]+ is a symbolic link"/);
  } finally {
    await Deno.remove(link);
  }
});

it("broker and direct path count the same offline tries (one cache, one lock)", async () => {
  const ok = await login("bob", SECRETS.bob); // remembered through the broker
  assert.match(ok.line, /path=broker.*exit=0/);
  server.pause();
  try {
    const viaBroker = await login("bob", "wrong-1");
    assert.match(viaBroker.line, /path=broker.*source=cache outcome=denied exit=7/);
    const direct = await runHelper({
      confDir,
      flags,
      env: { PAM_TYPE: "auth", PAM_USER: "bob", PAM_SERVICE: "broker-test" },
      stdin: "wrong-2",
      args: [...cacheArgs, "--timeout", "30"],
    });
    assert.match(decisionLine(direct), /source=cache outcome=denied exit=7/);
    // Two tries counted, one on each path: the right password is refused now, through the broker too.
    const locked = await login("bob", SECRETS.bob);
    assert.equal(locked.code, 9);
    assert.match(
      locked.line,
      /disabled after 2 offline failures.* path=broker outage=recorded .*attempt=probe source=cache outcome=unavailable/,
    );
  } finally {
    server.resume();
  }
});

it("after an outage, the first login through the broker reaches NetAuth again (no wait for the channel's backoff)", async () => {
  server.pause();
  try {
    // An outage long enough for the warm channel's reconnects to fail and back off for seconds.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const during = await login("alice", SECRETS.alice, { args: ["--cache-dir", cacheDir] });
    assert.match(during.line, /path=broker/);
  } finally {
    server.resume();
  }
  const after = await login("alice", SECRETS.alice);
  assert.equal(after.code, 0, after.line);
  assert.match(after.line, /path=broker outage=cleared source=netauth outcome=authenticated/);
});

it("the broker killed in the middle of a burst fails no login wrongly", async () => {
  const done = broker.lines.filter((l) => / exit=\d+/.test(l)).length;
  const burst = Array.from(
    { length: 16 },
    (_, i) => i % 2 ? login("alice", "wrong-pw-9c1") : login("alice", SECRETS.alice),
  );
  await broker.decisions(done + 3);
  broker.signal("SIGKILL");
  const runs = await Promise.all(burst);
  runs.forEach((run, i) => assert.equal(run.code, i % 2 ? 7 : 0, `login ${i}: ${run.line}`));
  assert.ok(runs.some((r) => /path=broker/.test(r.line)), "no login went through the broker");
  await broker.status;
  // The socket is stale now: the next login says so and goes direct.
  const stale = await login("alice", SECRETS.alice);
  assert.equal(stale.code, 0, stale.stderr);
  assert.match(stale.line, /path=direct broker="stale socket: no broker listening"/);
  // A new broker clears the stale socket and serves again.
  broker = await startBroker({ confDir, socket, flags, args: cacheArgs });
  assert.match((await login("alice", SECRETS.alice)).line, /path=broker/);
});

/** The broker's peak resident set so far, in MiB (VmHWM). */
const peakMiB = (pid: number) =>
  Number(/^VmHWM:\s+(\d+) kB$/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1]) / 1024;

/** `size` logins started at once: 3 in 4 right (alice or bob), 1 in 4 wrong; each checked against its exit. */
async function storm(size: number, during?: () => Promise<void>) {
  const right = (i: number) => i % 4 !== 3;
  const runs = Array.from(
    { length: size },
    (_, i) =>
      login(i % 2 ? "bob" : "alice", right(i) ? (i % 2 ? SECRETS.bob : SECRETS.alice) : `wrong-${i}`, {
        args: ["--timeout", "120"], // a verdict per login, however loaded the machine: no timings here
      }),
  );
  await during?.();
  const done = await Promise.all(runs);
  const paths: Record<string, number> = {};
  done.forEach((run, i) => {
    assert.equal(run.code, right(i) ? 0 : 7, `login ${i}: ${run.line}`);
    assert.match(run.line, right(i) ? /outcome=authenticated/ : /outcome=denied/);
    const path = /path=broker/.test(run.line) ? "broker" : /path=direct broker="([^"]+)"/.exec(run.line)?.[1];
    paths[path ?? run.line] = (paths[path ?? run.line] ?? 0) + 1;
  });
  return paths;
}

it("a storm with the cache on (issue 27): every login right, none lost, the broker under its MemoryMax", async () => {
  const paths = await storm(64);
  assert.ok((paths.broker ?? 0) > 0, JSON.stringify(paths));
  // Each went through the broker, or direct for a reason the helper states (the broker busy or slow): none failed.
  for (const why of Object.keys(paths)) assert.match(why, /^broker$|busy|did not greet/, JSON.stringify(paths));
  // 48 online successes with the cache on derived a verifier once per password, not 48 times 32 MiB at once.
  assert.ok(peakMiB(broker.pid) < 256, `peak ${peakMiB(broker.pid)} MiB`);
  assert.match((await login("alice", SECRETS.alice)).line, /path=broker.*exit=0/);
});

it("the broker aborting in a storm (the runtime's HTTP/2 assertion): the logins in flight go direct, all right", async () => {
  const done = broker.lines.filter((l) => / exit=\d+/.test(l)).length;
  const paths = await storm(64, async () => {
    await broker.decisions(done + 4);
    broker.signal("SIGABRT"); // what an assertion in the runtime does: abort(), no clean-up
  });
  assert.ok((paths.broker ?? 0) > 0, JSON.stringify(paths));
  assert.ok(Object.keys(paths).length > 1, `none went direct: ${JSON.stringify(paths)}`);
  assert.notEqual((await broker.status).code, 0);
  broker = await startBroker({ confDir, socket, flags, args: cacheArgs });
  assert.match((await login("alice", SECRETS.alice)).line, /path=broker/);
});

it("a second broker on a live socket refuses to start (exit 3, one line)", async () => {
  const second = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...flags,
      "src/main.ts",
      "--config",
      `${confDir}/config.toml`,
      "--broker-socket",
      socket,
      "--serve",
    ],
    cwd: new URL("../../", import.meta.url).pathname,
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000), // a second broker that did start must not hang the suite
  });
  const out = await second.output();
  assert.equal(out.code, 3);
  assert.match(new TextDecoder().decode(out.stderr), /has a broker listening already/);
});

it("SIGTERM stops the broker cleanly and removes its socket; logins then go direct", async () => {
  await broker.stop();
  assert.equal((await broker.status).code, 0);
  assert.throws(() => Deno.lstatSync(socket), Deno.errors.NotFound);
  const run = await login("alice", SECRETS.alice);
  assert.equal(run.code, 0);
  // No socket is a host without a broker: no broker= on the line.
  assert.match(run.line, /path=direct (source=netauth )?outcome=authenticated/);
  assert.doesNotMatch(run.line, /broker=/);
});
