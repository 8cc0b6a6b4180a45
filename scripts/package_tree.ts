// The package's file tree, format-neutral: `stageTree(DIR)` lays out under DIR exactly what a package
// installs (FHS paths from src/install/package_layout.ts), with fixed modes and mtimes and no packaging
// metadata. scripts/deb.ts wraps it with DEBIAN/, scripts/rpm.ts with a spec; `family` picks the few paths and
// files that differ (the unit's directory, the PAM wiring, the changelog and licence), nothing else.
import { sha256Hex } from "../src/digest.ts";
import { type Manifest, MANIFEST_FORMAT } from "../src/manifest_format.ts";
import { PACKAGE, PACKAGED } from "../src/install/package_layout.ts";
import { authselectProfile } from "./authselect_profile.ts";
import { brokerSocketUnit, brokerUnit } from "../src/install/broker_unit.ts";
import { parseArgs } from "node:util";
import { VERSION } from "../src/version.ts";
import { BuildError, checkMaintainer, DEFAULT_MAINTAINER, versionModule } from "./package_settings.ts";

export { BuildError };

export const ROOT = new URL("../", import.meta.url).pathname;

/**
 * Where the RPM (RHEL, Fedora, Rocky) puts what it does not share with `PACKAGED` (src/install/package_layout.ts):
 * its unit in systemd's /usr path, an authselect vendor profile instead of the pam-auth-update profile (which it
 * does not ship), and the licence where `%license` files go. Everything else, and all that `--setup` writes, is
 * `PACKAGED`'s; the helper reads none of these, so they live with the builder, not in src/.
 */
export const RPM_PATHS = {
  brokerUnit: `/usr/lib/systemd/system/${PACKAGE}.service`,
  /** `authselect select netauth` reads it (scripts/authselect_profile.ts writes its files from pam.d/rhel/). */
  authselectProfile: "/usr/share/authselect/vendor/netauth",
  license: `/usr/share/licenses/${PACKAGE}/LICENSE`,
} as const;

/** RPM architecture for Deno's `Deno.build.arch` (the same names); undefined where Deno ships no Linux build. */
export function rpmArch(arch: string): string | undefined {
  return ["x86_64", "aarch64"].includes(arch) ? arch : undefined;
}

/** Files an admin may edit (dpkg conffiles): left out of the build manifest, dpkg keeps their edits. */
export const CONFFILES = [PACKAGED.logrotate, PACKAGED.conf];

export interface TreeOptions {
  /** Where the tree goes (created; must not exist). */
  dir: string;
  /**
   * deb: the unit in /lib/systemd/system, the pam-auth-update profile, changelog.gz. rpm: the unit in
   * /usr/lib/systemd/system, the authselect profile, LICENSE in /usr/share/licenses (the spec has the changelog).
   */
  family: "deb" | "rpm";
  /** The package's version, and the one the bundled helper reports (see `stageSource`). */
  version: string;
  /** `Name <address>`: the changelog's trailer (scripts/package_settings.ts checks it). */
  maintainer: string;
  /** Seconds since the epoch: every mtime, and the changelog's date. */
  sourceDateEpoch: number;
  /** The commit built, for the build manifest (null outside a git checkout). */
  source: Manifest["source"];
}

/** `git -C ROOT ARGS`'s trimmed output; undefined outside a checkout or on failure. */
export async function git(args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("git", { args: ["-C", ROOT, ...args], stdout: "piped", stderr: "null" })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

/** The commit's time, or SOURCE_DATE_EPOCH outside a checkout. */
export async function sourceDateEpoch(): Promise<number> {
  const fromGit = await git(["log", "-1", "--format=%ct"]);
  const text = fromGit ?? Deno.env.get("SOURCE_DATE_EPOCH");
  if (!text || !/^\d+$/.test(text)) {
    throw new BuildError("not a git checkout and no SOURCE_DATE_EPOCH: set it to the source's date (seconds)");
  }
  return Number(text);
}

async function run(cmd: string, args: string[], what: string, stdin?: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const out = await child.output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join("; ");
    throw new BuildError(`${what} failed: ${err}`);
  }
  return out.stdout;
}

const gzip = (bytes: Uint8Array) => run("gzip", ["-9n"], "gzip", bytes);

/**
 * What the bundles are built from: a copy of src/, scripts/bundle.ts, deno.json and deno.lock in `dir`, with
 * src/version.ts saying `version`. So the helper's `--version`, `--audit` and manifest.json say what dpkg says,
 * and setup.js verifies the bundle against that same version. The checkout itself is never written.
 */
export function stageSource(dir: string, version: string): void {
  const copy = (rel: string) => {
    if (Deno.statSync(`${ROOT}${rel}`).isDirectory) {
      Deno.mkdirSync(`${dir}/${rel}`, { recursive: true });
      for (const entry of Deno.readDirSync(`${ROOT}${rel}`)) copy(`${rel}/${entry.name}`);
    } else Deno.copyFileSync(`${ROOT}${rel}`, `${dir}/${rel}`);
  };
  Deno.mkdirSync(`${dir}/scripts`, { recursive: true });
  for (const rel of ["src", "scripts/bundle.ts", "deno.json", "deno.lock"]) copy(rel);
  Deno.writeTextFileSync(
    `${dir}/src/version.ts`,
    versionModule(Deno.readTextFileSync(`${ROOT}src/version.ts`), version),
  );
}

