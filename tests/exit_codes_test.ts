import assert from "node:assert/strict";
import { Exit, EXIT_CODES, exitInfo, pamName } from "../src/exit_codes.ts";
import { readDoc, section, tableRows } from "../testkit/markdown.ts";

Deno.test("the documented codes, each with its PAM name and the level of its decision line", () => {
  assert.deepEqual(Exit, {
    SUCCESS: 0,
    SERVICE_ERR: 3,
    SYSTEM_ERR: 4,
    PERM_DENIED: 6,
    AUTH_ERR: 7,
    AUTHINFO_UNAVAIL: 9,
    USER_UNKNOWN: 10,
  });
  assert.deepEqual(EXIT_CODES.map((e) => [e.code, e.pamName, e.logLevel]), [
    [0, "PAM_SUCCESS", "INFO"],
    [3, "PAM_SERVICE_ERR", "ERROR"],
    [4, "PAM_SYSTEM_ERR", "ERROR"],
    [6, "PAM_PERM_DENIED", "WARN"],
    [7, "PAM_AUTH_ERR", "WARN"],
    [9, "PAM_AUTHINFO_UNAVAIL", "ERROR"],
    [10, "PAM_USER_UNKNOWN", "WARN"],
  ]);
  assert.equal(pamName(Exit.AUTH_ERR), "PAM_AUTH_ERR");
  assert.equal(exitInfo(Exit.AUTHINFO_UNAVAIL).meaning.startsWith("NetAuth unreachable"), true);
});

Deno.test("docs/operations.md's exit-code table lists exactly these codes and PAM names, in order", () => {
  const rows = tableRows(section(readDoc("docs/operations.md"), "## Exit codes"));
  assert.deepEqual(rows.map(([code, name]) => [Number(code), name]), EXIT_CODES.map((e) => [e.code, e.pamName]));
});
