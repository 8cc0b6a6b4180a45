// The PAM rules of a stack file, as tests compare them with pam.d/: one normalised line per rule.

const RULE = /^-?(auth|account|password|session)\s+\S+/;

/** A rule with its words separated by one space. */
export const normalize = (line: string) => line.trim().split(/\s+/).join(" ");

/** Whether a line is a PAM rule (a `-` before the type skips a missing module). */
export const isRule = (line: string) => RULE.test(line);

/** The rules of one stack file; pam-auth-update profiles hold them tab-indented under `Auth:` and `Account:`. */
export function rulesOf(text: string): string[] {
  const rules: string[] = [];
  let section = "";
  for (const line of text.split("\n")) {
    const header = line.match(/^(Auth|Account|Password|Session):\s*$/);
    if (header) section = header[1].toLowerCase();
    else if (/^\S/.test(line)) section = "";
    if (section && /^\s+\S/.test(line)) rules.push(normalize(`${section} ${line}`));
    else if (RULE.test(line)) rules.push(normalize(line));
  }
  return rules;
}

/**
 * What the RPM's authselect profile (scripts/authselect_profile.ts) must hold, by file, from pam.d/rhel/: the
 * netauth auth and account rules with the package's launcher, then the password and session rules.
 */
export function expectedAuthselectRules(pamDir: string): Record<string, string[]> {
  const read = (rel: string) => rulesOf(Deno.readTextFileSync(`${pamDir}/${rel}`));
  const stack = [
    ...read("rhel/system-auth-netauth").map((rule) =>
      rule.replaceAll("/usr/local/sbin/netauth-pam-helper", "/usr/sbin/netauth-pam-helper")
    ),
    ...read("rhel/password-session"),
  ];
  return { "system-auth": stack, "password-auth": stack, postlogin: read("rhel/postlogin") };
}
