/**
 * `--audit`: what this process may do, as JSON, for security teams. Each probe asks Deno's
 * permission state; three also try the act (read /etc/shadow, open a file for writing, run a
 * program) so the report rests on what happened, not only on what was declared.
 *
 * @module
 */
import type { ArtefactState } from "../artefact.ts";
import type { Config } from "../config.ts";
import { Exit, type ExitCode } from "../exit_codes.ts";
import { dirname } from "../paths.ts";
import { inspectRuntimeDir, type RuntimeDirState } from "../runtime_dir.ts";
import {
  ALLOWED_ENV,
  ALLOWED_SYS,
  installDirOf,
  netPermission,
  sandboxFlags,
  sandboxTargetFor,
  withBrokerSocket,
} from "../sandbox.ts";
import { VERSION } from "../version.ts";
import { ACTIVATION_ENV } from "../broker/socket.ts";

/** One permission asked of Deno: what the sandbox should say, and what it said. */
export interface Probe {
  /** The permission's name, like `read` or `net`. */
  permission: string;
  /** What it was asked for: a path, a host, a variable. */
  target: string;
  /** What the baked flags grant. */
  expected: "granted" | "denied";
  /** What this process has. */
  actual: "granted" | "denied";
}

/** The JSON `--audit` prints. */
export interface AuditReport {
  /** The helper's version. */
  version: string;
  /** The Deno version it runs on. */
  deno: string;
  /** The config file's path. */
  config: string;
  /** Why the config did not load; the audit still runs. */
  configError?: string;
  /** The sandbox flags the config implies (empty without a config). */
  declared: string[];
  /** `--cache-dir`, when given. */
  cacheDir?: string;
  /** Why the helper will not use the cache directory (file_modes.ts's walk, as a login does it): fails the audit. */
  cacheProblem?: string;
  /** The runtime's HOME, DENO_DIR and TMPDIR (installed helpers): owner, mode, and any problem. */
  runtimeDirs?: RuntimeDirState[];
  /** The SHA-256 of the code this process runs against the install's manifest.json (installed helpers). */
  artefact?: ArtefactState;
  /** Every permission asked, with what it should be and what it is. */
  probes: Probe[];

  /** Probes granted beyond the declared flags: the audit fails when this is not empty. */
  unexpected: string[];
  /** Declared permissions this process lacks (logins will fail, but nothing leaks). */
  missing: string[];
  /** Forbidden acts tried, and how each ended (`refused by sandbox` when all is well). */
  attempts: Record<string, string>;
  /** Nothing unexpected granted or done, and no runtime directory or artefact problem. */
  ok: boolean;
}

type Descriptor = Deno.PermissionDescriptor;

/** What `--audit` needs from outside; tests pass fakes. */
export interface AuditDeps {
  /** Reads and checks the config file. */
  loadConfig: () => Promise<Config>;
  /** The artefact's state against its manifest, for an installed helper (`--runtime-dir`). */
  inspectArtefact: (installDir: string) => Promise<ArtefactState>;
  /** Why the cache directory is unusable (src/cache/open.ts), or undefined. */
  cacheProblem?: (dir: string) => Promise<string | undefined>;
  /** Writes the report to stdout. */
  print: (line: string) => void;
}

/** What the report is about: the config (or why it did not load), the options, the artefact's state. */
interface AuditInput {
  configFile: string;
  config: Config | undefined;
  configError?: string;
  cacheDir?: string;
  runtimeDir?: string;
  artefact?: ArtefactState;
  /** The warm broker's socket (--broker-socket): declared and probed with the rest. */
  brokerSocket?: string;
}

/** `--audit` as run: the config (or why it failed to load), the report as JSON; exit 0 only when it is ok. */
export async function auditCommand(
  options: { configPath: string; cacheDir?: string; runtimeDir?: string; brokerSocket?: string },
  deps: AuditDeps,
): Promise<ExitCode> {
  const loaded = await deps.loadConfig().then(
    (config) => ({ config, error: undefined }),
    (err: Error) => ({ config: undefined, error: err.message }),
  );
  const artefact = options.runtimeDir ? await deps.inspectArtefact(installDirOf(options.runtimeDir)) : undefined;
  const report = runAudit({
    configFile: options.configPath,
    config: loaded.config,
    configError: loaded.error,
    cacheDir: options.cacheDir,
    runtimeDir: options.runtimeDir,
    artefact,
    brokerSocket: options.brokerSocket,
  });
  const cacheProblem = options.cacheDir ? await deps.cacheProblem?.(options.cacheDir) : undefined;
  if (cacheProblem) Object.assign(report, { cacheProblem, ok: false });
  deps.print(JSON.stringify(report, null, 2));
  return report.ok ? Exit.SUCCESS : Exit.SYSTEM_ERR;
}

