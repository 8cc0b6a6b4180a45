// The fast path's fallback decisions against a scripted broker on a real unix socket (in a root-only
// directory: these tests run as root, like the helper under PAM).
import assert from "node:assert/strict";
import { type Forwarded, forwardToBroker } from "../../src/broker/forward.ts";
import { decodeFrame, encodeHello, encodeRefused, encodeReply, readFrame } from "../../src/broker/protocol.ts";

const asRoot = Deno.uid() === 0;

/** A one-connection broker that does `script` with each accepted connection. */
async function withBroker(script: (conn: Deno.Conn) => Promise<void>, fn: (socket: string) => Promise<void>) {
  const base = await Deno.makeTempDir({ prefix: "netauth-forward-" });
  await Deno.mkdir(`${base}/broker`, { mode: 0o700 });
  const socket = `${base}/broker/socket`;
  const listener = Deno.listen({ transport: "unix", path: socket });
  const served = (async () => {
    for await (const conn of listener) await script(conn).catch(() => {}).finally(() => conn.close());
  })().catch(() => {});
  try {
    await fn(socket);
  } finally {
    listener.close();
    await served;
    await Deno.remove(base, { recursive: true });
  }
}

const secret = new TextEncoder().encode("s3cret-forward");
/** The line's options the request must carry (protocol v2). */
const LINE = {
  configPath: "/etc/netauth/config.toml",
  timeoutSeconds: 5,
  requireGroups: ["ops"],
  cache: { dir: "/var/cache/netauth", maxAgeMs: 86_400_000, tries: 3 },
  outageWindowMs: 30_000,
  runtimeDir: "/usr/lib/netauth-pam-helper/runtime",
};
const forward = (socket: string, type: "auth" | "account" = "auth") =>
  forwardToBroker({
    socket,
    request: { type, entity: "alice", service: "sshd" },
    secret: type === "auth" ? secret : undefined,
    options: LINE,
    deadline: Date.now() + 5000,
    budgetMs: 50,
  });
const readRequest = async (conn: Deno.Conn) => decodeFrame((await readFrame((b) => conn.read(b)))!);
const fellBack = (result: Forwarded, why: RegExp) => {
  assert.equal(result.answered, false, JSON.stringify(result));
  if (!result.answered) assert.match(result.why, why);
};

Deno.test(
  { name: "a well-formed decision is taken, and the request carried every field", ignore: !asRoot },
  async () => {
    let seen: unknown;
    await withBroker(async (conn) => {
      await conn.write(encodeHello());
      const frame = await readRequest(conn);
      seen = frame.kind === "request" && { ...frame.request, secret: new TextDecoder().decode(frame.request.secret) };
      await conn.write(encodeReply({ exit: 7, outcome: "denied", msg: "wrong secret", source: "netauth" }));
    }, async (socket) => {
      const result = await forward(socket);
      assert.deepEqual(result, { answered: true, exit: 7, outcome: "denied", msg: "wrong secret", source: "netauth" });
    });
    assert.ok(seen);
    const { remainingMs, ...rest } = seen as { remainingMs: number };
    assert.ok(remainingMs > 0 && remainingMs <= 5000);
    assert.deepEqual(rest, {
      type: "auth",
      user: "alice",
      service: "sshd",
      rhost: "",
      ruser: "",
      tty: "",
      line: {
        configPath: "/etc/netauth/config.toml",
        timeoutMs: 5000,
        requireGroups: ["ops"],
        cacheDir: "/var/cache/netauth",
        cacheMaxAgeMs: 86_400_000,
        cacheTries: 3,
        outageWindowMs: 30_000,
        runtimeDir: "/usr/lib/netauth-pam-helper/runtime",
      },
      secret: "s3cret-forward",
    });
  },
);

Deno.test({ name: "a broker that never greets: direct, after the budget", ignore: !asRoot }, async () => {
  await withBroker((conn) => readFrame((b) => conn.read(b)).then(() => {}), async (socket) => {
    fellBack(await forward(socket), /broker did not greet within \d+ ms/);
  });
});

