/**
 * Where the Debian package (scripts/deb.ts) puts things, and what `netauth-pam-helper --setup` writes on
 * the host (src/install/package_setup.ts): one table for the builder, the setup step and their tests.
 * The same tree as `install.sh --prefix /usr --mode bundle`, so --audit and --verify read it unchanged.
 * The RPM (scripts/rpm.ts) differs only in paths the helper never reads (`RPM_PATHS` in scripts/package_tree.ts,
 * kept out of this module so that setup.js, bundled from it, stays byte for byte what the .deb shipped before).
 *
 * @module
 */

/** The package's name, its launcher's and its directories'. */
export const PACKAGE = "netauth-pam-helper";

/** Paths on the installed host. */
export const PACKAGED = {
  /** The front script PAM runs: it hands over to `launcher`, or refuses with exit 3 until setup ran. */
  sbin: `/usr/sbin/${PACKAGE}`,
  lib: `/usr/lib/${PACKAGE}`,
  /** The bundle's entry; its chunks sit beside it. */
  artefact: `/usr/lib/${PACKAGE}/${PACKAGE}.js`,
  deno: `/usr/lib/${PACKAGE}/deno`,
  /** `--setup` and `--verify` for a packaged install, bundled from src/install/package_setup.ts. */
  setup: `/usr/lib/${PACKAGE}/setup.js`,
  /** What the package shipped, per file its SHA-256 at build time (written by scripts/deb.ts). */
  buildManifest: `/usr/lib/${PACKAGE}/build-manifest.json`,
  // Written by --setup on the host, never shipped (dpkg cannot know them; --verify checks them):
  /** The launcher with this host's baked sandbox flags. */
  launcher: `/usr/lib/${PACKAGE}/launcher`,
  /** The build manifest plus the launcher, the sandbox and the runtime directories: what --verify and --audit read. */
  manifest: `/usr/lib/${PACKAGE}/manifest.json`,
  runtimeDir: `/usr/lib/${PACKAGE}/runtime`,
  /** The broker's socket (src/broker/socket.ts's place below the runtime dir); --setup bakes it and makes its 0700 directory. */
  brokerSocket: `/usr/lib/${PACKAGE}/runtime/broker/socket`,
  /** The broker's unit, started by its socket unit at the first login. */
  brokerUnit: `/lib/systemd/system/${PACKAGE}.service`,
  /** The broker's socket unit: postinst enables and starts it where systemd runs. */
  brokerSocketUnit: `/lib/systemd/system/${PACKAGE}.socket`,
  confDir: "/etc/netauth",
  pamProfile: "/usr/share/pam-configs/netauth",
  /** The log file's default path; `conf` may name another (src/install/package_conf.ts). */
  logFile: `/var/log/${PACKAGE}.log`,
  /** The package's settings, a conffile (packaging/netauth-pam-helper.conf). */
  conf: `/etc/${PACKAGE}.conf`,
  logrotate: `/etc/logrotate.d/${PACKAGE}`,
  man: `/usr/share/man/man8/${PACKAGE}.8.gz`,
  doc: `/usr/share/doc/${PACKAGE}`,
} as const;

/** What a source install (install.sh, default --prefix) leaves: the package refuses to install over it. */
export const SOURCE_INSTALL_RECORD = `/usr/local/lib/${PACKAGE}/installed-files`;

/** The one command an admin runs after writing or changing the config. */
export const SETUP_COMMAND = `${PACKAGE} --setup`;

/** Debian architecture for Deno's `Deno.build.arch`; undefined where Deno ships no Linux build. */
export function debianArch(arch: string): string | undefined {
  return ({ x86_64: "amd64", aarch64: "arm64" } as Record<string, string>)[arch];
}
