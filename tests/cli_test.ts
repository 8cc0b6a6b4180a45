import assert from "node:assert/strict";
import { DEFAULT_CONFIG, parseCommandLine, parseDuration } from "../src/cli.ts";
import { HelperError } from "../src/errors.ts";

function usageFailure(argv: string[]): HelperError {
  try {
    parseCommandLine(argv);
  } catch (err) {
    assert.ok(err instanceof HelperError);
    return err;
  }
  assert.fail(`expected ${JSON.stringify(argv)} to be refused`);
}

Deno.test("defaults match the README's command-line table", () => {
  assert.deepEqual(parseCommandLine([]), {
    command: "run",
    configPath: DEFAULT_CONFIG,
    timeoutSeconds: 10,
    requireGroups: [],
    logLevel: undefined,
    cache: undefined,
    outageWindowMs: 30e3,
    runtimeDir: undefined,
  });
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
