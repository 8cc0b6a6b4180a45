import assert from "node:assert/strict";
import { inspectRuntimeDir, runtimeDirs } from "../src/runtime_dir.ts";

const dir = (uid: number, mode: number, kind: "dir" | "file" | "link" = "dir") =>
  ({
    isDirectory: kind === "dir",
    isFile: kind === "file",
    isSymlink: kind === "link",
    uid,
    mode: 0o40000 | mode,
  }) as Deno.FileInfo;

function inspect(files: Record<string, Deno.FileInfo>) {
  return inspectRuntimeDir("/r", (path) => {
    const info = files[path];
    if (!info) throw new Deno.errors.NotFound(path);
    return info;
  });
}

const good = { "/r": dir(0, 0o755), "/r/home": dir(0, 0o755), "/r/deno": dir(0, 0o755), "/r/tmp": dir(0, 0o755) };

Deno.test("HOME, DENO_DIR and TMPDIR live below the runtime directory", () => {
  assert.deepEqual(runtimeDirs("/r"), { home: "/r/home", denoDir: "/r/deno", tmp: "/r/tmp" });
});

Deno.test("root-owned directories writable by root only pass, with owner and mode reported", () => {
  const states = inspect(good);
  assert.deepEqual(states.map((s) => [s.path, s.uid, s.mode, s.problem]), [
    ["/r", 0, "755", undefined],
    ["/r/home", 0, "755", undefined],
    ["/r/deno", 0, "755", undefined],
    ["/r/tmp", 0, "755", undefined],
  ]);
});

Deno.test("another owner, group or world write, a symlink or a missing directory is a problem", () => {
  const problem = (files: Record<string, Deno.FileInfo>) => inspect({ ...good, ...files }).find((s) => s.problem);
  assert.equal(problem({ "/r/deno": dir(1003, 0o755) })?.problem, "is not owned by root (owner uid 1003, mode 755)");
  assert.equal(problem({ "/r/tmp": dir(0, 0o777) })?.problem, "is writable by group or others (owner uid 0, mode 777)");
  assert.equal(problem({ "/r": dir(0, 0o775) })?.problem, "is writable by group or others (owner uid 0, mode 775)");
  assert.equal(problem({ "/r/home": dir(0, 0o777, "link") })?.problem, "is not a directory");
  const { "/r/tmp": _gone, ...withoutTmp } = good;
  assert.deepEqual(inspect(withoutTmp).at(-1), { path: "/r/tmp", problem: "does not exist: re-run install.sh" });
});
