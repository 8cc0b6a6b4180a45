/**
 * NetAuth's client config.toml, read with NetAuth's semantics: case-insensitive keys,
 * unknown keys ignored, relative paths under core.conf. Every error names file and key.
 *
 * @module
 */
import { parse as parseToml } from "smol-toml";
import { Exit } from "./exit_codes.ts";
import { describeIoError, HelperError } from "./errors.ts";
import { trustProblem } from "./file_modes.ts";
import { dirname, resolvePath } from "./paths.ts";

/** `core.port`'s default, as NetAuth's. */
export const DEFAULT_PORT = 1729;
/** `tls.certificate`'s default, relative to `core.conf`. */
export const DEFAULT_CERTIFICATE = "keys/tls.pem";

/** The config file, read and checked: what a run needs from it. */
export interface Config {
  /** The file this was read from. */
  file: string;
  /** `core.server`: the NetAuth server's host name or address. */
  server: string;
  /** `core.port`. */
  port: number;
  /** Absolute path of the PEM file trusted as the server's root. */
  certificate: string;
  /** Plaintext gRPC: secrets travel unencrypted. */
  pwnMe: boolean;
  /** `client.ID`, sent as `client-name` metadata (the host name by default). */
  clientId: string;
}

type Table = Record<string, unknown>;

/** Reads and validates the file; `hostname` supplies client.ID's default lazily. */
export async function loadConfig(file: string, hostname: () => string): Promise<Config> {
  // Before reading: whoever can change the file could turn off TLS or pick the server.
  const unsafe = await trustProblem(file);
  if (unsafe) throw configError(file, undefined, unsafe);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    throw configError(file, undefined, `cannot read: ${describeIoError(err)}`);
  }
  return parseConfig(file, text, hostname);
}

/**
 * The config `text` holds; throws a HelperError (3) naming `file` and the bad key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const file = "/etc/netauth/config.toml";
 * assert.deepEqual(parseConfig(file, '[core]\nServer = "NetAuth.example.org"\n', () => "web1"), {
 *   file,
 *   server: "netauth.example.org", // keys and the host name are case-insensitive
 *   port: 1729,
 *   certificate: "/etc/netauth/keys/tls.pem", // relative to core.conf, by default the file's directory
 *   pwnMe: false,
 *   clientId: "web1", // client.ID, by default the host name
 * });
 * assert.throws(() => parseConfig(file, "[core]\nport = 1729\n", () => "web1"), /core\.server: required/);
 * ```
 */
export function parseConfig(file: string, text: string, hostname: () => string): Config {
  let doc: Table;
  try {
    doc = lowerKeys(file, "", parseToml(text));
  } catch (err) {
    if (err instanceof HelperError) throw err;
    const first = String((err as Error).message).split("\n")[0];
    throw configError(file, undefined, `not valid TOML: ${first}`);
  }
  const core = table(file, doc, "core");
  const tls = table(file, doc, "tls");
  const client = table(file, doc, "client");

  const server = core.server;
  if (server === undefined) throw configError(file, "core.server", "required, expected a host name or address");
  if (typeof server !== "string" || !isHostName(server)) {
    throw configError(file, "core.server", `expected a host name or IP address without port, got ${show(server)}`);
  }
  // Base for relative paths: core.conf, or the config file's directory.
  const confDirRaw = core.conf ?? dirname(file);
  if (typeof confDirRaw !== "string" || confDirRaw === "") {
    throw configError(file, "core.conf", `expected a directory path, got ${show(confDirRaw)}`);
  }
  const confDir = resolvePath(dirname(file), confDirRaw);
  const certificate = tls.certificate ?? DEFAULT_CERTIFICATE;
  if (typeof certificate !== "string" || certificate === "") {
    throw configError(file, "tls.certificate", `expected a file path, got ${show(certificate)}`);
  }
  const clientId = client.id ?? hostname();
  if (typeof clientId !== "string" || clientId === "") {
    throw configError(file, "client.ID", `expected a non-empty string, got ${show(clientId)}`);
  }
  return {
    file,
    server: server.toLowerCase(),
    port: parsePort(file, core.port),
    certificate: resolvePath(confDir, certificate),
    pwnMe: parseBool(file, "tls.pwn_me", tls.pwn_me ?? false),
    clientId,
  };
}

/** A HelperError (3) for a bad config: `config FILE: KEY: message`. */
export function configError(file: string, key: string | undefined, message: string): HelperError {
  return new HelperError(Exit.SERVICE_ERR, "bad_config", `config ${file}: ${key ? `${key}: ` : ""}${message}`);
}

// NetAuth's Go clients (viper) match keys case-insensitively.
function lowerKeys(file: string, prefix: string, value: unknown): Table {
  const out: Table = {};
  for (const [key, inner] of Object.entries(value as Table)) {
    const lower = key.toLowerCase();
    if (lower in out) throw configError(file, prefix + key, "given twice (keys are case-insensitive)");
    out[lower] = isTable(inner) ? lowerKeys(file, `${prefix}${key}.`, inner) : inner;
  }
  return out;
}

function isTable(value: unknown): value is Table {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function table(file: string, doc: Table, name: string): Table {
  const value = doc[name];
  if (value === undefined) return {};
  if (!isTable(value)) throw configError(file, name, `expected a table [${name}], got ${show(value)}`);
  return value;
}

function parsePort(file: string, value: unknown): number {
  if (value === undefined) return DEFAULT_PORT;
  const port = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw configError(file, "core.port", `expected a port number 1-65535, got ${show(value)}`);
  }
  return port;
}

function parseBool(file: string, key: string, value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "false") return value === "true";
  throw configError(file, key, `expected true or false, got ${show(value)}`);
}

/**
 * An IPv6 literal (a zone suffix allowed, like node:net's isIP), by WHATWG URL's host parser:
 * node:net itself would cost every run, bad input included, ~10 MiB and ~25 ms to load.
 */
function isIPv6(value: string): boolean {
  if (!value.includes(":")) return false;
  try {
    new URL(`http://[${value.replace(/%[0-9A-Za-z.:-]+$/, "")}]/`);
    return true;
  } catch {
    return false;
  }
}

function isHostName(value: string): boolean {
  // IPv4 literals pass as host names: every dotted quad is a valid label sequence.
  if (isIPv6(value)) return true;
  return value.length <= 253 &&
    value.split(".").every((label) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label));
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : `${typeof value} ${JSON.stringify(value)}`;
}
