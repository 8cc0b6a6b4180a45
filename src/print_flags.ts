// `install.sh --print-flags [--conf-dir DIR] [--cache-dir DIR]`: the sandbox flags for DIR/config.toml,
// one line, with read and write for the offline cache directory when one is given.
// `--env-names` prints the variables the helper reads instead (the bundle launcher passes only those).
// install.sh runs it as root with read access everywhere, so the strict-modes walk (done by
// loadConfig and checkCertificateModes) sees every directory up to "/", which the sandboxed
// helper cannot; a problem refuses the install. It may not ask for its uid, and needs not:
// as root, root is the only owner allowed either way. The host name is not needed either.
import { parseArgs } from "node:util";
import { checkCertificateModes } from "./certificate.ts";
import { loadConfig, trimSlashes } from "./config.ts";
import { HelperError } from "./exit_codes.ts";
import { ALLOWED_ENV, sandboxFlags, sandboxTargetFor } from "./sandbox.ts";

if (import.meta.main) {
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        "conf-dir": { type: "string", default: "/etc/netauth" },
        "cache-dir": { type: "string" },
        "env-names": { type: "boolean" },
      },
    });
    if (values["env-names"]) {
      console.log(ALLOWED_ENV.join(" "));
    } else {
      const confDir = trimSlashes(values["conf-dir"]);
      const config = await loadConfig(`${confDir}/config.toml`, () => "print-flags");
      if (!config.pwnMe) await checkCertificateModes(config);
      console.log(
        sandboxFlags(sandboxTargetFor(config, values["cache-dir"] && trimSlashes(values["cache-dir"]))).join(" "),
      );
    }
  } catch (err) {
    console.error(`print-flags: ${(err as Error).message.split("\n")[0]}`);
    Deno.exit(err instanceof HelperError ? err.exit : 3);
  }
}
