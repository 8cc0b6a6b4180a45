import assert from "node:assert/strict";
import { createLogger, formatLine, levelFromEnvironment, logfmtValue, parseLogLevel } from "../src/log.ts";

Deno.test("logfmt: bare safe values, quoted and escaped others, undefined fields dropped", () => {
  assert.equal(
    formatLine("INFO", "authenticated", { entity: "alice", service: "sshd", rhost: undefined, exit: 0, ms: 12 }),
    "level=info msg=authenticated entity=alice service=sshd exit=0 ms=12",
  );
  assert.equal(formatLine("WARN", 'a "b"', { v: "" }), 'level=warn msg="a \\"b\\"" v=""');
});

Deno.test("control characters cannot forge a second log line", () => {
  const line = formatLine("INFO", "x", { rhost: "evil\nlevel=info msg=authenticated\r\u001b[2J" });
  assert.ok(![..."\n\r\u001b"].some((c) => line.includes(c)), line);
  assert.match(line, /rhost="evil\\nlevel=info msg=authenticated\\u000d\\u001b\[2J"/);
});

Deno.test("everything outside printable ASCII is escaped as \\uXXXX, astral characters as two", () => {
  const cases: [string, string][] = [
    ["a\u2028b", '"a\\u2028b"'], // LINE SEPARATOR
    ["a\u2029b", '"a\\u2029b"'], // PARAGRAPH SEPARATOR
    ["a\u0085b", '"a\\u0085b"'], // NEXT LINE (C1)
    ["a\u009bb", '"a\\u009bb"'], // C1 CSI
    ["exe.\u202egnp", '"exe.\\u202egnp"'], // RIGHT-TO-LEFT OVERRIDE
    ["\u2066x\u2069", '"\\u2066x\\u2069"'], // bidi isolates
    ["\u200b", '"\\u200b"'], // zero width space
    ["\ufeff", '"\\ufeff"'],
    ["\u007f", '"\\u007f"'],
    ["\t", '"\\u0009"'],
    ["é", '"\\u00e9"'],
    ["\u{1F600}", '"\\ud83d\\ude00"'], // UTF-16 code units, as JSON writes them
    ["\ud800", '"\\ud800"'], // a lone surrogate
    ["back\\slash", '"back\\\\slash"'],
  ];
  for (const [raw, want] of cases) assert.equal(logfmtValue(raw), want, JSON.stringify(raw));
  // JSON.parse reads the escapes back: the value is recoverable, never reinterpreted.
  for (const [raw] of cases) assert.equal(JSON.parse(logfmtValue(raw)), raw);
});

Deno.test("a whole line is printable ASCII whatever the values hold", () => {
  const hostile = "x\u2028level=info msg=authenticated entity=root\u2029\u0085\u202e\u{1F600}\r\n\0";
  const line = formatLine("WARN", hostile, { entity: hostile, service: hostile, rhost: hostile, type: hostile });
  assert.match(line, /^[\x20-\x7e]+$/);
  assert.equal(line.split(/\r\n|[\n\r\v\f\u0085\u2028\u2029]/).length, 1);
});

Deno.test("bound fields lead every later line; a line's own fields come after", () => {
  const lines: string[] = [];
  const logger = createLogger("INFO", (l) => lines.push(l));
  logger.log("INFO", "before");
  logger.bind({ entity: "alice", service: "sshd", rhost: undefined, type: "auth" });
  logger.log("ERROR", "deadline of 1s passed", { outcome: "deadline", exit: 9 });
  logger.log("WARN", "cache not updated", { entity: "alice", error: "disk full" });
  assert.deepEqual(lines, [
    "level=info msg=before",
    'level=error msg="deadline of 1s passed" entity=alice service=sshd type=auth outcome=deadline exit=9',
    'level=warn msg="cache not updated" entity=alice service=sshd type=auth error="disk full"',
  ]);
});

Deno.test("levels filter and parse case-insensitively", () => {
  const lines: string[] = [];
  const logger = createLogger("WARN", (l) => lines.push(l));
  logger.log("INFO", "hidden");
  logger.log("ERROR", "shown");
  assert.deepEqual(lines, ["level=error msg=shown"]);
  assert.equal(parseLogLevel("debug"), "DEBUG");
  assert.equal(parseLogLevel("verbose"), undefined);
});

Deno.test("NETAUTH_LOGLEVEL may add detail but never hide the decision lines", () => {
  assert.equal(levelFromEnvironment("trace"), "TRACE");
  assert.equal(levelFromEnvironment("DEBUG"), "DEBUG");
  assert.equal(levelFromEnvironment("info"), "INFO");
  assert.equal(levelFromEnvironment("WARN"), undefined);
  assert.equal(levelFromEnvironment("error"), undefined);
  assert.equal(levelFromEnvironment("loud"), undefined);
  assert.equal(levelFromEnvironment(undefined), undefined);
});
