/**
 * The one source of truth for the Deno permissions the helper runs with. `deno compile`
 * (install.sh), `install.sh --print-flags`, the tests and `--audit` all take them from here.
 *
 * @module
 */
import { ACTIVATION_ENV } from "./broker/socket.ts";
import { STARTED_ENV, WAITED_ENV } from "./deadline.ts";
import { dirname, isBelow, isFlagPath } from "./paths.ts";
import { LOG_LEVEL_ENV } from "./log.ts";
import { PAM_ENV_NAMES } from "./pam_request.ts";
import { outageDirFor } from "./runtime_dir.ts";

/** The variables the launcher passes on from the PAM environment (and nothing else from it). */
export const PASSED_ENV: readonly string[] = [...PAM_ENV_NAMES, LOG_LEVEL_ENV];
/**
 * Every environment variable the helper reads; any other name reads as unset. The start time and the time waited
 * for a login slot are the launcher's own.
 */
export const ALLOWED_ENV: readonly string[] = [...PASSED_ENV, STARTED_ENV, WAITED_ENV];
/** The host name for client.ID's default; the uid for strict modes (whose files may be trusted). */
export const ALLOWED_SYS: readonly string[] = ["hostname", "uid"];

/** What one install's sandbox is for: what it may read, whom it may reach, where its cache is. */
export interface SandboxTarget {
  /** Directories (or files) the helper may read: the config directory, the certificate. */
  readPaths: string[];
  /** The NetAuth server's host name or address. */
  server: string;
  /** Its port. */
  port: number;
  /** The offline cache directory: read and write there, nowhere else. */
  cacheDir?: string;
  /** Without a cache: the runtime's TMPDIR, where the outage record lives (docs/configuration.md, "Outages"). */
  outageDir?: string;
  /**
   * The broker's unix socket (install.sh --broker): its directory read, the socket written and connected to (a broker
   * that listens itself creates it), and systemd's socket-activation variables (a broker systemd starts takes it).
   */
  brokerSocket?: string;
}

/** The net permission for a server: `NAME:PORT`, IPv6 literals bracketed. */
export function netPermission(server: string, port: number): string {
  return `${server.includes(":") ? `[${server}]` : server}:${port}`;
}

/**
 * The Deno permission flags for `target`: read its paths, reach its server, read the allowed variables, nothing
 * else. Throws for a path that is not absolute or holds a comma or a space (Deno's flag syntax).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const flags = sandboxFlags({ readPaths: ["/etc/netauth"], server: "netauth.example.org", port: 1729 });
 * assert.ok(flags.includes("--allow-read=/etc/netauth"));
 * assert.ok(flags.includes("--allow-net=netauth.example.org:1729"));
 * assert.ok(!flags.some((flag) => flag.startsWith("--allow-write"))); // no cache: nothing writable
 * assert.throws(() => sandboxFlags({ readPaths: ["etc/netauth"], server: "s", port: 1 }), /must be absolute/);
 * ```
 */
export function sandboxFlags(target: SandboxTarget): string[] {
  const cache = [target.cacheDir, target.outageDir].filter((dir) => dir !== undefined);
  const socket = target.brokerSocket ? [target.brokerSocket] : [];
  const writable = [...cache, ...socket];
  for (const path of [...target.readPaths, ...writable]) {
    if (!isFlagPath(path)) {
      throw new Error(`sandbox path must be absolute, without commas or spaces: "${path}"`);
    }
  }
  return [
    "--no-prompt",
    `--allow-read=${unique([...target.readPaths, ...cache, ...socket.map(dirname)]).join(",")}`,
    ...(writable.length > 0 ? [`--allow-write=${writable.join(",")}`] : []),
    `--allow-env=${[...ALLOWED_ENV, ...(target.brokerSocket ? ACTIVATION_ENV : [])].join(",")}`,
    // Unlisted names (GRPC_*, proxies, cipher suites, roots file) read as unset, not as errors.
    "--ignore-env",
    `--allow-sys=${ALLOWED_SYS.join(",")}`,
    `--allow-net=${[netPermission(target.server, target.port), ...socket.map((path) => `unix:${path}`)].join(",")}`,
  ];
}

/** The target with the broker's socket added: `--serve` listens there, the helper's fast path connects. */
export function withBrokerSocket(target: SandboxTarget, socket?: string): SandboxTarget {
  return socket ? { ...target, brokerSocket: socket } : target;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** What a config needs: its own directory, plus the certificate when it lives elsewhere. */
export function sandboxTargetFor(
  config: { file: string; certificate: string; server: string; port: number },
  cacheDir?: string,
  runtimeDir?: string,
): SandboxTarget {
  const confDir = dirname(config.file);
  const certInside = isBelow(config.certificate, confDir);
  // The install's own directory, PREFIX/lib/netauth-pam-helper (the runtime directory's parent): read
  // only to report the runtime directories' owner and mode and to hash the artefact against manifest.json.
  const runtime = runtimeDir ? [installDirOf(runtimeDir)] : [];
  return {
    readPaths: [...(certInside ? [confDir] : [confDir, config.certificate]), ...runtime],
    server: config.server,
    port: config.port,
    cacheDir,
    outageDir: cacheDir ? undefined : outageDirFor(undefined, runtimeDir),
  };
}

/** The install's directory, holding the artefact, manifest.json and the runtime directory. */
export function installDirOf(runtimeDir: string): string {
  return dirname(runtimeDir);
}

/** What to tell an admin whose config names a server this sandbox was not built for. */
export function notGrantedMessage(config: { server: string; port: number }): string {
  return `this helper's sandbox does not allow connecting to ${netPermission(config.server, config.port)} ` +
    `(core.server or core.port changed since it was built?): re-run install.sh`;
}
