// Every module in src/ opens with a `/** ... @module */` overview, so `deno doc` shows what it is for
// (`deno doc --lint`, run by `deno task check`, holds the exports to their JSDoc but not the module to one).
import assert from "node:assert/strict";

const SRC = new URL("../src/", import.meta.url).pathname;

function modules(dir = SRC): string[] {
  return [...Deno.readDirSync(dir)].flatMap((e) =>
    e.isDirectory ? modules(`${dir}${e.name}/`) : e.name.endsWith(".ts") ? [`${dir}${e.name}`] : []
  );
}

Deno.test("every module in src/ starts with a @module JSDoc", () => {
  const files = modules();
  assert.ok(files.length > 30, `${files.length} modules`);
  const without = files.filter((file) => !/^\/\*\*(?:(?!\*\/)[\s\S])*@module\b/.test(Deno.readTextFileSync(file)));
  assert.deepEqual(without.map((f) => f.slice(SRC.length)), []);
});
