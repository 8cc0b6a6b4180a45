/**
 * The systemd units for the warm broker (`install.sh --broker` and the Debian package install them): the
 * service, the installed launcher with --serve, root without capabilities, writing only the socket's and the
 * cache's directories; and, for socket activation, the socket unit that holds the broker's socket and starts
 * the service at the first login (the service then writes no socket directory: systemd made it).
 *
 * @module
 */
import { dirname } from "../paths.ts";
import { outageDirFor } from "../runtime_dir.ts";

/** Where install.sh puts the unit: the admin's own units, which no package overwrites. */
export const BROKER_UNIT_PATH = "/etc/systemd/system/netauth-pam-helper.service";
/** The socket unit's name: systemd starts the service of the same name when a login connects. */
export const BROKER_SOCKET_UNIT = "netauth-pam-helper.socket";

/** The paths the unit names. */
export interface BrokerUnitSpec {
  /** The launcher PAM runs (PREFIX/sbin/netauth-pam-helper); its baked args name the socket. */
  launcher: string;
  /** The broker's socket: its directory is writable. */
  socket: string;
  /** The offline cache directory, writable too when there is one. */
  cacheDir?: string;
  /** The runtime directory: without a cache the outage record lives in its `tmp/`, which the broker then writes. */
  runtimeDir: string;
  /** Started by its socket unit (brokerSocketUnit): it takes systemd's socket and writes no socket directory. */
  activated?: boolean;
}

/**
 * The unit text. Runs as root (the socket must be root's, and so are the config and the cache) but
 * holds no capability: every file it touches is root's own. MemoryDenyWriteExecute stays off: V8's
 * JIT needs writable code pages.
 */
export function brokerUnit(spec: BrokerUnitSpec): string {
  // The outage record's directory (the cache's, else the runtime's tmp/): without it every brokered login in an
  // outage would wait out a full try (outage/open.ts).
  const outageDir = outageDirFor(spec.cacheDir, spec.runtimeDir)!;
  const writable = [...(spec.activated ? [] : [dirname(spec.socket)]), outageDir];
  const socketUnit = spec.activated
    ? `# Started by ${BROKER_SOCKET_UNIT} at the first login; it takes that socket (LISTEN_FDS) and never removes it.
Requires=${BROKER_SOCKET_UNIT}
After=${BROKER_SOCKET_UNIT}
`
    : "";
  return `# netauth-pam-helper's warm broker, written by install.sh --broker; re-run install.sh to change it.
# A change to the NetAuth config, its certificate or the install needs: systemctl restart netauth-pam-helper
[Unit]
Description=NetAuth PAM broker: one warm connection to NetAuth for netauth-pam-helper
After=network-online.target
Wants=network-online.target
${socketUnit}
[Service]
Type=simple
ExecStart=${spec.launcher} --serve
Restart=on-failure
RestartSec=2s
UMask=0077
# In a login storm the helpers (nice 0, children of sshd) must not starve the broker that serves them:
# starved, it greets too late and every login pays for the direct path, which makes the storm worse.
Nice=-10
NoNewPrivileges=yes
ProtectSystem=strict
${writable.length > 0 ? `ReadWritePaths=${writable.join(" ")}\n` : ""}PrivateTmp=yes
ProtectHome=yes
PrivateDevices=yes
CapabilityBoundingSet=
AmbientCapabilities=
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
ProtectClock=yes
ProtectHostname=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectProc=invisible
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
MemoryMax=256M
TasksMax=512

[Install]
${spec.activated ? `Also=${BROKER_SOCKET_UNIT}` : "WantedBy=multi-user.target"}
`;
}

/**
 * The socket unit: systemd listens on the broker's socket from boot on, root's alone (0600, in a directory it makes
 * root's 0700 when missing), and starts the broker when a login connects; that login waits in the kernel's backlog
 * meanwhile. Stopped, it removes the socket: the helper then finds none and goes direct without a word.
 */
export function brokerSocketUnit(spec: { socket: string }): string {
  return `# netauth-pam-helper's warm broker's socket: systemd starts netauth-pam-helper.service at the first login.
[Unit]
Description=NetAuth PAM broker socket: logins reach the broker through it

[Socket]
ListenStream=${spec.socket}
SocketUser=root
SocketGroup=root
SocketMode=0600
DirectoryMode=0700
RemoveOnStop=yes

[Install]
WantedBy=sockets.target
`;
}
