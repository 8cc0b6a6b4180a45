import assert from "node:assert/strict";
import { loadConfig, parseConfig } from "../src/config.ts";
import { HelperError } from "../src/errors.ts";

const FILE = "/etc/netauth/config.toml";
const host = () => "myhost";

function configFailure(text: string): string {
  try {
    parseConfig(FILE, text, host);
  } catch (err) {
    assert.ok(err instanceof HelperError);
    assert.equal(err.exit, 3);
    assert.doesNotMatch(err.message, /\n/);
    return err.message;
  }
  assert.fail("expected the config to be refused");
}

Deno.test("defaults: port 1729, keys/tls.pem under the config's directory, host name as client ID", () => {
  assert.deepEqual(parseConfig(FILE, `[core]\nserver = "netauth.example.org"\n`, host), {
    file: FILE,
    server: "netauth.example.org",
    port: 1729,
    certificate: "/etc/netauth/keys/tls.pem",
    pwnMe: false,
    clientId: "myhost",
  });
});

Deno.test("keys are case-insensitive and unknown keys are ignored", () => {
  const config = parseConfig(
    FILE,
    `[Core]\nServer = "a.example"\nPORT = 8443\nhome = "/var/lib/netauth"\n[TLS]\nPWN_ME = true\n[Client]\nid = "web1"\n[server]\nbind = "0.0.0.0"\n`,
    host,
  );
  assert.equal(config.server, "a.example");
  assert.equal(config.port, 8443);
  assert.equal(config.pwnMe, true);
  assert.equal(config.clientId, "web1");
});

Deno.test("relative paths resolve under core.conf; absolute paths stand", () => {
  const relative = parseConfig(FILE, `[core]\nserver="s"\nconf="/opt/na"\n[tls]\ncertificate="ca/root.pem"\n`, host);
  assert.equal(relative.certificate, "/opt/na/ca/root.pem");
  const nested = parseConfig(FILE, `[core]\nserver="s"\nconf="sub"\n`, host);
  assert.equal(nested.certificate, "/etc/netauth/sub/keys/tls.pem");
  const absolute = parseConfig(FILE, `[core]\nserver="s"\n[tls]\ncertificate="/srv/ca.pem"\n`, host);
  assert.equal(absolute.certificate, "/srv/ca.pem");
});

Deno.test("the host name is only asked for when client.ID is missing", () => {
  parseConfig(FILE, `[core]\nserver="s"\n[client]\nID="x"\n`, () => assert.fail("hostname consulted"));
});

Deno.test("IP addresses are servers too; a port string is accepted like NetAuth's viper does", () => {
  assert.equal(parseConfig(FILE, `[core]\nserver="127.0.0.1"\nport="1730"\n`, host).port, 1730);
  assert.equal(parseConfig(FILE, `[core]\nserver="::1"\n`, host).server, "::1");
});

Deno.test("every error names the file and the key", () => {
  const cases: [string, RegExp][] = [
    [``, /config \/etc\/netauth\/config.toml: core.server: required/],
    [`[core]\nserver = 5\n`, /core.server: expected a host name or IP address without port, got number 5/],
    [`[core]\nserver = "a.example:1729"\n`, /core.server: .*got "a.example:1729"/],
    [`[core]\nserver = "https://a.example"\n`, /core.server/],
    [`[core]\nserver = "s"\nport = 0\n`, /core.port: expected a port number 1-65535, got number 0/],
    [`[core]\nserver = "s"\nport = "http"\n`, /core.port: .*got "http"/],
    [`[core]\nserver = "s"\n[tls]\npwn_me = "yes"\n`, /tls.pwn_me: expected true or false, got "yes"/],
    [`[core]\nserver = "s"\n[tls]\ncertificate = ""\n`, /tls.certificate: expected a file path/],
    [`[core]\nserver = "s"\n[client]\nID = 7\n`, /client.ID: expected a non-empty string/],
    [`core = "x"\n`, /core: expected a table \[core\]/],
    [`[core]\nserver = "a"\nSERVER = "b"\n`, /core.SERVER: given twice/],
    [`[core\nserver=`, /config \/etc\/netauth\/config.toml: not valid TOML: /],
  ];
  for (const [text, pattern] of cases) assert.match(configFailure(text), pattern);
});

Deno.test("an unreadable file is a configuration error naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [path, pattern] of [[`${dir}/missing.toml`, /cannot read: no such file/], [dir, /cannot read/]] as const
    ) {
      await assert.rejects(loadConfig(path, host), (err: HelperError) => {
        assert.equal(err.exit, 3);
        assert.ok(err.message.startsWith(`config ${path}: `));
        assert.match(err.message, pattern);
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
