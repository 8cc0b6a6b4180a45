// A server name with two addresses (issue 19): the helper reaches only the one Deno's resolver yields first, so
// a silent one there is an outage however live the other is. The name lives in an /etc/hosts bind-mounted
// into a private mount namespace (root and unshare only); the sandbox stays NAME:PORT (docs/security.md, "Several addresses").
import assert from "node:assert/strict";
import { atUnload, removeAtUnload } from "../../testkit/fixture.ts";
import { needsRoot, testWhere } from "../../testkit/skip.ts";
import { SECRETS, startFakeNetAuth } from "../../testkit/fake_netauth.ts";
import { configToml, decisionLine, makeConfDir, printFlags, runHelper } from "../../testkit/run_helper.ts";

const NAME = `netauth-two-${Deno.pid}.test`;
const missing = needsRoot("a private /etc/hosts needs unshare and mount") ??
  (await Deno.stat("/usr/bin/unshare").then(() => undefined, () => "no /usr/bin/unshare"));

/** A test with this file's prerequisite; helper processes and servers outlive its bookkeeping (testkit/fixture.ts). */
const gated = (name: string, fn: () => Promise<void>) =>
  testWhere(missing, { name, fn, sanitizeOps: false, sanitizeResources: false });

/** Accepts on `hostname:port` and relays to `target` (a live server), or holds every connection (silent). */
function listener(hostname: string, port: number, target?: number): { accepted: () => number } {
  const server = Deno.listen({ hostname, port });
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const conn of server) {
      conns.push(conn);
      if (target === undefined) continue;
      const back = await Deno.connect({ hostname: "127.0.0.1", port: target });
      conns.push(back);
      conn.readable.pipeTo(back.writable).catch(() => {});
      back.readable.pipeTo(conn.writable).catch(() => {});
    }
  })().catch(() => {});
  atUnload(() => {
    server.close();
    conns.forEach((c) => {
      try {
        c.close();
      } catch { /* already closed by the relay */ }
    });
  });
  return { accepted: () => conns.length - (target === undefined ? 0 : conns.length / 2) };
}

/** A port free on both 127.0.0.1 and 127.0.0.2. */
function freePort(): number {
  for (;;) {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = probe.addr.port;
    probe.close();
    try {
      Deno.listen({ hostname: "127.0.0.2", port }).close();
      return port;
    } catch { /* taken there: try another */ }
  }
}

/**
 * One auth for alice against NAME, whose /etc/hosts lines are 127.0.0.2 then 127.0.0.1 (as the issue measured):
 * a live server on `liveAt`, a silent listener on the other address.
 */
async function loginWith(liveAt: "127.0.0.1" | "127.0.0.2") {
  const server = await startFakeNetAuth(); // plaintext: the certificates name localhost, not NAME
  atUnload(() => server.stop());
  const port = freePort();
  const silentAt = liveAt === "127.0.0.1" ? "127.0.0.2" : "127.0.0.1";
  const liveEnd = listener(liveAt, port, server.port), silentEnd = listener(silentAt, port);
  const dir = await makeConfDir(configToml(port, "[tls]\npwn_me = true\n").replace('"localhost"', `"${NAME}"`));
  removeAtUnload(dir);
  const hosts = `${dir}/hosts`;
  const lines = ["127.0.0.2", "127.0.0.1"];
  await Deno.writeTextFile(
    hosts,
    `${await Deno.readTextFile("/etc/hosts")}\n${lines.map((ip) => `${ip} ${NAME}`).join("\n")}\n`,
  );
  const flags = await printFlags(dir);
  assert.ok(flags.includes(`--allow-net=${NAME}:${port}`), flags.join(" "));
  const run = await runHelper({
    confDir: dir,
    flags,
    wrapper: ["/usr/bin/unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"', hosts],
    env: { PAM_TYPE: "auth", PAM_USER: "alice", PAM_SERVICE: "sshd" },
    stdin: SECRETS.alice,
    args: ["--timeout", "2"],
    secret: SECRETS.alice,
  });
  const context = `live ${liveEnd.accepted()} silent ${silentEnd.accepted()}: ${run.stderr}`;
  return { run, line: decisionLine(run), live: liveEnd.accepted(), silent: silentEnd.accepted(), context };
}

gated("two addresses, the live one where the resolver looks first: NetAuth answers, under NAME:PORT", async () => {
  const r = await loginWith("127.0.0.2");
  assert.equal(r.run.code, 0, r.context);
  assert.equal(r.silent, 0, r.context);
});

gated(
  "two addresses, the silent one where the resolver looks first: the live one is never tried (exit 9)",
  async () => {
    const r = await loginWith("127.0.0.1");
    assert.equal(r.run.code, 9, r.context);
    assert.match(r.line, /NetAuth did not answer: connected to 127\.0\.0\.2:\d+, AuthEntity unanswered/);
    assert.ok(r.silent >= 1, r.context);
    assert.equal(
      r.live,
      0,
      `the live second address was tried (update docs/security.md, "Several addresses"): ${r.context}`,
    );
  },
);
