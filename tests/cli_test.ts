import assert from "node:assert/strict";
import {
  DEFAULT_CACHE_MAX_AGE,
  DEFAULT_CACHE_TRIES,
  DEFAULT_CHECK_SERVICE,
  DEFAULT_CONFIG,
  DEFAULT_OUTAGE_WINDOW,
  DEFAULT_TIMEOUT_SECONDS,
  parseCommandLine,
  parseDuration,
  USAGE,
} from "../src/cli.ts";
import { helpText } from "../src/commands/help.ts";
import { HelperError } from "../src/errors.ts";
import { codeBlocks, readDoc, section, tableRows } from "../testkit/markdown.ts";

function usageFailure(argv: string[]): HelperError {
  try {
    parseCommandLine(argv);
  } catch (err) {
    assert.ok(err instanceof HelperError);
    return err;
  }
  assert.fail(`expected ${JSON.stringify(argv)} to be refused`);
}

const commandLine = section(readDoc("docs/configuration.md"), "## Command line");
/** docs/configuration.md's command-line table: the option as written (like `--config PATH`) -> its default cell. */
const documented = new Map(tableRows(commandLine).map(([option, defaultCell]) => [option, defaultCell]));

Deno.test("docs/configuration.md's command-line table gives cli.ts's defaults", () => {
  assert.deepEqual(Object.fromEntries(documented), {
    "--config PATH": DEFAULT_CONFIG,
    "--timeout SECONDS": String(DEFAULT_TIMEOUT_SECONDS),
    "--require-group NAME": "none",
    "--log-level LEVEL": "INFO, or NETAUTH_LOGLEVEL",
    "--cache-dir DIR": "none",
    "--cache-max-age AGE": DEFAULT_CACHE_MAX_AGE,
    "--cache-tries N": String(DEFAULT_CACHE_TRIES),
    "--outage-window SPAN": DEFAULT_OUTAGE_WINDOW,
    "--runtime-dir DIR": "none",
    "--broker-socket PATH": "none",
    "--check": "",
    "--user NAME": "none",
    "--service SERVICE": DEFAULT_CHECK_SERVICE,
    "--audit": "",
    "--serve": "",
    "--version, --help": "",
  });
});

Deno.test("docs/configuration.md's command-line table names every option --help names, and cli.ts takes each", () => {
  const options = [...documented.keys()].flatMap((option) => option.split(", "));
  const names = options.map((option) => option.split(" ")[0]);
  assert.deepEqual([...new Set(helpText().match(/--[a-z-]+/g))].filter((name) => !names.includes(name)), []);
  // A valid value for each placeholder; the cache's tuning options need --cache-dir.
  const sample: Record<string, string[]> = {
    PATH: ["/x/c.toml"],
    SECONDS: ["5"],
    NAME: ["ops"],
    LEVEL: ["DEBUG"],
    DIR: ["/x"],
    AGE: ["1d", "--cache-dir", "/c"],
    N: ["3", "--cache-dir", "/c"],
    SPAN: ["45s"],
    SERVICE: ["sshd"],
  };
  // --serve needs the socket it listens on.
  // --serve needs the socket it listens on; --user and --service are --check's.
  const alongside: Record<string, string[]> = {
    "--serve": ["--broker-socket", "/x/socket"],
    "--user": ["--check"],
    "--service": ["--check", "--user", "alice"],
  };
  for (const option of options) {
    const [name, placeholder] = option.split(" ");
    parseCommandLine([...(placeholder ? [name, ...sample[placeholder]] : [name]), ...(alongside[name] ?? [])]);
  }
});

Deno.test("docs/configuration.md's usage is cli.ts's", () => {
  const words = (text: string) => text.split(/\s+/).filter(Boolean);
  assert.deepEqual(words(codeBlocks(commandLine)[0]), words(USAGE).slice(1));
});

Deno.test("no options: the defaults", () => {
  assert.deepEqual(parseCommandLine([]), {
    command: "run",
    configPath: DEFAULT_CONFIG,
    timeoutSeconds: 10,
    requireGroups: [],
    logLevel: undefined,
    cache: undefined,
    outageWindowMs: 30e3,
    runtimeDir: undefined,
    brokerSocket: undefined,
    checkUser: undefined,
  });
});

Deno.test("--check --user NAME [--service SERVICE]: an entity ID and a PAM service name, sshd by default", () => {
  assert.deepEqual(parseCommandLine(["--check", "--user", "alice"]).checkUser, { name: "alice", service: "sshd" });
  assert.deepEqual(parseCommandLine(["--check", "--user=bob", "--service=login"]).checkUser, {
    name: "bob",
    service: "login",
  });
  assert.match(usageFailure(["--user", "alice"]).message, /^--user and --service need --check \(try --help\)$/);
  assert.match(usageFailure(["--check", "--service", "sshd"]).message, /--service needs --user/);
  assert.match(usageFailure(["--check", "--user", "a:b"]).message, /--user expects an entity ID, got "a:b"/);
  assert.match(usageFailure(["--check", "--user=-x"]).message, /--user expects an entity ID/);
  assert.match(usageFailure(["--check", "--user", "a", "--service", "../shadow"]).message, /--service expects a PAM/);
  assert.equal(usageFailure(["--check", "--user", "a", "--service", "../shadow"]).exit, 3);
});

