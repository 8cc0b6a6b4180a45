import assert from "node:assert/strict";
import { brokerUnit } from "../../src/install/broker_unit.ts";

const unit = brokerUnit({ launcher: "/usr/local/sbin/netauth-pam-helper", socket: "/l/runtime/broker/socket" });
const settings = (key: string) =>
  unit.split("\n").filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));

Deno.test("the broker's unit carries the hardening issue 20 lists", () => {
  assert.deepEqual(settings("NoNewPrivileges"), ["yes"]);
  assert.deepEqual(settings("ProtectSystem"), ["strict"]);
  assert.deepEqual(settings("PrivateTmp"), ["yes"]);
  assert.deepEqual(settings("ProtectHome"), ["yes"]);
  assert.deepEqual(settings("CapabilityBoundingSet"), [""]);
  assert.deepEqual(settings("RestrictAddressFamilies"), ["AF_UNIX AF_INET AF_INET6"]);
  assert.deepEqual(settings("Restart"), ["on-failure"]);
  assert.equal(settings("MemoryMax").length, 1);
});

Deno.test("it writes only the socket's directory (and the cache's, when there is one)", () => {
  assert.deepEqual(settings("ReadWritePaths"), ["/l/runtime/broker"]);
  const cached = brokerUnit({ launcher: "/x", socket: "/l/runtime/broker/socket", cacheDir: "/var/cache/netauth" });
  assert.match(cached, /^ReadWritePaths=\/l\/runtime\/broker \/var\/cache\/netauth$/m);
  assert.deepEqual(settings("ExecStart"), ["/usr/local/sbin/netauth-pam-helper --serve"]);
});
