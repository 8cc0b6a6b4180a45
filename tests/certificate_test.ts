import assert from "node:assert/strict";
import { inspectCertificates, readRootCertificate, trustedRoots } from "../src/certificate.ts";
import type { Config } from "../src/config.ts";
import { HelperError } from "../src/errors.ts";
import { makePki } from "../testkit/pki.ts";

const pki = await makePki();
globalThis.addEventListener("unload", () => Deno.removeSync(pki.dir, { recursive: true }));
const config = (certificate: string): Config => ({
  file: "/etc/netauth/config.toml",
  server: "localhost",
  port: 1729,
  certificate,
  pwnMe: false,
  clientId: "h",
});
const pem = (text: string) => new TextEncoder().encode(text);

Deno.test("a valid CA certificate is summarised by subject and expiry", async () => {
  const [summary] = await inspectCertificates(config("ca.pem"), pem(pki.caPem));
  assert.equal(summary.subject, "CN=trusted");
  assert.ok(summary.validTo > new Date());
});

Deno.test("only certificates valid now are trusted; none valid is a TLS failure (9)", async () => {
  const both = await trustedRoots(config("ca.pem"), pem(pki.expiredCaPem + pki.caPem));
  assert.deepEqual(both.trusted.map((c) => c.subject), ["CN=trusted"]);
  assert.deepEqual(both.ignored, ["CN=expired expired on 2021-01-01"]);
  assert.equal(new TextDecoder().decode(both.pem).trim(), pki.caPem.trim());
  const later = new Date(Date.now() + 10 * 86400e3);
  const earlier = new Date("2019-06-01T00:00:00Z");
  for (const [when, why] of [[later, /CN=trusted expired on/], [earlier, /CN=trusted not valid before/]] as const) {
    await assert.rejects(trustedRoots(config("ca.pem"), pem(pki.caPem), when), (err: HelperError) => {
      assert.equal(err.exit, 9);
      assert.match(err.message, /^tls.certificate \(ca.pem\) holds no certificate valid now: /);
      assert.match(err.message, why);
      return true;
    });
  }
});

Deno.test("a certificate that does not parse is bad config (3)", async () => {
  const broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  await assert.rejects(inspectCertificates(config("ca.pem"), pem(pki.caPem + broken)), (err: HelperError) => {
    assert.equal(err.exit, 3);
    assert.match(err.message, /tls.certificate: certificate 2 in ca.pem does not parse/);
    return true;
  });
});

Deno.test("reading: missing file and non-PEM content are configuration errors naming the key", async () => {
  await assert.rejects(
    readRootCertificate(config(`${pki.dir}/none.pem`)),
    /tls.certificate: cannot read .*none.pem: no such file/,
  );
  await assert.rejects(readRootCertificate(config(`${pki.dir}/trusted.key`)), /holds no PEM certificate/);
  assert.ok((await readRootCertificate(config(`${pki.dir}/trusted.pem`))).length > 0);
});
