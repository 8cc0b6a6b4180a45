// What the integration files share: the `it` wrapper, and the scripted server each file starts
// (a throwaway CA, the server, a config directory and the sandbox install.sh prints for it),
// all removed when the file's tests end.
import { type FakeNetAuthServer, startFakeNetAuth } from "./fake_netauth.ts";
import { type FaultyNetAuth, startFaultyNetAuth } from "./faulty_netauth.ts";
import { makePki, type Pki } from "./pki.ts";
import { configToml, makeConfDir, printFlags } from "./run_helper.ts";

/**
 * A test that runs helper processes and servers: those outlive a single test's bookkeeping
 * (the server stops at unload), so Deno's op and resource sanitizers are off.
 */
export function it(name: string, fn: (t: Deno.TestContext) => Promise<void> | void): void {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

const cleanups: (() => unknown)[] = [];
globalThis.addEventListener("unload", () => {
  for (const fn of cleanups.splice(0).reverse()) fn();
});

/** Runs `fn` when this file's tests end (servers stopped, directories removed). */
export function atUnload(fn: () => unknown): void {
  cleanups.push(fn);
}

/** A directory removed at unload. */
export function removeAtUnload(dir: string): void {
  atUnload(() => Deno.removeSync(dir, { recursive: true }));
}

export interface Scripted {
  pki: Pki;
  server: FakeNetAuthServer;
  /** Holds config.toml and keys/tls.pem trusting `pki`'s CA, naming `server`. */
  confDir: string;
  /** `install.sh --print-flags --conf-dir confDir`. */
  flags: string[];
  /** A private (0700) cache directory, and the sandbox printed with it; only with `{ cache: true }`. */
  cacheDir: string;
  cacheFlags: string[];
}

export async function startScripted(options: { cache?: boolean } = {}): Promise<Scripted> {
  const pki = await makePki();
  removeAtUnload(pki.dir);
  const server = await startFakeNetAuth({ cert: pki.serverCert, key: pki.serverKey });
  atUnload(() => server.stop());
  const confDir = await makeConfDir(configToml(server.port), pki.caPem);
  removeAtUnload(confDir);
  const flags = await printFlags(confDir);
  if (!options.cache) return { pki, server, confDir, flags, cacheDir: "", cacheFlags: [] };
  const cacheDir = await Deno.makeTempDir({ prefix: "netauth-cache-" });
  removeAtUnload(cacheDir);
  await Deno.chmod(cacheDir, 0o700);
  return { pki, server, confDir, flags, cacheDir, cacheFlags: await printFlags(confDir, cacheDir) };
}

/** A broken or hostile server (faulty_netauth.ts) with `scripted`'s CA and cache directory; stopped at unload. */
export async function startFaulty(
  scripted: Scripted,
): Promise<{ faulty: FaultyNetAuth; confDir: string; flags: string[] }> {
  const faulty = startFaultyNetAuth({ cert: scripted.pki.serverCert, key: scripted.pki.serverKey });
  atUnload(() => faulty.stop());
  const confDir = await makeConfDir(configToml(faulty.port), scripted.pki.caPem);
  removeAtUnload(confDir);
  return { faulty, confDir, flags: await printFlags(confDir, scripted.cacheDir || undefined) };
}
