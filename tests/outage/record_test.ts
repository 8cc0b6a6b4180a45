import assert from "node:assert/strict";
import { attemptFor, type OutageRecord, parseRecord, serializeRecord } from "../../src/outage/record.ts";

const WINDOW = 30_000;
const T0 = Date.parse("2026-12-04T12:00:00Z");
const record: OutageRecord = { since: T0 - 60_000, phase: "rpc", fullTryAt: T0 };

Deno.test("no record: the full try", () => {
  assert.equal(attemptFor(undefined, T0, WINDOW), "full");
});

Deno.test("a fresh record: probes until the window since the last full try has passed", () => {
  assert.equal(attemptFor(record, T0, WINDOW), "probe");
  assert.equal(attemptFor(record, T0 + WINDOW - 1, WINDOW), "probe");
  assert.equal(attemptFor(record, T0 + WINDOW, WINDOW), "full");
  assert.equal(attemptFor(record, T0 + 10 * WINDOW, WINDOW), "full");
});

Deno.test("a clock gone back before the last full try: the full try, never a probe for ever", () => {
  assert.equal(attemptFor(record, T0 - 1, WINDOW), "full");
});

Deno.test("a record survives its own format; anything else reads as no record", () => {
  assert.deepEqual(parseRecord(serializeRecord(record)), record);
  const raw = JSON.parse(serializeRecord(record));
  for (
    const bad of [
      "",
      "{",
      "null",
      JSON.stringify({ ...raw, format: "other" }),
      JSON.stringify({ ...raw, phase: "tls-verify" }),
      JSON.stringify({ ...raw, since: "yesterday" }),
      JSON.stringify({ ...raw, fullTryAt: undefined }),
      serializeRecord(record).slice(0, 40), // torn
    ]
  ) assert.equal(parseRecord(bad), undefined, bad);
});