Deno.test("--serve needs --broker-socket; the socket is an absolute path", () => {
  assert.match(usageFailure(["--serve"]).message, /--serve needs --broker-socket/);
  assert.match(usageFailure(["--broker-socket", "run/socket"]).message, /--broker-socket expects an absolute path/);
  assert.equal(usageFailure(["--serve", "--check", "--broker-socket=/r/s"]).exit, 3);
  const options = parseCommandLine(["--serve", "--broker-socket", "/l/runtime/broker/socket"]);
  assert.equal(options.command, "serve");
  assert.equal(options.brokerSocket, "/l/runtime/broker/socket");
  assert.equal(parseCommandLine(["--broker-socket", "/s"]).command, "run");
});

Deno.test("--outage-window: a duration up to an hour", () => {
  assert.equal(parseCommandLine(["--outage-window", "45s"]).outageWindowMs, 45e3);
  assert.equal(parseCommandLine(["--outage-window", "1h"]).outageWindowMs, 3600e3);
  for (const bad of ["0s", "61m", "2h", "30", "1d"]) {
    assert.match(usageFailure(["--outage-window", bad]).message, /--outage-window expects/, bad);
  }
});

Deno.test("cache options: defaults 7d and 5 tries; durations in s/m/h/d/w", () => {
  assert.deepEqual(parseCommandLine(["--cache-dir", "/var/cache/na/"]).cache, {
    dir: "/var/cache/na",
    maxAgeMs: 7 * 86400e3,
    tries: 5,
  });
  const cache = parseCommandLine(["--cache-dir=/c", "--cache-max-age", "90s", "--cache-tries", "2"]).cache;
  assert.deepEqual(cache, { dir: "/c", maxAgeMs: 90e3, tries: 2 });
  assert.equal(parseDuration("15m"), 900e3);
  assert.equal(parseDuration("12h"), 43200e3);
  assert.equal(parseDuration("2w"), 1209600e3);
  for (const bad of ["0d", "7", "d", "1.5h", "-1d", "7 d", "1y"]) assert.equal(parseDuration(bad), undefined, bad);
});

Deno.test("options are parsed, --require-group repeats", () => {
  const options = parseCommandLine([
    "--config",
    "/tmp/c.toml",
    "--timeout=2.5",
    "--require-group",
    "ops",
    "--require-group=staff",
    "--log-level",
    "trace",
  ]);
  assert.equal(options.configPath, "/tmp/c.toml");
  assert.equal(options.timeoutSeconds, 2.5);
  assert.deepEqual(options.requireGroups, ["ops", "staff"]);
  assert.equal(options.logLevel, "TRACE");
});

Deno.test("modes are exclusive commands", () => {
  assert.equal(parseCommandLine(["--check"]).command, "check");
  assert.equal(parseCommandLine(["--audit", "--config", "/x/c.toml"]).command, "audit");
  assert.equal(usageFailure(["--check", "--audit"]).message, "--check and --audit cannot be combined (try --help)");
});

Deno.test("bad input exits 3 with a one-line message naming the option", () => {
  const cases: [string[], RegExp][] = [
    [["--bogus"], /bogus/],
    [["positional"], /positional/i],
    [["--timeout", "0"], /--timeout .* got "0"/],
    [["--timeout", "-1"], /--timeout/],
    [["--timeout", "1e3"], /--timeout .* got "1e3"/],
    [["--timeout", "301"], /--timeout/],
    [["--timeout"], /timeout/],
    [["--log-level", "loud"], /--log-level expects one of TRACE, DEBUG, INFO, WARN, ERROR, got "loud"/],
    [["--require-group", "a b"], /--require-group expects a NetAuth group name, got "a b"/],
    [["--config", "relative.toml"], /--config must be an absolute path/],
    [["--cache-dir", "cache"], /--cache-dir expects an absolute path/],
    [["--cache-dir", "/c", "--cache-max-age", "soon"], /--cache-max-age expects .* got "soon"/],
    [["--cache-dir", "/c", "--cache-tries", "0"], /--cache-tries expects .* got "0"/],
    [["--cache-tries", "3"], /need --cache-dir/],
  ];
  for (const [argv, pattern] of cases) {
    const err = usageFailure(argv);
    assert.equal(err.exit, 3, argv.join(" "));
    assert.match(err.message, pattern);
    assert.doesNotMatch(err.message, /\n/);
  }
});
