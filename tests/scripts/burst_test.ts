import assert from "node:assert/strict";
import { percentile, startedAtOnce } from "../../scripts/burst.ts";

Deno.test("a burst: every login's exit and the one started during it, each with its own stdin", async () => {
  // Each login reads its password from stdin and exits 0 only for "right"; none waits for another to start.
  const r = await startedAtOnce({
    argv: ["/bin/sh", "-c", 'read -r pw; [ "$pw" = right ] && [ "$PAM_USER" = alice ]'],
    env: { PAM_USER: "alice" },
    stdin: "wrong\n",
    size: 12,
    during: { stdin: "right\n", delayMs: 50 },
  });
  assert.equal(r.logins.length, 12);
  assert.ok(r.logins.every((l) => l.exit === 1 && l.kib > 0), JSON.stringify(r.logins));
  assert.equal(r.during?.exit, 0);
});

Deno.test("percentile: nearest rank", () => {
  assert.equal(percentile([5, 1, 3, 2, 4], 50), 3);
  assert.equal(percentile([5, 1, 3, 2, 4], 99), 5);
  assert.equal(percentile([7], 1), 7);
});
