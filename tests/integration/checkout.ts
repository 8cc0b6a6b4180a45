// A copy of this checkout's working tree, for builds that must not see the builder's paths.
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;
const decoder = new TextDecoder();

/** Copies the checkout's tracked and untracked-but-not-ignored files (what a clean checkout would hold). */
export async function copyCheckout(to: string): Promise<void> {
  const out = await new Deno.Command("git", {
    args: ["-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
  }).output();
  assert.equal(out.code, 0, decoder.decode(out.stderr));
  for (const rel of decoder.decode(out.stdout).split("\0").filter(Boolean)) {
    try {
      Deno.statSync(`${ROOT}${rel}`);
    } catch {
      continue; // deleted in the working tree
    }
    Deno.mkdirSync(`${to}/${rel.replace(/\/?[^/]*$/, "")}`, { recursive: true });
    Deno.copyFileSync(`${ROOT}${rel}`, `${to}/${rel}`);
  }
}

/** Makes `dir` a git repository with one commit of its files, the same commit wherever it is made. */
export async function commitAsClone(dir: string): Promise<void> {
  const date = "2026-01-02T03:04:05Z";
  const env = {
    GIT_AUTHOR_NAME: "t",
    GIT_AUTHOR_EMAIL: "t@example.org",
    GIT_COMMITTER_NAME: "t",
    GIT_COMMITTER_EMAIL: "t@example.org",
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
  };
  for (const args of [["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "build"]]) {
    const out = await new Deno.Command("git", { args: ["-C", dir, ...args], env, stderr: "piped" }).output();
    assert.equal(out.code, 0, decoder.decode(out.stderr));
  }
}