/** The helper's bundle (deno task bundle) and setup.js from `source` (stageSource), with the frozen npm cache. */
async function bundles(lib: string, source: string): Promise<void> {
  const deno = Deno.execPath();
  const hint = "needs the npm packages deno.lock names and deno bundle's esbuild in DENO_DIR: " +
    "run `deno install --frozen` and one `deno task bundle --outdir DIR` where the npm registry is reachable";
  await run(
    deno,
    ["task", "--quiet", "--config", `${source}/deno.json`, "bundle", "--outdir", lib],
    `deno task bundle (${hint})`,
  );
  await run(
    deno,
    ["bundle", "--quiet", "--frozen", "--minify", "--platform", "deno", "--config", `${source}/deno.json`, "-o"].concat(
      [`${lib}/setup.js`, `${source}/src/install/package_setup.ts`],
    ),
    `deno bundle src/install/package_setup.ts (${hint})`,
  );
}

function changelog(version: string, maintainer: string, epoch: number): string {
  const date = new Date(epoch * 1000).toUTCString().replace(
    /^(\w+), (\d+) (\w+) (\d+) (\S+) GMT$/,
    "$1, $2 $3 $4 $5 +0000",
  );
  return `${PACKAGE} (${version}) unstable; urgency=medium

  * Built from the netauth-pam-helper source tree; its git log has the changes.

 -- ${maintainer}  ${date}
`;
}

/** Every path below `dir`, relative, sorted (directories included). */
export function walkTree(dir: string, rel = ""): string[] {
  const paths: string[] = [];
  for (const entry of [...Deno.readDirSync(`${dir}/${rel}`)].sort((a, b) => a.name < b.name ? -1 : 1)) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    paths.push(path);
    if (entry.isDirectory) paths.push(...walkTree(dir, path));
  }
  return paths;
}

/** Lays out the tree, then fixes every mode (0755 directories and executables, 0644 the rest) and mtime. */
export async function stageTree(options: TreeOptions): Promise<void> {
  const at = (path: string) => `${options.dir}${path}`;
  const text = (rel: string) => Deno.readTextFileSync(`${ROOT}${rel}`);
  const rpm = options.family === "rpm";
  const brokerUnitPath = rpm ? RPM_PATHS.brokerUnit : PACKAGED.brokerUnit;
  const wiring = rpm ? [`${RPM_PATHS.authselectProfile}/README`, RPM_PATHS.license] : [PACKAGED.pamProfile];
  for (
    const file of [
      PACKAGED.sbin,
      ...wiring,
      PACKAGED.logrotate,
      PACKAGED.conf,
      PACKAGED.man,
      `${PACKAGED.doc}/copyright`,
      brokerUnitPath,
    ]
  ) {
    Deno.mkdirSync(at(file.slice(0, file.lastIndexOf("/"))), { recursive: true });
  }
  Deno.mkdirSync(at(PACKAGED.lib), { recursive: true });
  Deno.copyFileSync(`${ROOT}packaging/netauth-pam-helper.sh`, at(PACKAGED.sbin));
  Deno.copyFileSync(`${ROOT}packaging/netauth-pam-helper.conf`, at(PACKAGED.conf));
  const source = await Deno.makeTempDir({ prefix: "netauth-pam-helper-source-" });
  try {
    stageSource(source, options.version);
    await bundles(at(PACKAGED.lib), source);
  } finally {
    await Deno.remove(source, { recursive: true });
  }
  // The very executable behind `deno` (npm's is a symlink): the runtime the bundle is verified with.
  Deno.copyFileSync(Deno.execPath(), at(PACKAGED.deno));
  if (rpm) {
    for (const [name, body] of Object.entries(authselectProfile())) {
      Deno.writeTextFileSync(at(`${RPM_PATHS.authselectProfile}/${name}`), body);
    }
    Deno.copyFileSync(`${ROOT}LICENSE`, at(RPM_PATHS.license));
  } else {
    // pam.d/debian/netauth is install.sh's profile too: the package's names /usr/sbin and is on by default.
    Deno.writeTextFileSync(
      at(PACKAGED.pamProfile),
      text("pam.d/debian/netauth").replaceAll(`/usr/local/sbin/${PACKAGE}`, PACKAGED.sbin).replace(
        /^Default: no$/m,
        "Default: yes",
      ),
    );
  }
  Deno.writeTextFileSync(
    at(PACKAGED.logrotate),
    text(`logrotate/${PACKAGE}`).replace(
      /^# \/etc\/logrotate\.d\/netauth-pam-helper, installed by .*$/m,
      "# /etc/logrotate.d/netauth-pam-helper, installed by the netauth-pam-helper package (a conffile).",
    ),
  );
  // install.sh --broker's units with the package's paths; the .deb's socket-activated (postinst enables the socket).
  Deno.writeTextFileSync(
    at(brokerUnitPath),
    brokerUnit({
      launcher: PACKAGED.sbin,
      socket: PACKAGED.brokerSocket,
      runtimeDir: PACKAGED.runtimeDir,
      activated: !rpm,
    }).replace(
      /^# netauth-pam-helper's warm broker, written by .*$/m,
      rpm
        ? `# netauth-pam-helper's warm broker, shipped by the package, not enabled: systemctl enable --now ${PACKAGE}.service`
        : `# netauth-pam-helper's warm broker, shipped by the package; ${PACKAGE}.socket starts it.`,
    ),
  );
  if (!rpm) Deno.writeTextFileSync(at(PACKAGED.brokerSocketUnit), brokerSocketUnit({ socket: PACKAGED.brokerSocket }));
  Deno.writeFileSync(at(PACKAGED.man), await gzip(Deno.readFileSync(`${ROOT}man/${PACKAGE}.8`)));
  Deno.copyFileSync(`${ROOT}packaging/debian/copyright`, at(`${PACKAGED.doc}/copyright`));
  if (!rpm) {
    Deno.writeFileSync(
      at(`${PACKAGED.doc}/changelog.gz`),
      await gzip(new TextEncoder().encode(changelog(options.version, options.maintainer, options.sourceDateEpoch))),
    );
  }
  Deno.chmodSync(options.dir, 0o755); // the tree's root is the members' "./": not the builder's umask
  for (const rel of walkTree(options.dir)) {
    const info = Deno.lstatSync(`${options.dir}/${rel}`);
    Deno.chmodSync(`${options.dir}/${rel}`, info.isDirectory || (info.mode! & 0o100) ? 0o755 : 0o644);
  }
  await writeBuildManifest(options);
  for (const rel of ["", ...walkTree(options.dir)]) {
    Deno.utimeSync(`${options.dir}/${rel}`, options.sourceDateEpoch, options.sourceDateEpoch);
  }
}

