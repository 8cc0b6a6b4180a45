// Reads the repository's Markdown pages, so the tests that hold a page to the code read that page.

const ROOT = new URL("../", import.meta.url).pathname;

/** The text of a page, by its path from the repository root (like `docs/security.md`). */
export function readDoc(path: string): string {
  return Deno.readTextFileSync(`${ROOT}${path}`);
}

/** The part of a page under a heading (any level, like `## Exit codes`), up to the next heading of that level or higher. */
export function section(page: string, heading: string): string {
  const lines = page.split("\n");
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`no heading "${heading}"`);
  const level = heading.indexOf(" ");
  const end = lines.findIndex((line, i) => i > start && /^#+ /.test(line) && line.indexOf(" ") <= level);
  return lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
}

/** The rows of the first table in `text`, header and separator left out, each cell trimmed, backticks dropped. */
export function tableRows(text: string): string[][] {
  const lines = text.split("\n");
  const first = lines.findIndex((line) => line.startsWith("|"));
  if (first < 0) throw new Error("no table");
  const after = lines.findIndex((line, i) => i > first && !line.startsWith("|"));
  return lines.slice(first + 2, after < 0 ? undefined : after).map((row) =>
    row.slice(1, -1).split("|").map((cell) => cell.trim().replaceAll("`", ""))
  );
}

/** The contents of the fenced code blocks in `text`, in order. */
export function codeBlocks(text: string): string[] {
  return text.split(/^```.*$/m).filter((_, i) => i % 2 === 1);
}
