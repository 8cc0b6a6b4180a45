// A loaded config for tests that inject `loadConfig`: netauth.example.org:1729, client ID host1.
import type { Config } from "../src/config.ts";

/** `pwnMe` (plaintext) by default, so no certificate file is read; pass `{ pwnMe: false }` for TLS. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    file: "/etc/netauth/config.toml",
    server: "netauth.example.org",
    port: 1729,
    certificate: "/etc/netauth/keys/tls.pem",
    pwnMe: true,
    clientId: "host1",
    ...overrides,
  };
}
