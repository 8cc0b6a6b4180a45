// The one skip policy for a test whose prerequisite this machine may lack (root, pamtester, netauthd's binaries):
// outside CI it is skipped with the reason printed; under CI=true nothing is skipped, it fails with the reason.

/** Whether this is CI's run (`CI=true`), where a missing prerequisite is a failure. */
export const IN_CI = Deno.env.get("CI") === "true";

/** Why a test cannot run as this user, or undefined when this process is root. */
export function needsRoot(why: string): string | undefined {
  return Deno.uid() === 0 ? undefined : `not root: ${why}`;
}

/**
 * `Deno.test` for a test with a prerequisite: `missing` says what this machine lacks, undefined when nothing.
 * Skipped (and said so) outside CI; under CI=true it runs as a failure naming what is missing.
 */
export function testWhere(missing: string | undefined, test: Deno.TestDefinition): void {
  if (missing === undefined) return Deno.test(test);
  if (!IN_CI) {
    console.warn(`skipping "${test.name}": ${missing}`);
    return Deno.test({ ...test, ignore: true });
  }
  Deno.test({
    ...test,
    fn() {
      throw new Error(`CI=true needs every prerequisite, but ${missing}`);
    },
  });
}
