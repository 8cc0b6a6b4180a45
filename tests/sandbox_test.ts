import assert from "node:assert/strict";
import {
  ALLOWED_ENV,
  netPermission,
  PASSED_ENV,
  sandboxFlags,
  sandboxTargetFor,
  withBrokerSocket,
} from "../src/sandbox.ts";
import { codeBlocks, readDoc, section, tableRows } from "../testkit/markdown.ts";

const target = { readPaths: ["/etc/netauth"], server: "netauth.example.org", port: 1729 };

Deno.test("the flag list is exactly the documented sandbox", () => {
  assert.deepEqual(sandboxFlags(target), [
    "--no-prompt",
    "--allow-read=/etc/netauth",
    "--allow-env=PAM_TYPE,PAM_USER,PAM_SERVICE,PAM_RHOST,PAM_RUSER,PAM_TTY,NETAUTH_LOGLEVEL,NETAUTH_STARTED_MS,NETAUTH_WAITED_MS",
    "--ignore-env",
    "--allow-sys=hostname,uid",
    "--allow-net=netauth.example.org:1729",
  ]);
});

Deno.test("nothing broad: no write (without a cache), run, ffi, all, and every allow flag is scoped", () => {
  for (const flag of sandboxFlags(target)) {
    assert.doesNotMatch(flag, /^--allow-(all|write|run|ffi|import)|^-A$/);
    if (flag.startsWith("--allow-")) assert.match(flag, /^--allow-[a-z]+=.+/, flag);
  }
  assert.ok(ALLOWED_ENV.every((name) => /^(PAM_|NETAUTH_LOGLEVEL$|NETAUTH_STARTED_MS$|NETAUTH_WAITED_MS$)/.test(name)));
  // The launcher sets the start time and the wait itself: they are never taken from the PAM environment.
  assert.deepEqual(ALLOWED_ENV.filter((name) => !PASSED_ENV.includes(name)), [
    "NETAUTH_STARTED_MS",
    "NETAUTH_WAITED_MS",
  ]);
});

Deno.test("net permission names the server and port once; IPv6 is bracketed", () => {
  assert.equal(netPermission("10.0.0.5", 1729), "10.0.0.5:1729");
  assert.equal(netPermission("::1", 1729), "[::1]:1729");
});

Deno.test("a certificate outside the config directory is granted as a single file", () => {
  const base = { file: "/etc/netauth/config.toml", server: "s", port: 1 };
  assert.deepEqual(sandboxTargetFor({ ...base, certificate: "/etc/netauth/keys/tls.pem" }).readPaths, ["/etc/netauth"]);
  assert.deepEqual(sandboxTargetFor({ ...base, certificate: "/etc/netauth-ca.pem" }).readPaths, [
    "/etc/netauth",
    "/etc/netauth-ca.pem",
  ]);
});

Deno.test("paths that would break the flag syntax are refused", () => {
  for (const path of ["relative", "/a,b", "/a b"]) {
    assert.throws(() => sandboxFlags({ ...target, readPaths: [path] }), /sandbox path/);
  }
});

Deno.test("a cache directory adds read and write there, nothing else", () => {
  assert.deepEqual(sandboxFlags({ ...target, cacheDir: "/var/cache/netauth" }), [
    "--no-prompt",
    "--allow-read=/etc/netauth,/var/cache/netauth",
    "--allow-write=/var/cache/netauth",
    "--allow-env=PAM_TYPE,PAM_USER,PAM_SERVICE,PAM_RHOST,PAM_RUSER,PAM_TTY,NETAUTH_LOGLEVEL,NETAUTH_STARTED_MS,NETAUTH_WAITED_MS",
    "--ignore-env",
    "--allow-sys=hostname,uid",
    "--allow-net=netauth.example.org:1729",
  ]);
});

Deno.test("an installed helper also reads its install directory (runtime dirs, manifest.json, artefact), no more", () => {
  const config = { file: "/etc/netauth/config.toml", certificate: "/etc/netauth/keys/tls.pem", server: "s", port: 1 };
  assert.deepEqual(sandboxTargetFor(config, undefined, "/usr/local/lib/netauth-pam-helper/runtime").readPaths, [
    "/etc/netauth",
    "/usr/local/lib/netauth-pam-helper",
  ]);
});

Deno.test("an installed helper without a cache writes only the runtime's TMPDIR (the outage record); with one, no more", () => {
  const config = { file: "/etc/netauth/config.toml", certificate: "/etc/netauth/keys/tls.pem", server: "s", port: 1 };
  const runtime = "/usr/local/lib/netauth-pam-helper/runtime";
  const writes = (cacheDir?: string) =>
    sandboxFlags(sandboxTargetFor(config, cacheDir, runtime)).filter((f) => f.startsWith("--allow-write"));
  assert.deepEqual(writes(), [`--allow-write=${runtime}/tmp`]);
  assert.deepEqual(writes("/var/cache/netauth"), ["--allow-write=/var/cache/netauth"]);
});

const sandboxDoc = section(readDoc("docs/security.md"), "## The sandbox flags");

Deno.test("docs/security.md's example is sandboxFlags' output", () => {
  assert.deepEqual(codeBlocks(sandboxDoc)[0].split(/\s+/).filter(Boolean), sandboxFlags(target));
});

