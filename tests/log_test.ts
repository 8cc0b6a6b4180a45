import assert from "node:assert/strict";
import { createLogger, formatLine, parseLogLevel } from "../src/log.ts";

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

Deno.test("levels filter and parse case-insensitively", () => {
  const lines: string[] = [];
  const logger = createLogger("WARN", (l) => lines.push(l));
  logger.log("INFO", "hidden");
  logger.log("ERROR", "shown");
  assert.deepEqual(lines, ["level=error msg=shown"]);
  assert.equal(parseLogLevel("debug"), "DEBUG");
  assert.equal(parseLogLevel("verbose"), undefined);
});
