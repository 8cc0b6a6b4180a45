import assert from "node:assert/strict";
import {
  DEFAULT_CACHE_MAX_AGE,
  DEFAULT_CACHE_TRIES,
  DEFAULT_CONFIG,
  DEFAULT_OUTAGE_WINDOW,
  DEFAULT_TIMEOUT_SECONDS,
} from "../../src/cli.ts";
import { helpText } from "../../src/commands/help.ts";
import { EXIT_CODES } from "../../src/exit_codes.ts";

const lines = helpText().split("\n");

Deno.test("--help: the usage names the cache options", () => {
  assert.deepEqual(lines.slice(0, 4), [
    "usage: netauth-pam-helper [--config PATH] [--timeout SECONDS] [--require-group NAME]... [--log-level LEVEL]",
    "                          [--cache-dir DIR [--cache-max-age AGE] [--cache-tries N]] [--outage-window SPAN]",
    "                          [--broker-socket PATH]",
    "       netauth-pam-helper --check [--user NAME [--service SERVICE]] | --audit | --serve | --version | --help",
  ]);
});

Deno.test("--help: the defaults are cli.ts's", () => {
  const option = (name: string) => lines.find((l) => l.startsWith(`  ${name} `));
  assert.equal(option("--config")?.endsWith(`(default ${DEFAULT_CONFIG})`), true);
  assert.equal(option("--timeout")?.endsWith(`(default ${DEFAULT_TIMEOUT_SECONDS})`), true);
  assert.equal(option("--cache-max-age")?.endsWith(`(default ${DEFAULT_CACHE_MAX_AGE})`), true);
  assert.equal(option("--cache-tries")?.endsWith(`(default ${DEFAULT_CACHE_TRIES})`), true);
  assert.equal(
    lines[lines.indexOf(option("--outage-window")!) + 1].endsWith(`(default ${DEFAULT_OUTAGE_WINDOW})`),
    true,
  );
  assert.equal(
    option("--log-level"),
    "  --log-level LEVEL     TRACE, DEBUG, INFO, WARN or ERROR (default INFO; $NETAUTH_LOGLEVEL may only add detail)",
  );
});

Deno.test("--help: one line per exit code, from the exit-code table", () => {
  const start = lines.indexOf("Exit status:");
  assert.deepEqual(lines.slice(start + 1, start + 1 + EXIT_CODES.length), [
    "   0  PAM_SUCCESS           authenticated; account permitted",
    "   3  PAM_SERVICE_ERR       bad configuration or arguments, unsupported PAM_TYPE, PAM_USER missing",
    "   4  PAM_SYSTEM_ERR        unexpected internal failure; NetAuth refused or sent a bad reply",
    "   6  PAM_PERM_DENIED       entity locked (account) or not in any --require-group",
    "   7  PAM_AUTH_ERR          wrong, empty or oversized password, or one with a NUL inside; unknown or locked entity",
    "   9  PAM_AUTHINFO_UNAVAIL  NetAuth unreachable, deadline passed, TLS failure, connection lost, reply too large",
    "  10  PAM_USER_UNKNOWN      no such entity (account), or PAM_USER cannot be an entity ID",
  ]);
});