Deno.test(
  { name: "a greeting late in wall time but within five of the helper's ticks is taken", ignore: !asRoot },
  async () => {
    // A loaded host, in one process: three times, nothing runs for 30 ms (helper and broker both wait for a CPU).
    // 90 ms of wall time pass before the greeting, but the helper's tick timer runs only three times.
    const starve = () => {
      const until = performance.now() + 30;
      while (performance.now() < until) { /* no CPU for anyone */ }
    };
    await withBroker(async (conn) => {
      for (let i = 0; i < 3; i++) {
        starve();
        await new Promise<void>((resolve) => AbortSignal.timeout(0).addEventListener("abort", () => resolve()));
      }
      await conn.write(encodeHello());
      await readRequest(conn);
      await conn.write(encodeReply({ exit: 0, outcome: "authenticated", msg: "ok", source: "netauth" }));
    }, async (socket) => {
      const result = await forward(socket);
      assert.equal(result.answered, true, JSON.stringify(result));
    });
  },
);

Deno.test(
  { name: "a refusal, a malformed reply or a broker gone mid-request: direct, saying why", ignore: !asRoot },
  async () => {
    const cases: [(conn: Deno.Conn) => Promise<unknown>, RegExp][] = [
      [(conn) => conn.write(encodeRefused("busy")), /broker refused: busy/],
      [async (conn) => {
        await conn.write(encodeHello());
        await readRequest(conn);
        await conn.write(encodeRefused("internal error: x"));
      }, /broker refused: internal error/],
      [async (conn) => {
        await conn.write(encodeHello());
        await readRequest(conn);
        await conn.write(Uint8Array.of(0, 0, 0, 3, 9, 3, 0));
      }, /malformed reply: protocol version 9/],
      [async (conn) => {
        await conn.write(encodeHello());
        await readRequest(conn);
      }, /broker closed early/],
      [async (conn) => {
        await conn.write(encodeHello());
        await readRequest(conn);
        await conn.write(encodeReply({ exit: 0, outcome: "denied", msg: "?" }));
      }, /exit code and outcome disagree/],
      [async (conn) => {
        await conn.write(encodeHello());
        await readRequest(conn);
        await conn.write(encodeReply({ exit: 5, outcome: "authenticated", msg: "?" }));
      }, /exit code and outcome disagree/],
      [(conn) => conn.write(encodeReply({ exit: 0, outcome: "authenticated", msg: "too early" })), /no greeting/],
    ];
    for (const [script, why] of cases) {
      await withBroker(async (conn) => void await script(conn), async (socket) => fellBack(await forward(socket), why));
    }
  },
);

Deno.test(
  { name: "an account success must say permitted, an auth success authenticated", ignore: !asRoot },
  async () => {
    await withBroker(async (conn) => {
      await conn.write(encodeHello());
      await readRequest(conn);
      await conn.write(encodeReply({ exit: 0, outcome: "authenticated", msg: "ok" }));
    }, async (socket) => fellBack(await forward(socket, "account"), /disagree/));
  },
);

Deno.test({ name: "a stale socket (no one listening) and a missing one: direct", ignore: !asRoot }, async () => {
  const base = await Deno.makeTempDir({ prefix: "netauth-forward-" });
  try {
    await Deno.mkdir(`${base}/broker`, { mode: 0o700 });
    const missing = await forward(`${base}/broker/socket`);
    fellBack(missing, /socket does not exist/);
    assert.equal(!missing.answered && missing.absent, true); // no word on the decision line (commands/login.ts)
    // A broker that died: its process exits while listening, which leaves the socket file behind.
    const code = `Deno.listen({ transport: "unix", path: "${base}/broker/socket" }); Deno.exit(0);`;
    assert.ok((await new Deno.Command(Deno.execPath(), { args: ["eval", code] }).output()).success);
    fellBack(await forward(`${base}/broker/socket`), /stale socket: no broker listening/);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
