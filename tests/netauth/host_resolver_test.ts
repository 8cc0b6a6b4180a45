import assert from "node:assert/strict";
import { targetFor } from "../../src/netauth/host_resolver.ts";

Deno.test("channel targets name the server, not an address; IPv6 literals are bracketed", () => {
  assert.equal(targetFor("netauth.example.org", 1729), "netauth-host:netauth.example.org:1729");
  assert.equal(targetFor("10.1.2.3", 8443), "netauth-host:10.1.2.3:8443");
  assert.equal(targetFor("::1", 1729), "netauth-host:[::1]:1729");
});