/** build-manifest.json: every shipped file's SHA-256, owner (root, as packaged) and mode. */
async function writeBuildManifest(options: TreeOptions): Promise<void> {
  const files = [];
  for (const rel of walkTree(options.dir)) {
    const path = `/${rel}`;
    const info = Deno.lstatSync(`${options.dir}${path}`);
    if (!info.isFile || CONFFILES.includes(path as typeof CONFFILES[number])) continue;
    const sha256 = await sha256Hex(Deno.readFileSync(`${options.dir}${path}`));
    files.push({ path, sha256, uid: 0, gid: 0, mode: `0${(info.mode! & 0o777).toString(8)}` });
  }
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    name: PACKAGE,
    version: options.version,
    source: options.source,
    deno: Deno.version.deno,
    denoLockSha256: await sha256Hex(Deno.readFileSync(`${ROOT}deno.lock`)),
    mode: "bundle",
    prefix: "/usr",
    artefact: PACKAGED.artefact,
    launcher: PACKAGED.sbin,
    sandbox: [],
    runtimeDirs: [],
    pam: { debianProfile: options.family === "rpm" ? null : PACKAGED.pamProfile },
    log: null,
    files,
  };
  Deno.writeTextFileSync(`${options.dir}${PACKAGED.buildManifest}`, `${JSON.stringify(manifest, null, 2)}\n`);
  Deno.chmodSync(`${options.dir}${PACKAGED.buildManifest}`, 0o644);
}

/** One package format's build, as `packageMain` runs it. */
export interface PackageFormat {
  /** The task's name, which starts its error lines (`deb`, `rpm`). */
  name: string;
  /** The format's own version rule: the version, or a BuildError. */
  checkVersion: (version: string) => string;
  /** Builds into `outdir`; gives back the package's path. */
  build: (outdir: string, build: { version: string; maintainer: string }, compression: string) => Promise<string>;
}

/**
 * `deno task deb` and `deno task rpm`: one command line (`--outdir`, `--version`, `--maintainer`, `--compression
 * xz|none`), one line naming the package, its size and the time; a bad option exits 1, anything else 3.
 */
export async function packageMain(format: PackageFormat): Promise<void> {
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        outdir: { type: "string", default: `${ROOT}dist` },
        version: { type: "string", default: VERSION },
        maintainer: { type: "string", default: DEFAULT_MAINTAINER },
        // Tests that install the package skip xz's minutes; the contents are the same.
        compression: { type: "string", default: "xz" },
      },
    });
    const started = performance.now();
    if (!["xz", "none"].includes(values.compression)) throw new BuildError("--compression expects xz or none");
    const build = { version: format.checkVersion(values.version), maintainer: checkMaintainer(values.maintainer) };
    const built = await format.build(values.outdir, build, values.compression);
    const size = Deno.statSync(built).size;
    console.log(
      `${built} (${(size / 2 ** 20).toFixed(1)} MiB, ${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
  } catch (err) {
    console.error(`${format.name}: ${(err as Error).message.split("\n")[0]}`);
    Deno.exit(err instanceof BuildError ? 1 : 3);
  }
}