function runAudit(
  { configFile, config, configError, cacheDir, runtimeDir, artefact, brokerSocket }: AuditInput,
): AuditReport {
  const target = config ? withBrokerSocket(sandboxTargetFor(config, cacheDir, runtimeDir), brokerSocket) : {
    readPaths: [dirname(configFile), ...(runtimeDir ? [installDirOf(runtimeDir)] : [])],
    server: "",
    port: 0,
    cacheDir,
  };
  const cache = [cacheDir, target.outageDir].filter((dir) => dir !== undefined);
  const probes: Probe[] = [];
  const probe = (descriptor: Descriptor, label: string, expected: boolean) => {
    const state = Deno.permissions.querySync(descriptor).state;
    probes.push({
      permission: descriptor.name,
      target: label,
      expected: expected ? "granted" : "denied",
      actual: state === "granted" ? "granted" : "denied",
    });
  };

  for (const path of [...target.readPaths, ...cache]) probe({ name: "read", path }, path, true);
  for (const path of cache) probe({ name: "write", path }, path, true);
  if (target.brokerSocket) {
    const socket = target.brokerSocket;
    probe({ name: "read", path: dirname(socket) }, dirname(socket), true);
    probe({ name: "write", path: socket }, socket, true);
    probe({ name: "net", host: `unix:${socket}` }, `unix:${socket}`, true);
    for (const variable of ACTIVATION_ENV) probe({ name: "env", variable }, variable, true);
  }
  for (const path of ["/", "/etc/shadow", "/etc/passwd", "/root", "/tmp", "/proc/self/environ"]) {
    probe({ name: "read", path }, path, false);
  }
  for (const path of [...target.readPaths, "/", "/tmp", "/etc/pam.d"]) probe({ name: "write", path }, path, false);
  if (config) {
    probe(
      { name: "net", host: netPermission(config.server, config.port) },
      netPermission(config.server, config.port),
      true,
    );
  }
  for (const host of ["1.1.1.1:443", "127.0.0.1:22", "localhost:25", "example.com:443"]) {
    probe({ name: "net", host }, host, false);
  }
  for (const variable of ALLOWED_ENV) probe({ name: "env", variable }, variable, true);
  for (
    const variable of [
      "PATH",
      "HOME",
      "LD_PRELOAD",
      "GRPC_TRACE",
      "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
      "https_proxy",
      "grpc_proxy",
    ]
  ) {
    probe({ name: "env", variable }, variable, false);
  }
  for (const kind of ["hostname", "uid", "osRelease", "networkInterfaces", "loadavg"] as const) {
    probe({ name: "sys", kind }, kind, ALLOWED_SYS.includes(kind));
  }
  probe({ name: "run" }, "any program", false);
  probe({ name: "ffi" }, "any library", false);
  probe({ name: "import" }, "any remote module", false);

  const label = (p: Probe) => `${p.permission}:${p.target}`;
  const attempts = tryForbiddenActs();
  const runtimeDirs = runtimeDir ? inspectRuntimeDir(runtimeDir) : undefined;
  const unexpected = [
    ...probes.filter((p) => p.actual === "granted" && p.expected === "denied").map(label),
    ...Object.entries(attempts).filter(([, result]) => result === "succeeded").map(([act]) => `attempt:${act}`),
  ];
  return {
    version: VERSION,
    deno: Deno.version.deno,
    config: configFile,
    configError,
    declared: config ? sandboxFlags(target) : [],
    cacheDir,
    runtimeDirs,
    artefact,
    probes,
    unexpected,
    missing: probes.filter((p) => p.actual === "denied" && p.expected === "granted").map(label),
    attempts,
    ok: unexpected.length === 0 && !runtimeDirs?.some((dir) => dir.problem) && !artefact?.problem,
  };
}

function tryForbiddenActs(): Record<string, string> {
  const attempt = (act: () => void): string => {
    try {
      act();
      return "succeeded";
    } catch (err) {
      return err instanceof Deno.errors.NotCapable ? "refused by sandbox" : `failed: ${(err as Error).name}`;
    }
  };
  return {
    "read /etc/shadow": attempt(() => Deno.readFileSync("/etc/shadow")),
    // Opening without create: nothing is written even where the sandbox would allow it.
    "open /etc/passwd for writing": attempt(() => Deno.openSync("/etc/passwd", { write: true, create: false }).close()),
    "run /bin/true": attempt(() => new Deno.Command("/bin/true").outputSync()),
  };
}
