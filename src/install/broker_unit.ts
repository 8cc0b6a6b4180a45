/**
 * The systemd unit for the warm broker (`install.sh --broker` installs it): the installed launcher
 * with --serve, root without capabilities, writing only the socket's and the cache's directories.
 *
 * @module
 */
import { dirname } from "../paths.ts";

/** Where install.sh puts the unit: the admin's own units, which no package overwrites. */
export const BROKER_UNIT_PATH = "/etc/systemd/system/netauth-pam-helper.service";

/** The paths the unit names. */
export interface BrokerUnitSpec {
  /** The launcher PAM runs (PREFIX/sbin/netauth-pam-helper); its baked args name the socket. */
  launcher: string;
  /** The broker's socket: its directory is writable. */
  socket: string;
  /** The offline cache directory, writable too when there is one. */
  cacheDir?: string;
}

/**
 * The unit text. Runs as root (the socket must be root's, and so are the config and the cache) but
 * holds no capability: every file it touches is root's own. MemoryDenyWriteExecute stays off: V8's
 * JIT needs writable code pages.
 */
export function brokerUnit(spec: BrokerUnitSpec): string {
  const writable = [dirname(spec.socket), ...(spec.cacheDir ? [spec.cacheDir] : [])];
  return `# netauth-pam-helper's warm broker, written by install.sh --broker; re-run install.sh to change it.
# A change to the NetAuth config, its certificate or the install needs: systemctl restart netauth-pam-helper
[Unit]
Description=NetAuth PAM broker: one warm connection to NetAuth for netauth-pam-helper
After=network-online.target
Wants=network-online.target

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
ReadWritePaths=${writable.join(" ")}
PrivateTmp=yes
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
WantedBy=multi-user.target
`;
}
