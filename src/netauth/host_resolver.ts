/**
 * A grpc-js resolver that hands the server *name* to the socket instead of resolving it.
 * Deno then resolves inside its own connect and checks only `--allow-net=NAME:PORT`, so the
 * sandbox names the server once and survives DNS changes (docs/security.md, "How narrow `--allow-net` can be").
 *
 * @module
 */
import { experimental, Metadata, status } from "@grpc/grpc-js";
import process from "node:process";
import { netPermission } from "../sandbox.ts";

const SCHEME = "netauth-host";
let registered = false;

/** The channel target for a server: `netauth-host:` and the sandbox's `NAME:PORT` (IPv6 literals bracketed). */
export function targetFor(server: string, port: number): string {
  return `${SCHEME}:${netPermission(server, port)}`;
}

/** Registers the `netauth-host:` scheme with grpc-js, once per process; later calls do nothing. */
export function registerHostResolver(): void {
  if (registered) return;
  registered = true;
  experimental.registerResolver(SCHEME, HostResolver);
}

class HostResolver implements experimental.Resolver {
  private reported = false;
  private readonly endpoint: { host: string; port: number } | undefined;

  constructor(target: experimental.GrpcUri, private readonly listener: experimental.ResolverListener) {
    const hostPort = experimental.splitHostPort(target.path);
    if (hostPort?.port !== undefined) this.endpoint = { host: hostPort.host, port: hostPort.port };
  }

  updateResolution(): void {
    if (this.reported) return;
    this.reported = true;
    // Listeners must not be called synchronously from updateResolution.
    process.nextTick(() => {
      const result = this.endpoint ? { ok: true as const, value: [{ addresses: [this.endpoint] }] } : {
        ok: false as const,
        error: { code: status.UNAVAILABLE, details: "bad netauth-host target", metadata: new Metadata() },
      };
      this.listener(result, {}, null, "");
    });
  }

  destroy(): void {
    this.reported = false;
  }

  static getDefaultAuthority(target: experimental.GrpcUri): string {
    return target.path;
  }
}