Deno.test("docs/security.md's sandbox table grants exactly what an installed helper with a cache gets", () => {
  const config = { file: "/etc/netauth/config.toml", certificate: "/etc/netauth/keys/tls.pem", server: "h", port: 9 };
  const runtimeDir = "/usr/local/lib/netauth-pam-helper/runtime";
  const granted = sandboxFlags(sandboxTargetFor(config, "/var/cache/na", runtimeDir));
  // The table's placeholders, filled in for that helper; `PAM_…` stands for the PAM variables.
  const fill = (text: string) =>
    text.replace("CONF_DIR", "/etc/netauth").replace("PREFIX", "/usr/local").replace("CACHE_DIR", "/var/cache/na")
      .replace("NAME:PORT", netPermission(config.server, config.port))
      .replace("PAM_…", ALLOWED_ENV.filter((name) => name.startsWith("PAM_")).join(","));
  /** Each flag as `name=item` per comma-separated item, or the bare name. */
  const pairs = (flag: string) => {
    const [name, value] = flag.split("=");
    return value === undefined ? [name] : value.split(",").map((item) => `${name}=${item}`);
  };
  const documented = tableRows(sandboxDoc).flatMap(([cell]) => {
    const flag = fill(cell.split(" ")[0]);
    const alsoRead = cell.includes("(and read)") ? [flag.replace("--allow-write=", "--allow-read=")] : [];
    return [flag, ...alsoRead].flatMap(pairs);
  });
  assert.deepEqual(new Set(documented), new Set(granted.flatMap(pairs)));
});

Deno.test("with the broker's socket: its directory read, the socket written and connected to, systemd's variables", () => {
  const target = withBrokerSocket(
    { readPaths: ["/etc/netauth"], server: "na.test", port: 1729 },
    "/l/rt/broker/socket",
  );
  assert.deepEqual(sandboxFlags(target), [
    "--no-prompt",
    "--allow-read=/etc/netauth,/l/rt/broker",
    "--allow-write=/l/rt/broker/socket",
    `--allow-env=${ALLOWED_ENV.join(",")},LISTEN_PID,LISTEN_FDS`,
    "--ignore-env",
    "--allow-sys=hostname,uid",
    "--allow-net=na.test:1729,unix:/l/rt/broker/socket",
  ]);
  assert.equal(withBrokerSocket(target, undefined), target);
});

Deno.test("README.md's first paragraph names everything an installed helper's sandbox grants, and says nothing else", () => {
  const config = { file: "/etc/netauth/config.toml", certificate: "/etc/netauth/keys/tls.pem", server: "h", port: 9 };
  const runtime = "/usr/local/lib/netauth-pam-helper/runtime";
  const socket = `${runtime}/broker/socket`;
  const granted = [
    sandboxTargetFor(config, undefined, runtime),
    sandboxTargetFor(config, "/var/cache/na", runtime),
    withBrokerSocket(sandboxTargetFor(config, undefined, runtime), socket),
  ].flatMap((target) => sandboxFlags(target)).flatMap((flag) => {
    const [name, value] = flag.split("=");
    return value === undefined ? [] : value.split(",").map((item) => `${name}=${item}`);
  });
  // Each grant, and the README's words for it.
  const words: Record<string, string> = {
    "--allow-read=/etc/netauth": "read the NetAuth config directory",
    "--allow-read=/usr/local/lib/netauth-pam-helper": "its own install directory",
    "--allow-read=/var/cache/na": "read and write one directory (the offline cache",
    "--allow-write=/var/cache/na": "read and write one directory (the offline cache",
    [`--allow-read=${runtime}/tmp`]: "or without one the runtime's `tmp/`",
    [`--allow-write=${runtime}/tmp`]: "or without one the runtime's `tmp/`",
    "--allow-env=NETAUTH_LOGLEVEL": "the log level",
    "--allow-env=NETAUTH_STARTED_MS": "the launcher's start time",
    "--allow-env=NETAUTH_WAITED_MS": "how long it waited for a login slot",
    "--allow-sys=hostname": "learn the host name",
    "--allow-sys=uid": "its uid",
    "--allow-net=h:9": "connect to the one configured NetAuth server",
    [`--allow-read=${runtime}/broker`]: "the broker's socket",
    [`--allow-write=${socket}`]: "the broker's socket",
    [`--allow-net=unix:${socket}`]: "the broker's socket",
    "--allow-env=LISTEN_PID": "the variables systemd hands it over in",
    "--allow-env=LISTEN_FDS": "the variables systemd hands it over in",
  };
  const paragraph = section(readDoc("README.md"), "# netauth-pam-helper").trim().split("\n\n")[0].replace(/\s+/g, " ");
  for (const grant of new Set(granted)) {
    const said = grant.startsWith("--allow-env=PAM_") ? "read the `PAM_*` variables" : words[grant];
    assert.ok(said !== undefined, `README.md's first paragraph has no words for ${grant}: add them to it and here`);
    assert.ok(paragraph.includes(said), `README.md's first paragraph should say "${said}" (for ${grant})`);
  }
  assert.match(paragraph, /— nothing else, but for the broker's socket/);
});
