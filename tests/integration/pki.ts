// Throwaway certificate authorities for the TLS tests, made with the openssl CLI.
export interface Pki {
  dir: string;
  /** Trusted by the helper (tls.certificate). */
  caPem: string;
  /** Server certificate for localhost and 127.0.0.1, signed by caPem. */
  serverCert: Uint8Array;
  serverKey: Uint8Array;
  /** A server certificate for the same names from an unrelated CA. */
  strangerCert: Uint8Array;
  strangerKey: Uint8Array;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
}

async function makeCa(dir: string, name: string): Promise<void> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(
    dir,
    "req",
    "-x509",
    ...ec,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
  );
  await openssl(
    dir,
    "req",
    ...ec,
    "-subj",
    "/CN=localhost",
    "-keyout",
    `${name}-server.key`,
    "-out",
    `${name}-server.csr`,
  );
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
  );
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    `${name}-server.csr`,
    "-CA",
    `${name}.pem`,
    "-CAkey",
    `${name}.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
    "-out",
    `${name}-server.pem`,
  );
}

export async function makePki(): Promise<Pki> {
  const dir = await Deno.makeTempDir({ prefix: "netauth-pki-" });
  await makeCa(dir, "trusted");
  await makeCa(dir, "stranger");
  return {
    dir,
    caPem: await Deno.readTextFile(`${dir}/trusted.pem`),
    serverCert: await Deno.readFile(`${dir}/trusted-server.pem`),
    serverKey: await Deno.readFile(`${dir}/trusted-server.key`),
    strangerCert: await Deno.readFile(`${dir}/stranger-server.pem`),
    strangerKey: await Deno.readFile(`${dir}/stranger-server.key`),
  };
}
