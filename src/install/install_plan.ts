/**
 * What install.sh needs from TypeScript, so shell only moves files: `install.sh --print-flags` (the
 * sandbox flags for DIR/config.toml), and for an install, in one call, the plan files: the flags, the
 * arguments baked into the installed helper and both launchers. Runs outside the helper's sandbox, as the
 * installer, with full read so the strict-modes walk (loadConfig, checkCertificateModes) sees every
 * directory up to "/".
 *
 * @module
 */
import { parseArgs } from "node:util";
import { checkCertificateModes } from "../certificate.ts";
import { loadConfig } from "../config.ts";
import { trimSlashes } from "../paths.ts";
import { HelperError } from "../errors.ts";
import { type BuildMode, defaultLoginSlots, launcherScript, parseLoginSlots } from "./launcher.ts";
import { sandboxFlags, sandboxTargetFor, withBrokerSocket } from "../sandbox.ts";
import { brokerUnit } from "./broker_unit.ts";

/**
 * `deno run` options for the bundle: nothing from a config, a lock, the network or npm at login time. Its V8 code
 * cache is the one root sealed at install time, read-only to the runtime and in the manifest (docs/install.md,
 * "Code cache").
 */
export const BUNDLE_RUN_OPTIONS = [
  "run",
  "--quiet",
  "--no-config",
  "--no-lock",
  "--no-remote",
  "--no-npm",
];

/** The installed helper's directories, as `install.sh` was given them. */
export interface InstallPaths {
  /** `--conf-dir`: holds config.toml. */
  confDir: string;
  /** `--cache-dir`, when the offline cache is on. */
  cacheDir?: string;
  /** The root-owned directory holding the runtime's HOME, DENO_DIR and TMPDIR. */
  runtimeDir?: string;
  /** The warm broker's socket (install.sh --broker): baked into the helper and its sandbox. */
  brokerSocket?: string;
}

/** The arguments the installed helper always gets: its config, cache and runtime directories. */
export function bakedArgs(paths: InstallPaths): string[] {
  return [
    "--config",
    `${paths.confDir === "/" ? "" : paths.confDir}/config.toml`,
    ...(paths.cacheDir ? ["--cache-dir", paths.cacheDir] : []),
    ...(paths.runtimeDir ? ["--runtime-dir", paths.runtimeDir] : []),
    ...(paths.brokerSocket ? ["--broker-socket", paths.brokerSocket] : []),
  ];
}

/** The sandbox for the config; run with full read as root, refuses a config or certificate others could write. */
export async function flagsFor(paths: InstallPaths): Promise<string[]> {
  const config = await loadConfig(bakedArgs(paths)[1], () => "install-plan");
  if (!config.pwnMe) await checkCertificateModes(config);
  return sandboxFlags(withBrokerSocket(sandboxTargetFor(config, paths.cacheDir, paths.runtimeDir), paths.brokerSocket));
}

/** What a launcher runs: the build mode, the artefact and deno as placed, the install's paths and its flags. */
export interface LauncherTarget {
  /** The build mode. */
  mode: BuildMode;
  /** The compiled binary or the bundle. */
  target: string;
  /** The install's directories (for the baked arguments). */
  paths: InstallPaths;
  /** The sandbox flags (bundle mode: given to `deno run`; compile mode: baked in already). */
  flags: string[];
  /** The absolute path of deno (bundle mode only). */
  deno?: string;
}

/** The launcher's command: the compiled binary, or `deno run` under `flags` on the bundle, then the baked args. */
export function launcherCommand({ mode, target, paths, flags, deno }: LauncherTarget): string[] {
  if (mode === "compile") return [target, ...bakedArgs(paths)];
  if (!deno?.startsWith("/")) throw new Error(`bundle mode needs the absolute path of deno, got "${deno ?? ""}"`);
  return [deno, ...BUNDLE_RUN_OPTIONS, ...flags, target, ...bakedArgs(paths)];
}

/** Where an artefact and bundle mode's deno are: as installed, or staged for the verification run. */
export interface Placement {
  /** The bundle or binary. */
  artefact: string;
  /** Bundle mode's copy of deno. */
  deno: string;
  /** The runtime's HOME, DENO_DIR and TMPDIR go below it. */
  runtimeDir: string;
}

/** The login slots for `--login-slots` (undefined: the default for `cpus`, the CPUs this host has). */
export function loginSlotsFor(
  raw: string | undefined,
  cpus: number = navigator.hardwareConcurrency,
): PlanSpec["loginSlots"] {
  return raw === undefined
    ? { count: defaultLoginSlots(cpus), chosen: false }
    : { count: parseLoginSlots(raw), chosen: true };
}

/** One install's plan: mode, directories, setpriv, and where the installed and the staged build are. */
export interface PlanSpec {
  /** The build mode. */
  mode: BuildMode;
  /** The installed helper's directories (`runtimeDir` as installed: baked into both launchers). */
  paths: InstallPaths;
  /** Absolute path of util-linux's setpriv. */
  setpriv: string;
  /** Absolute path of util-linux's flock (default /usr/bin/flock). */
  flock?: string;
  /** Absolute path of util-linux's setsid (default /usr/bin/setsid). */
  setsid?: string;
  /** Admission control: at most this many helpers at once, and whether the admin chose it (--login-slots). */
  loginSlots: { count: number; chosen: boolean };
  /** The installed launcher's path (PREFIX/sbin/netauth-pam-helper): the broker's unit runs it (with --broker). */
  launcherPath?: string;
  /** The build as installed: what PAM's launcher runs. */
  installed: Placement;
  /** The build as staged: what the verification launcher runs. */
  staged: Placement;
}

