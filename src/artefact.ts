/**
 * `--audit`'s tie between this process and the install: the SHA-256 of the code it runs (the bundle with
 * every chunk it may import, or the compiled binary) against the manifest install.sh wrote beside it
 * (src/install/manifest.ts). Both sit in the root-owned PREFIX/lib/netauth-pam-helper/, which the installed
 * helper's sandbox may read.
 *
 * @module
 */
import { type Manifest, MANIFEST_NAME } from "./manifest_format.ts";

/** `--audit`'s `artefact` field: the running file against the manifest. */
export interface ArtefactState {
  /** The file this process runs. */
  path: string;
  /** Its SHA-256 (with every bundle chunk it may import); absent when it could not be read. */
  sha256?: string;
  /** The manifest's path. */
  manifest: string;

  /** The manifest's SHA-256 for its artefact. */
  expected?: string;
  /** Why this process is not the installed, recorded artefact; absent when it is. */
  problem?: string;
}

/** The manifest's verdict on the running file: the same path, and the same hash. */
export function compareArtefact(
  running: { path: string; sha256?: string; error?: string },
  manifestPath: string,
  manifest: Pick<Manifest, "artefact" | "files"> | { error: string },
): ArtefactState {
  const state: ArtefactState = { path: running.path, sha256: running.sha256, manifest: manifestPath };
  if ("error" in manifest) return { ...state, problem: `${manifestPath} ${manifest.error}: re-run install.sh` };
  const expected = manifest.files.find((f) => f.path === manifest.artefact)?.sha256;
  if (running.path !== manifest.artefact) {
    return { ...state, expected, problem: `runs ${running.path}, but the manifest's artefact is ${manifest.artefact}` };
  }
  if (!expected) return { ...state, problem: `the manifest records no SHA-256 for ${manifest.artefact}` };
  if (running.error !== undefined) return { ...state, expected, problem: `${running.path} ${running.error}` };
  if (running.sha256 !== expected) {
    return { ...state, expected, problem: `${running.path} does not match the manifest (changed since install?)` };
  }
  return { ...state, expected };
}

/** The bundle's chunks as the manifest records them: the other `.js` files in the entry's directory. */
export function chunksOf(manifest: Pick<Manifest, "artefact" | "files">): string[] {
  const dir = manifest.artefact.slice(0, manifest.artefact.lastIndexOf("/") + 1);
  return manifest.files.map((f) => f.path).filter((path) =>
    path !== manifest.artefact && path.startsWith(dir) && !path.slice(dir.length).includes("/") && path.endsWith(".js")
  );
}

/** The first chunk that is not what the manifest recorded (a chunk loads only when needed, so each counts). */
export function compareChunks(
  chunks: { path: string; sha256?: string; error?: string }[],
  manifest: Pick<Manifest, "files">,
): string | undefined {
  for (const chunk of chunks) {
    if (chunk.error !== undefined) return `${chunk.path} ${chunk.error}`;
    if (chunk.sha256 !== manifest.files.find((f) => f.path === chunk.path)?.sha256) {
      return `${chunk.path} does not match the manifest (changed since install?)`;
    }
  }
  return undefined;
}

/** The file this process runs: the bundle `deno run` was given, or the compiled binary. */
export function runningFile(mode: string | undefined): string {
  if (mode === "compile") return Deno.execPath();
  const main = new URL(Deno.mainModule);
  return main.protocol === "file:" ? decodeURIComponent(main.pathname) : Deno.mainModule;
}

/**
 * A file's SHA-256 in hex, read 1 MiB at a time: a compiled binary is about 100 MiB, and the broker hashes its own at
 * start under the unit's MemoryMax (whole, through WebCrypto: 238 ms and +100 MiB; streamed: 77 ms and 1 MiB).
 */
async function sha256File(path: string): Promise<string> {
  const { createHash } = await import("node:crypto"); // only --audit and the broker hash files: loaded for them alone
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  const buffer = new Uint8Array(1 << 20);
  for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) hash.update(buffer.subarray(0, n));
  return hash.digest("hex");
}

/** A file of the running code, hashed: its SHA-256, or why it could not be read. */
export type HashedFile = { path: string; sha256?: string; error?: string };

/** Reads installDir/manifest.json and hashes the running file (only `--audit` pays for this). */
export async function inspectArtefact(installDir: string): Promise<ArtefactState> {
  return (await hashRunningCode(installDir)).state;
}

/**
 * The running code, hashed as it is on disk now: the artefact, then (bundle mode) each chunk the manifest records,
 * with the verdict against that manifest. `--audit` reports the verdict; the broker hashes at its start, so it can
 * later say what it started from (broker/vouch.ts).
 */
export async function hashRunningCode(installDir: string): Promise<{ state: ArtefactState; files: HashedFile[] }> {
  const manifestPath = `${installDir}/${MANIFEST_NAME}`;
  const failure = (err: unknown) => `cannot be read (${(err as Error).name})`;
  let manifest: Manifest | { error: string };
  try {
    manifest = JSON.parse(Deno.readTextFileSync(manifestPath)) as Manifest;
    if (typeof manifest.artefact !== "string" || !Array.isArray(manifest.files)) manifest = { error: "is malformed" };
  } catch (err) {
    manifest = { error: err instanceof SyntaxError ? "is not JSON" : failure(err) };
  }
  let path: string;
  try {
    path = runningFile("error" in manifest ? undefined : (manifest as Manifest).mode);
  } catch (err) {
    return {
      state: { path: "", manifest: manifestPath, problem: `cannot tell which file runs: ${failure(err)}` },
      files: [],
    };
  }
  const hashed = async (path: string): Promise<HashedFile> => {
    try {
      return { path, sha256: await sha256File(path) };
    } catch (err) {
      return { path, error: failure(err) };
    }
  };
  const artefact = await hashed(path);
  const state = compareArtefact(artefact, manifestPath, manifest);
  if (state.problem || "error" in manifest || manifest.mode !== "bundle") return { state, files: [artefact] };
  const chunks = await Promise.all(chunksOf(manifest).map(hashed));
  const problem = compareChunks(chunks, manifest);
  return { state: problem ? { ...state, problem } : state, files: [artefact, ...chunks] };
}
