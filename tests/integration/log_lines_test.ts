// What reaches the log from user-steerable PAM items: one line per run, printable ASCII only,
// and the request's fields on every decision line, the deadline's included.
import assert from "node:assert/strict";
import { it, startScripted } from "../../testkit/fixture.ts";
import { HANG, SECRETS } from "../../testkit/fake_netauth.ts";
import { decisionLine, runHelper } from "../../testkit/run_helper.ts";

const { server, confDir, flags } = await startScripted();

const FORGED = "level=info msg=authenticated entity=root";
/** Every way a log reader may split lines: LF, CR, VT, FF, NEL, LS, PS. */
const LINE_BREAK = /\r\n|[\n\r\v\f\u0085\u2028\u2029]/;

function assertOneSafeLine(stderr: string): string {
  const lines = stderr.replace(/\n$/, "").split(LINE_BREAK);
  assert.equal(lines.length, 1, JSON.stringify(stderr));
  assert.match(lines[0], /^[\x20-\x7e]+$/, `not printable ASCII: ${JSON.stringify(stderr)}`);
  return lines[0];
}

it("U+2028 and friends in PAM_SERVICE and PAM_RHOST cannot forge a line", async () => {
  const env = {
    PAM_TYPE: "auth",
    PAM_USER: "alice",
    PAM_SERVICE: `sshd\u2028${FORGED}`,
    PAM_RHOST: `198.51.100.9\u2029${FORGED}\u0085${FORGED}\u202e`,
  };
  const run = await runHelper({ confDir, flags, env, stdin: "wrong", secret: SECRETS.alice });
  assert.equal(run.code, 7, run.stderr);
  const line = assertOneSafeLine(run.stderr);
  assert.equal(
    line.replace(/ms=\d+$/, "ms=N"),
    'level=warn msg="wrong secret, or entity unknown or locked" entity=alice ' +
      `service="sshd\\u2028${FORGED}" ` +
      `rhost="198.51.100.9\\u2029${FORGED}\\u0085${FORGED}\\u202e" ` +
      "type=auth outcome=denied exit=7 ms=N",
  );
  // gRPC metadata is ASCII only: the service name reaches netauthd escaped the same way.
  assert.equal(server.received.at(-1)?.serviceName, `sshd\\u2028${FORGED}`);
});

it("a PAM_USER with U+2028 or U+202E is refused (10) in one safe line", async () => {
  for (const user of [`bob\u2028${FORGED}`, "alice\u202egnp.exe", "\u{1F600}"]) {
    const env = { PAM_TYPE: "auth", PAM_USER: user, PAM_SERVICE: "sshd", PAM_RHOST: "192.0.2.7" };
    const run = await runHelper({ confDir, flags, env, stdin: "pw" });
    assert.equal(run.code, 10, run.stderr);
    const line = assertOneSafeLine(run.stderr);
    assert.match(line, / service=sshd rhost=192\.0\.2\.7 type=auth outcome=bad_entity_id exit=10 ms=\d+$/);
  }
  const astral = await runHelper({
    confDir,
    flags,
    env: { PAM_TYPE: "auth", PAM_USER: "\u{1F600}", PAM_SERVICE: "sshd" },
    stdin: "pw",
  });
  assert.match(astral.stderr, /PAM_USER \\"\\ud83d\\ude00\\" cannot be a NetAuth entity ID/);
});

it("the deadline's line carries the request's fields (stalled stdin)", async () => {
  const env = { PAM_TYPE: "auth", PAM_USER: "alice", PAM_SERVICE: "sshd", PAM_RHOST: "192.0.2.7" };
  const run = await runHelper({ confDir, flags, env, stdin: "ali", holdStdin: true, args: ["--timeout", "1"] });
  assert.equal(run.code, 9, run.stderr);
  assert.match(
    assertOneSafeLine(run.stderr),
    /^level=error msg="deadline of 1s passed" entity=alice service=sshd rhost=192\.0\.2\.7 type=auth outcome=deadline exit=9 ms=\d+$/,
  );
  // Generous, yet short of the default 10 s timeout: --timeout 1 is the one that cut it.
  assert.ok(run.ms < 9000, `took ${run.ms} ms with --timeout 1`);
});

it("a hung server's line carries the request's fields too", async () => {
  const env = { PAM_TYPE: "account", PAM_USER: HANG, PAM_SERVICE: "login" };
  const run = await runHelper({ confDir, flags, env, args: ["--timeout", "2"] }); // a real try's 700 ms left after start-up
  assert.equal(run.code, 9, run.stderr);
  assert.match(
    decisionLine(run),
    / entity=hang service=login type=account outcome=(unavailable|deadline) exit=9 ms=\d+$/,
  );
});
