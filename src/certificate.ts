// The PEM file trusted as NetAuth's root: read inside the sandbox, checked for shape here
// (every run) and for validity in --check, where node:crypto's parse is worth its cost.
import { type Config, describeIoError } from "./config.ts";
import { Exit, HelperError } from "./exit_codes.ts";
import { trustProblem } from "./file_modes.ts";

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Refuses a certificate that someone other than root could have swapped (strict modes). */
export async function checkCertificateModes(config: Config): Promise<void> {
  const unsafe = await trustProblem(config.certificate);
  if (unsafe) throw certificateError(config, unsafe);
}

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

export interface CertificateSummary {
  subject: string;
  validTo: Date;
}

/** Parses every certificate in the file; throws a HelperError naming the first bad one. */
export async function inspectCertificates(
  config: Config,
  pem: Uint8Array,
  now = new Date(),
): Promise<CertificateSummary[]> {
  const { X509Certificate } = await import("node:crypto");
  const blocks = new TextDecoder().decode(pem).match(PEM_BLOCK) ?? [];
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
    const validTo = new Date(cert.validTo);
    if (validTo < now || new Date(cert.validFrom) > now) {
      throw new HelperError(
        Exit.AUTHINFO_UNAVAIL,
        "tls_failure",
        `certificate ${index + 1} in ${config.certificate} is not valid now (${cert.validFrom} to ${cert.validTo})`,
      );
    }
    return { subject: cert.subject.replace(/\n/g, ", "), validTo };
  });
}

function certificateError(config: Config, message: string): HelperError {
  return new HelperError(Exit.SERVICE_ERR, "bad_config", `config ${config.file}: tls.certificate: ${message}`);
}
