/**
 * The per-entity lock in the cache directory: an exclusive flock on `<hash>.lock`, held by every
 * writer of the entity's entry and across a whole offline decision (read, count, verify, give
 * back), so parallel guesses are judged one at a time against an up-to-date failure count.
 * The wait is bounded by the caller's deadline: a busy entry makes an answer "unavailable" in
 * time, never a hang. Lock files stay (removing one would race with a waiter on the old file).
 *
 * @module
 */

/** How often a waiter tries again: short next to one scrypt verification (about 0.1 s). */
const RETRY_MS = 10;

/** Takes the lock on `path`, creating the file, or gives up at `deadline` (tries at least once). */
export async function lockFile(path: string, deadline: number): Promise<(() => void) | undefined> {
  const file = await Deno.open(path, { write: true, create: true, mode: 0o600 });
  try {
    while (!(await file.tryLock(true))) {
      if (Date.now() >= deadline) {
        file.close();
        return undefined;
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  } catch (err) {
    file.close();
    throw err;
  }
  // Closing the file releases the lock.
  return () => file.close();
}
