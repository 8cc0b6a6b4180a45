/**
 * The SHA-256 in hex that manifest.json records and `sha256sum` prints, for the install's files.
 *
 * @module
 */

/** The SHA-256 of `bytes`, in lower-case hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return new Uint8Array(digest).toHex();
}
