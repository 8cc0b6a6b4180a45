// The broker's warm channel when the server closes its connection (GOAWAY) in the middle of a storm of calls:
// the calls it never processed are sent again on a new connection, not reported as an outage, and no more than
// MAX_CALLS_PER_CHANNEL streams are ever open at once on it. Against the hostile server (faulty_netauth.ts).
import assert from "node:assert/strict";
import { it, startFaulty, startScripted } from "../../testkit/fixture.ts";
import { loadConfig } from "../../src/config.ts";
import { connectNetAuth, MAX_CALLS_PER_CHANNEL, openSharedChannel } from "../../src/netauth/grpc_client.ts";

const scripted = await startScripted();
const { faulty, confDir } = await startFaulty(scripted);
const config = await loadConfig(`${confDir}/config.toml`, () => "test-host");
const root = await Deno.readFile(`${confDir}/keys/tls.pem`);

it("a GOAWAY with a storm of calls open: every call answered, none an outage, the streams bounded", async () => {
  faulty.fault = "goaway_once";
  faulty.goawayAt = 20; // below the bound: the server gives up with 20 calls open on its one connection
  const channel = openSharedChannel(config, root);
  try {
    const outcomes = await Promise.all(Array.from({ length: 200 }, async () => {
      const client = connectNetAuth(config, { service: "storm", deadline: Date.now() + 20_000, channel });
      try {
        await client.authEntity("alice", new TextEncoder().encode("pw"));
        return "answered";
      } catch (err) {
        return (err as Error).message;
      } finally {
        client.close();
      }
    }));
    const tally: Record<string, number> = {};
    for (const outcome of outcomes) tally[outcome] = (tally[outcome] ?? 0) + 1;
    assert.deepEqual(tally, { answered: 200 });
    assert.equal(faulty.goaways, 1);
    assert.ok(faulty.maxOpen <= MAX_CALLS_PER_CHANNEL, `${faulty.maxOpen} streams open at once`);
  } finally {
    channel.close();
  }
});

it("a server that holds every call: the warm channel never has more than MAX_CALLS_PER_CHANNEL open", async () => {
  faulty.fault = "goaway_once";
  faulty.goaways = 0;
  faulty.maxOpen = 0;
  faulty.goawayAt = 10_000; // never: each call waits for its deadline
  const channel = openSharedChannel(config, root);
  try {
    const deadline = Date.now() + 1500;
    const failed = await Promise.all(Array.from({ length: 100 }, async () => {
      const client = connectNetAuth(config, { service: "storm", deadline, channel });
      return await client.authEntity("alice", new TextEncoder().encode("pw")).then(() => false, () => true);
    }));
    assert.ok(failed.every(Boolean));
    assert.equal(faulty.maxOpen, MAX_CALLS_PER_CHANNEL);
  } finally {
    channel.close();
  }
});
