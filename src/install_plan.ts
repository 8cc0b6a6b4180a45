// What install.sh needs from TypeScript, so shell only moves files: `install.sh --print-flags` (the
// sandbox flags for DIR/config.toml), the arguments baked into the installed helper, the launcher text
// and the version line a good build prints. Runs outside the helper's sandbox, as the installer, with full
// read so the strict-modes walk (loadConfig, checkCertificateModes) sees every directory up to "/".
import { parseArgs } from "node:util";
import { checkCertificateModes } from "./certificate.ts";
import { loadConfig } from "./config.ts";
import { trimSlashes } from "./paths.ts";
import { HelperError } from "./errors.ts";
import { type BuildMode, launcherScript } from "./launcher.ts";
import { sandboxFlags, sandboxTargetFor } from "./sandbox.ts";
import { VERSION } from "./version.ts";

/** `deno run` options for the bundle: nothing from a config, a lock, the network or npm at login time. */
export const BUNDLE_RUN_OPTIONS = ["run", "--quiet", "--no-config", "--no-lock", "--no-remote", "--no-npm"];

export interface InstallPaths {
  confDir: string;
  cacheDir?: string;
  /** The root-owned directory holding the runtime's HOME, DENO_DIR and TMPDIR. */
  runtimeDir?: string;
}

/** The arguments the installed helper always gets: its config, cache and runtime directories. */
export function bakedArgs(paths: InstallPaths): string[] {
  return [
    "--config",
    `${paths.confDir === "/" ? "" : paths.confDir}/config.toml`,
    ...(paths.cacheDir ? ["--cache-dir", paths.cacheDir] : []),
    ...(paths.runtimeDir ? ["--runtime-dir", paths.runtimeDir] : []),
  ];
}

/** The sandbox for the config; run with full read as root, refuses a config or certificate others could write. */
export async function flagsFor(paths: InstallPaths): Promise<string[]> {
  const config = await loadConfig(bakedArgs(paths)[1], () => "install-plan");
  if (!config.pwnMe) await checkCertificateModes(config);
  return sandboxFlags(sandboxTargetFor(config, paths.cacheDir, paths.runtimeDir));
}

/** The launcher's command: the compiled binary, or `deno run` on the bundle, then the baked args. */
export async function launcherCommand(mode: BuildMode, target: string, paths: InstallPaths, deno?: string) {
  if (mode === "compile") return [target, ...bakedArgs(paths)];
  if (!deno?.startsWith("/")) throw new Error(`bundle mode needs the absolute path of deno, got "${deno ?? ""}"`);
  return [deno, ...BUNDLE_RUN_OPTIONS, ...await flagsFor(paths), target, ...bakedArgs(paths)];
}

if (import.meta.main) {
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        "conf-dir": { type: "string", default: "/etc/netauth" },
        "cache-dir": { type: "string" },
        "runtime-dir": { type: "string" },
        "baked-args": { type: "boolean" },
        launcher: { type: "boolean" },
        mode: { type: "string", default: "bundle" },
        target: { type: "string" },
        deno: { type: "string" },
        setpriv: { type: "string", default: "/usr/bin/setpriv" },
        // The verification run's launcher points the runtime at staged directories.
        "launcher-runtime-dir": { type: "string" },
        "helper-version": { type: "boolean" },
      },
    });
    const optional = (path?: string) => path === undefined ? undefined : trimSlashes(path);
    const paths: InstallPaths = {
      confDir: trimSlashes(values["conf-dir"]),
      cacheDir: optional(values["cache-dir"]),
      runtimeDir: optional(values["runtime-dir"]),
    };
    if (values["helper-version"]) {
      console.log(`netauth-pam-helper ${VERSION}`);
    } else if (values["baked-args"]) {
      console.log(bakedArgs(paths).join(" "));
    } else if (values.launcher) {
      const mode = values.mode as BuildMode;
      if (!values.target || !paths.runtimeDir || !["compile", "bundle"].includes(mode)) {
        throw new Error("--launcher needs --mode compile|bundle, --target PATH and --runtime-dir DIR");
      }
      const command = await launcherCommand(mode, values.target, paths, values.deno);
      const runtimeDir = optional(values["launcher-runtime-dir"]) ?? paths.runtimeDir;
      Deno.stdout.writeSync(
        new TextEncoder().encode(launcherScript({ mode, command, runtimeDir, setpriv: values.setpriv })),
      );
    } else {
      console.log((await flagsFor(paths)).join(" "));
    }
  } catch (err) {
    console.error(`print-flags: ${(err as Error).message.split("\n")[0]}`);
    Deno.exit(err instanceof HelperError ? err.exit : 3);
  }
}
