/**
 * Where the outage record lives for a run, and the gate that follows it. Root-only either way:
 * the cache directory (the running user's, mode 700), else the runtime's TMPDIR (root's alone).
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { outageDirFor } from "../runtime_dir.ts";
import { OutageGate } from "./gate.ts";
import { OutageStore } from "./record.ts";

/** The record's store for a run, or undefined when it has neither a cache nor a runtime directory. */
export function outageStore(cacheDir: string | undefined, runtimeDir: string | undefined): OutageStore | undefined {
  const dir = outageDirFor(cacheDir, runtimeDir);
  return dir ? new OutageStore(dir) : undefined;
}

/** The gate for one run, or undefined when the run has nowhere to keep the record (every call a full try). */
export function openOutageGate(
  settings: { cacheDir?: string; runtimeDir?: string; windowMs: number },
  logger: Logger,
): OutageGate | undefined {
  const store = outageStore(settings.cacheDir, settings.runtimeDir);
  return store && new OutageGate({ store, windowMs: settings.windowMs, now: Date.now, logger });
}
