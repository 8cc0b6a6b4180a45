/**
 * Reported by --version and in --audit; bump with each release.
 *
 * @module
 */

/** The version `--version` prints and manifest.json records. */
export const VERSION = "0.1.0";
