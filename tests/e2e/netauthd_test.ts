// Smoke test for the netauthd fixture itself, through the netauth CLI only, so a failure here points
// at the test server setup rather than at the helper.
// node:assert is built in, so the frozen deno.lock needs no new entry.
import assert from "node:assert/strict";
import {
  ALICE_SECRET,
  BOB_SECRET,
  CAROL_SECRET,
  CLIENT_ID,
  DAVE_SECRET,
  missingNetAuthd,
  startNetAuthd,
} from "../../testkit/netauthd.ts";
import { testWhere } from "../../testkit/skip.ts";

testWhere(await missingNetAuthd(), { name: "netauthd fixture: fixtures, restart, cleanup", fn: smokeTest });

async function smokeTest() {
  const server = await startNetAuthd();
  try {
    const check = async (entity: string, secret: string) =>
      (await server.cli(["auth", "check"], { entity, secret })).code;
    assert.equal(await check("alice", ALICE_SECRET), 0);
    assert.equal(await check("alice", "wrong"), 1);
    assert.equal(await check("bob", BOB_SECRET), 0);
    assert.equal(await check("carol", CAROL_SECRET), 1, "carol is locked");
    assert.equal(await check("dave", DAVE_SECRET), 0);
    assert.match(await server.admin("entity", "memberships", "alice", "--fields", "name"), /^Name: staff$/m);
    assert.equal((await server.admin("entity", "memberships", "dave", "--fields", "name")).trim(), "");
    const line = `Authentication Succeeded: entity=alice service=netauth client=${CLIENT_ID}`;
    assert.ok((await server.log()).includes(line), line);

    await server.stop();
    assert.notEqual((await server.cli(["system", "ping"])).code, 0, "ping must fail while stopped");
    await server.start();
    assert.equal((await server.cli(["system", "ping"])).stdout.trim(), "Pong");
    assert.equal(await check("alice", ALICE_SECRET), 0, "data survives a restart");
    assert.ok((await Deno.readTextFile(server.clientConfig)).includes(`port = ${server.port}`));
  } finally {
    await server.cleanup();
    await server.cleanup(); // idempotent
  }
  assert.equal(await Deno.stat(server.dir).catch(() => undefined), undefined, "cleanup removes the directory");
}
