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
  /** A CA that expired at the start of 2021, and a server certificate it signed that is valid now. */
  expiredCaPem: string;
  expiredCaServerCert: Uint8Array;
  expiredCaServerKey: Uint8Array;
  /** A self-signed server certificate, as netauthd's `nsutil certgen` makes, in nobody's tls.pem. */
  selfSignedCert: Uint8Array;
  selfSignedKey: Uint8Array;
  /** Signed by the trusted CA, but for other.example only. */
  otherNameCert: Uint8Array;
  otherNameKey: Uint8Array;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
const LOCAL = "subjectAltName=DNS:localhost,IP:127.0.0.1";

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
}

/** `name.pem`/`name.key`: a self-signed certificate valid for two days from now. */
async function selfSigned(dir: string, name: string, cn: string, ...ext: string[]): Promise<void> {
  const add = ext.flatMap((e) => ["-addext", e]);
  await openssl(
    dir,
    "req",
    "-x509",
    ...EC,
    "-days",
    "2",
    "-subj",
    `/CN=${cn}`,
    ...add,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
  );
}

/** `name.pem`/`name.key`: a server certificate for `san`, signed by the CA `ca`, valid now. */
async function leaf(dir: string, ca: string, name: string, san = LOCAL): Promise<void> {
  await openssl(dir, "req", ...EC, "-subj", "/CN=localhost", "-keyout", `${name}.key`, "-out", `${name}.csr`);
  await Deno.writeTextFile(`${dir}/${name}.cnf`, `${san}\nextendedKeyUsage=serverAuth\n`);
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    `${name}.cnf`,
    "-out",
    `${name}.pem`,
  );
}

/** A CA valid only in 2020: `openssl req -x509` cannot backdate in OpenSSL 3.0, `openssl ca` can. */
async function expiredCa(dir: string, name: string): Promise<void> {
  await Deno.writeTextFile(
    `${dir}/ca.cnf`,
    "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\n" +
      "policy = p\n[p]\ncommonName = supplied\n" +
      "[v3]\nbasicConstraints = critical,CA:true\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n",
  );
  await Deno.writeTextFile(`${dir}/index.txt`, "");
  await Deno.writeTextFile(`${dir}/serial`, "01\n");
  await openssl(dir, "req", ...EC, "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.csr`);
  await openssl(
    dir,
    "ca",
    "-batch",
    "-config",
    "ca.cnf",
    "-selfsign",
    "-keyfile",
    `${name}.key`,
    "-in",
    `${name}.csr`,
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20210101000000Z",
    "-extensions",
    "v3",
    "-notext",
    "-out",
    `${name}.pem`,
  );
}

export async function makePki(): Promise<Pki> {
  const dir = await Deno.makeTempDir({ prefix: "netauth-pki-" });
  await selfSigned(dir, "trusted", "trusted");
  await selfSigned(dir, "stranger", "stranger");
  await expiredCa(dir, "expired");
  await selfSigned(dir, "self", "localhost", LOCAL);
  // One after another: two leaves from one CA would race on its serial file.
  await leaf(dir, "trusted", "trusted-server");
  await leaf(dir, "stranger", "stranger-server");
  await leaf(dir, "expired", "expired-server");
  await leaf(dir, "trusted", "other-server", "subjectAltName=DNS:other.example");
  const read = (name: string) => Deno.readFile(`${dir}/${name}`);
  return {
    dir,
    caPem: await Deno.readTextFile(`${dir}/trusted.pem`),
    serverCert: await read("trusted-server.pem"),
    serverKey: await read("trusted-server.key"),
    strangerCert: await read("stranger-server.pem"),
    strangerKey: await read("stranger-server.key"),
    expiredCaPem: await Deno.readTextFile(`${dir}/expired.pem`),
    expiredCaServerCert: await read("expired-server.pem"),
    expiredCaServerKey: await read("expired-server.key"),
    selfSignedCert: await read("self.pem"),
    selfSignedKey: await read("self.key"),
    otherNameCert: await read("other-server.pem"),
    otherNameKey: await read("other-server.key"),
  };
}
