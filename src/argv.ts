/**
 * A strict long-option parser for the helper's argv (cli.ts gives it meaning). Our own rather than
 * node:util's parseArgs: loading node:util costs every run, bad input included, ~6 MiB and ~10 ms.
 *
 * @module
 */

/** One option: a flag, or one that takes a value (repeatable with `multiple`). */
export type OptionKind = { type: "string"; multiple?: boolean } | { type: "boolean" };
/** The options a command line may hold, by long name without `--`. */
export type OptionSpec = Record<string, OptionKind>;
/** The values given, by name: a flag's `true`, a value, or every value of a repeatable option. */
export type Parsed<S extends OptionSpec> = {
  [K in keyof S]?: S[K] extends { type: "boolean" } ? boolean
    : S[K] extends { multiple: true } ? string[]
    : string;
};

/**
 * `--name value`, `--name=value` and `--flag`; no positionals, no short options. A string option's
 * value may not start with "-" unless given with "=" (so `--config --check` is refused, not swallowed).
 * Throws an Error whose one-line message names the argument.
 */
export function parseLongOptions<S extends OptionSpec>(argv: string[], spec: S): Parsed<S> {
  const values: Record<string, string | string[] | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--") || arg === "--") {
      throw new Error(`Unexpected argument '${arg}'. This command does not take positional arguments`);
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!kind) throw new Error(`Unknown option '--${name}'`);
    if (kind.type === "boolean") {
      if (eq !== -1) throw new Error(`Option '--${name}' does not take an argument`);
      values[name] = true;
      continue;
    }
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith("-")) value = argv[++i];
    else throw new Error(`Option '--${name} <value>' argument missing`);
    if (kind.multiple) values[name] = [...(values[name] as string[] | undefined ?? []), value];
    else values[name] = value;
  }
  return values as Parsed<S>;
}
