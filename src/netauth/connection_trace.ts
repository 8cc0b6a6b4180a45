/**
 * How far the connection to NetAuth got, so that a failure can name its phase and address
 * instead of grpc-js's timing detail. grpc-js hands each TCP socket it connected to the
 * credentials' secure connector for the TLS handshake; wrapping that connector sees both steps.
 *
 * @module
 */
import type { Phase } from "./client.ts";

/** The phase reached and the address of the last TCP connection. */
export interface ConnectionTrace {
  /** `connect` until a TCP connection is up, `tls` during the handshake, `rpc` once it is done. */
  phase: Phase;
  /** The address TCP reached, `127.0.0.1:1729` or `[::1]:1729`. */
  peer?: string;
}

/** grpc-js's secure connector, as far as it is wrapped here. */
export interface SecureConnector {
  /** Runs the TLS (or plaintext) step on a socket grpc-js connected. */
  connect(socket: { remoteAddress?: string; remotePort?: number }): Promise<unknown>;
  /** Resolves when the connector can be used. */
  waitForReady(): Promise<void>;
  /** The per-call credentials it carries. */
  getCallCredentials(): unknown;
  /** Releases what it holds. */
  destroy(): void;
}

/** grpc-js's channel credentials, as far as they are wrapped here. */
export interface TraceableCredentials {
  /** Makes the connector for each new connection (grpc-js's `ChannelCredentials._createSecureConnector`). */
  _createSecureConnector(...args: never[]): SecureConnector;
}

/** Makes `credentials` report into `trace`: `tls` once TCP is up, `rpc` once TLS (or plaintext) is. */
export function traceConnections(credentials: TraceableCredentials, trace: ConnectionTrace): void {
  const create = credentials._createSecureConnector.bind(credentials);
  credentials._createSecureConnector = (...args) => {
    const connector = create(...args);
    return {
      connect(socket) {
        trace.phase = "tls";
        trace.peer = peerOf(socket);
        return connector.connect(socket).then((result) => {
          trace.phase = "rpc";
          return result;
        });
      },
      waitForReady: () => connector.waitForReady(),
      getCallCredentials: () => connector.getCallCredentials(),
      destroy: () => connector.destroy(),
    };
  };
}

function peerOf(socket: { remoteAddress?: string; remotePort?: number }): string | undefined {
  const { remoteAddress: host, remotePort: port } = socket;
  if (!host) return undefined;
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
