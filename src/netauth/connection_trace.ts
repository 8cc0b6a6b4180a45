// How far the connection to NetAuth got, so that a failure can name its phase and address
// instead of grpc-js's timing detail. grpc-js hands each TCP socket it connected to the
// credentials' secure connector for the TLS handshake; wrapping that connector sees both steps.
import type { ChannelCredentials } from "@grpc/grpc-js";
import type { Phase } from "./client.ts";

/** The phase reached and the address of the last TCP connection (`127.0.0.1:1729`). */
export interface ConnectionTrace {
  phase: Phase;
  peer?: string;
}

type Connector = ReturnType<ChannelCredentials["_createSecureConnector"]>;
type Socket = Parameters<Connector["connect"]>[0];

/** Credentials that report into `trace`: `tls` once TCP is up, `rpc` once TLS (or plaintext) is. */
export function traced(credentials: ChannelCredentials, trace: ConnectionTrace): ChannelCredentials {
  const create = credentials._createSecureConnector.bind(credentials);
  credentials._createSecureConnector = (...args) => {
    const connector = create(...args);
    return {
      connect(socket: Socket) {
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
  return credentials;
}

function peerOf(socket: Socket): string | undefined {
  const { remoteAddress: host, remotePort: port } = socket;
  if (!host) return undefined;
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
