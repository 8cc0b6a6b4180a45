import assert from "node:assert/strict";
import { createLogger } from "../../src/log.ts";
import { handleLogin, type LoginDeps } from "../../src/commands/login.ts";
import type { PamRequest } from "../../src/pam_request.ts";

function deps(env: Record<string, string>, stdin: string, overrides: Partial<LoginDeps> = {}) {
  const seen = {
    logins: [] as { request: PamRequest; secret?: string }[],
    secrets: [] as Uint8Array[],
    lines: [] as string[],
  };
  const d: LoginDeps = {
    getEnv: (name) => env[name],
    stdin: ReadableStream.from([new TextEncoder().encode(stdin)]),
    logger: createLogger("TRACE", (line) => seen.lines.push(line)),
    login: (request, secret) => {
      seen.logins.push({ request, secret: secret && new TextDecoder().decode(secret) });
      if (secret) seen.secrets.push(secret);
      return Promise.resolve({ exit: 0, outcome: "authenticated", msg: "authenticated", fields: {} });
    },
    ...overrides,
  };
  return { d, seen };
}

const AUTH = { PAM_TYPE: "auth", PAM_USER: "alice", PAM_SERVICE: "login" };

Deno.test("a good request goes to the login with the stdin secret, zeroed afterwards", async () => {
  const { d, seen } = deps(AUTH, "pw\0");
  const result = await handleLogin(d);
  assert.deepEqual([result.exit, result.outcome], [0, "authenticated"]);
  assert.deepEqual(seen.logins, [{
    request: { type: "auth", entity: "alice", service: "login", rhost: undefined, ruser: undefined, tty: undefined },
    secret: "pw",
  }]);
  assert.deepEqual(seen.secrets, [new Uint8Array(2)], "the secret's buffer is zeroed once the decision is made");
  // The request's fields travel with the logger, so main.ts's decision line carries them.
  for (const line of seen.lines) assert.match(line, / entity=alice service=login type=auth( |$)/, line);
});

Deno.test("a refused PAM_USER's line still names service, rhost and type, but not the entity", async () => {
  const { d, seen } = deps({ ...AUTH, PAM_USER: "a b", PAM_RHOST: "192.0.2.7" }, "pw");
  const result = await handleLogin(d);
  assert.equal(result.exit, 10);
  d.logger.log("WARN", result.msg, result.fields);
  assert.equal(
    seen.lines.at(-1),
    'level=warn msg="PAM_USER \\"a b\\" cannot be a NetAuth entity ID" service=login rhost=192.0.2.7 type=auth',
  );
});

Deno.test("local failures end the call before the login or the broker", async () => {
  const cases: [Record<string, string>, string, number][] = [
    [{ ...AUTH, PAM_USER: "../x" }, "pw", 10],
    [{ ...AUTH, PAM_TYPE: "password" }, "pw", 3],
    [AUTH, "", 7],
    [AUTH, "x".repeat(600), 7],
  ];
  for (const [env, stdin, exit] of cases) {
    let brokered = 0;
    const { d, seen } = deps(env, stdin, { broker: () => (brokered++, Promise.reject(new Error("no"))) });
    const result = await handleLogin(d);
    assert.equal(result.exit, exit, JSON.stringify(env));
    assert.deepEqual([seen.logins.length, brokered], [0, 0]);
  }
});

Deno.test("account requests never read stdin", async () => {
  const stdin = new ReadableStream<Uint8Array>({ pull: () => assert.fail("stdin read") });
  const { d, seen } = deps({ PAM_TYPE: "account", PAM_USER: "alice" }, "", { stdin });
  assert.equal((await handleLogin(d)).exit, 0);
  assert.equal(seen.logins[0].secret, undefined);
});

Deno.test("the broker's answer stands (path=broker); a fallback logs in directly and says why", async () => {
  const answered = deps(AUTH, "pw", {
    broker: () => Promise.resolve({ answered: true, exit: 7, outcome: "denied", msg: "wrong", source: "netauth" }),
  });
  const result = await handleLogin(answered.d);
  assert.deepEqual([result.exit, result.outcome, answered.seen.logins.length], [7, "denied", 0]);
  answered.d.logger.log("WARN", result.msg, result.fields);
  assert.match(answered.seen.lines.at(-1)!, / path=broker source=netauth$/);
  const direct = deps(AUTH, "pw", { broker: () => Promise.resolve({ answered: false, why: "broker refused: busy" }) });
  assert.equal((await handleLogin(direct.d)).exit, 0);
  assert.equal(direct.seen.logins.length, 1);
  direct.d.logger.log("INFO", "x");
  assert.match(direct.seen.lines.at(-1)!, / path=direct broker="broker refused: busy"$/);
});

Deno.test("no broker socket at all goes direct without a word on the line; any other reason stays on it", async () => {
  const lastLine = async (why: { why: string; absent?: boolean; untrusted?: boolean }) => {
    const { d, seen } = deps(AUTH, "pw", { broker: () => Promise.resolve({ answered: false, ...why }) });
    const result = await handleLogin(d);
    assert.equal(result.exit, 0);
    d.logger.log("INFO", result.msg, result.fields);
    return seen.lines;
  };
  const absent = await lastLine({ why: "/r/broker does not exist", absent: true });
  assert.match(absent.at(-1)!, / path=direct outcome=| path=direct$| path=direct /);
  assert.doesNotMatch(absent.at(-1)!, /broker=/);
  assert.ok(
    absent.some((line) => /level=debug msg="no broker: \/r\/broker does not exist"/.test(line)),
    absent.join("\n"),
  );
  const stale = await lastLine({ why: "stale socket: no broker listening" });
  assert.match(stale.at(-1)!, / path=direct broker="stale socket: no broker listening"/);
});
