// For `deno task demo` and `deno task netauthd`: build NetAuth v0.6.4 once when its binaries are missing
// (tests/netauthd/install.sh, Go through the module proxy), or say exactly which command would.
import { ensureNetAuthBinaries } from "../testkit/netauthd.ts";

const SCRIPT = new URL("../tests/netauthd/install.sh", import.meta.url).pathname;

/** True when netauthd, nsutil and netauth are there (built now if need be); otherwise prints why and the fix. */
export async function buildNetAuthIfMissing(say: (line: string) => void): Promise<boolean> {
  if ((await ensureNetAuthBinaries()).ok) return true;
  say(`netauthd is not built yet: building NetAuth v0.6.4 with Go (sh ${SCRIPT}; about a minute, once)`);
  const built = await new Deno.Command("sh", { args: [SCRIPT], stdin: "null" }).output();
  const bins = await ensureNetAuthBinaries();
  if (built.code === 0 && bins.ok) return true;
  const out = new TextDecoder().decode(built.stderr).trim().split("\n").slice(-3).join("\n  ");
  say(`could not build netauthd (exit ${built.code}):\n  ${out}`);
  say(`fix that (Go >= 1.24 and the Go module proxy are needed), then run: sh ${SCRIPT}`);
  return false;
}
