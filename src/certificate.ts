/**
 * The PEM file trusted as NetAuth's root: read inside the sandbox, parsed and filtered by
 * validity at every run, so that logins and --check trust exactly the same certificates.
 *
 * @module
 */
import type { Config } from "./config.ts";
import { Exit } from "./exit_codes.ts";
import { describeIoError, HelperError } from "./errors.ts";
import { trustProblem } from "./file_modes.ts";

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Refuses a certificate that someone other than root could have swapped (strict modes). */
export async function checkCertificateModes(config: Config): Promise<void> {
  const unsafe = await trustProblem(config.certificate);
  if (unsafe) throw certificateError(config, unsafe);
}

/**
 * The certificate file's bytes, once its owner and mode (and those of the directories above it) are safe;
 * throws a HelperError (3) naming the file otherwise, or when it is unreadable or holds no PEM certificate.
 */
export async function readRootCertificate(config: Config): Promise<Uint8Array> {
  await checkCertificateModes(config);
  let pem: Uint8Array;
  try {
    pem = await Deno.readFile(config.certificate);
  } catch (err) {
    throw certificateError(config, `cannot read ${config.certificate}: ${describeIoError(err)}`);
  }
  if (!new TextDecoder().decode(pem).includes("-----BEGIN CERTIFICATE-----")) {
    throw certificateError(config, `${config.certificate} holds no PEM certificate`);
  }
  return pem;
}

/** One certificate of the file, as `--check` reports it. */
export interface CertificateSummary {
  /** The subject, one line. */
  subject: string;
  /** Not before. */
  validFrom: Date;
  /** Not after. */
  validTo: Date;
  /** This certificate alone, as PEM. */
  pem: string;
}

/** Parses every certificate in the file; throws a HelperError (3) naming the first that does not parse. */
export async function inspectCertificates(config: Config, pem: Uint8Array): Promise<CertificateSummary[]> {
  const { X509Certificate } = await import("node:crypto");
  const blocks = new TextDecoder().decode(pem).match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw certificateError(config, `${config.certificate} holds no PEM certificate`);
  return blocks.map((block, index) => {
    let cert;
    try {
      cert = new X509Certificate(block);
    } catch (err) {
      throw certificateError(
        config,
        `certificate ${index + 1} in ${config.certificate} does not parse: ${(err as Error).message}`,
      );
    }
    const subject = cert.subject.replace(/\n/g, ", ");
    return { subject, validFrom: new Date(cert.validFrom), validTo: new Date(cert.validTo), pem: block };
  });
}

/** The file's certificates, split by validity now. */
export interface TrustedRoots {
  /** The certificates valid now, as PEM: what the TLS stack gets. */
  pem: Uint8Array;
  /** The certificates valid now. */
  trusted: CertificateSummary[];

  /** The others, for example `CN=old-ca expired on 2021-01-01`. */
  ignored: string[];
}

/**
 * The roots to trust: the certificates in the file that are valid now. Go's crypto/x509, which
 * NetAuth's own clients use, never anchors a chain in a certificate outside its validity period;
 * Deno's TLS stack ignores a trust anchor's dates, so the helper leaves such certificates out
 * itself. With none left it exits 9 before anything is sent.
 */
export async function trustedRoots(config: Config, pem: Uint8Array, now = new Date()): Promise<TrustedRoots> {
  const certs = await inspectCertificates(config, pem);
  const valid = (c: CertificateSummary) => c.validFrom <= now && now <= c.validTo;
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const trusted = certs.filter(valid);
  const ignored = certs.filter((c) => !valid(c)).map((c) =>
    c.validTo < now ? `${c.subject} expired on ${day(c.validTo)}` : `${c.subject} not valid before ${day(c.validFrom)}`
  );
  if (trusted.length === 0) {
    throw new HelperError(
      Exit.AUTHINFO_UNAVAIL,
      "tls_failure",
      `tls.certificate (${config.certificate}) holds no certificate valid now: ${ignored.join("; ")}`,
    );
  }
  return { pem: new TextEncoder().encode(trusted.map((c) => c.pem).join("\n") + "\n"), trusted, ignored };
}

function certificateError(config: Config, message: string): HelperError {
  return new HelperError(Exit.SERVICE_ERR, "bad_config", `config ${config.file}: tls.certificate: ${message}`);
}