/** File name -> text: everything install.sh writes from TypeScript for one install (the unit with --broker). */
export type PlanFiles = Record<"flags" | "baked-args" | "launcher" | "verify-launcher", string> & {
  "broker-unit"?: string;
};

/**
 * The flags and baked arguments (one line each, single words for sh), the launcher PAM runs, and the
 * launcher for the staged build, which differs only in where the artefact, deno and runtime dirs are.
 */
export function planFiles(spec: PlanSpec, flags: string[]): PlanFiles {
  const launcher = (at: Placement) =>
    launcherScript({
      mode: spec.mode,
      command: launcherCommand({ mode: spec.mode, target: at.artefact, paths: spec.paths, flags, deno: at.deno }),

      runtimeDir: at.runtimeDir,
      setpriv: spec.setpriv,
      flock: spec.flock,
      setsid: spec.setsid,
      loginSlots: spec.loginSlots.count,
      slotsChosen: spec.loginSlots.chosen,
    });
  return {
    flags: `${flags.join(" ")}\n`,
    "baked-args": `${bakedArgs(spec.paths).join(" ")}\n`,
    launcher: launcher(spec.installed),
    "verify-launcher": launcher(spec.staged),
    ...(spec.paths.brokerSocket && spec.launcherPath && {
      "broker-unit": brokerUnit({
        launcher: spec.launcherPath,
        socket: spec.paths.brokerSocket,
        cacheDir: spec.paths.cacheDir,
        runtimeDir: spec.paths.runtimeDir ?? spec.installed.runtimeDir,
      }),
    }),
  };
}

if (import.meta.main) {
  // install_plan.ts --conf-dir DIR [--cache-dir DIR] [--runtime-dir DIR] [--broker-socket PATH]: the flags on one line, or with
  // --plan-dir DIR --mode M --setpriv P [--flock P] [--setsid P] [--login-slots N] --artefact P --deno P
  // --staged-artefact P --staged-deno P
  // --staged-runtime-dir DIR: the plan files written into DIR.
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        "conf-dir": { type: "string", default: "/etc/netauth" },
        "cache-dir": { type: "string" },
        "runtime-dir": { type: "string" },
        "broker-socket": { type: "string" },
        "plan-dir": { type: "string" },
        mode: { type: "string", default: "bundle" },
        setpriv: { type: "string", default: "/usr/bin/setpriv" },
        flock: { type: "string", default: "/usr/bin/flock" },
        setsid: { type: "string", default: "/usr/bin/setsid" },
        "login-slots": { type: "string" },
        launcher: { type: "string", default: "/usr/local/sbin/netauth-pam-helper" },
        artefact: { type: "string" },
        deno: { type: "string" },
        "staged-artefact": { type: "string" },
        "staged-deno": { type: "string" },
        "staged-runtime-dir": { type: "string" },
      },
    });
    const optional = (path?: string) => path === undefined ? undefined : trimSlashes(path);
    const paths: InstallPaths = {
      confDir: trimSlashes(values["conf-dir"]),
      cacheDir: optional(values["cache-dir"]),
      runtimeDir: optional(values["runtime-dir"]),
      brokerSocket: optional(values["broker-socket"]),
    };
    const dir = values["plan-dir"];
    // First, as it needs no config: a dry run shows it even when the sandbox cannot be derived.
    if (dir !== undefined) await Deno.writeTextFile(`${dir}/baked-args`, `${bakedArgs(paths).join(" ")}\n`);
    const loginSlots = loginSlotsFor(values["login-slots"]); // a bad value stops even a dry run
    const flags = await flagsFor(paths);
    if (dir === undefined) {
      console.log(flags.join(" "));
    } else {
      const mode = values.mode as BuildMode;
      const v = values;
      if (
        !["compile", "bundle"].includes(mode) || !paths.runtimeDir || !v.artefact || !v.deno || !v["staged-artefact"] ||
        !v["staged-deno"] || !v["staged-runtime-dir"]
      ) {
        throw new Error(
          "--plan-dir needs --mode compile|bundle, --runtime-dir, --artefact, --deno, --staged-artefact, --staged-deno and --staged-runtime-dir",
        );
      }
      const files = planFiles({
        mode,
        paths,
        setpriv: v.setpriv,
        flock: v.flock,
        setsid: v.setsid,
        loginSlots,
        launcherPath: v.launcher,
        installed: { artefact: v.artefact, deno: v.deno, runtimeDir: paths.runtimeDir },
        staged: {
          artefact: v["staged-artefact"],
          deno: v["staged-deno"],
          runtimeDir: trimSlashes(v["staged-runtime-dir"]),
        },
      }, flags);
      for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${name}`, text);
    }
  } catch (err) {
    console.error(`print-flags: ${(err as Error).message.split("\n")[0]}`);
    Deno.exit(err instanceof HelperError ? err.exit : 3);
  }
}
