import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A throwaway CA with a server certificate for 127.0.0.1 (and `serverNames`, DNS names a test
 * server stands in for) and a client certificate, made with the openssl command line (present on
 * Debian and in CI).
 */
export function makeCertificates(directory: string, serverNames: string[] = []) {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: directory, stdio: "ignore" });
  const key = (name: string) => openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", `${name}.key`);
  key("ca");
  openssl("req", "-x509", "-new", "-key", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=test-ca");
  writeFileSync(join(directory, "server.ext"), `subjectAltName=${["IP:127.0.0.1", ...serverNames.map((name) => `DNS:${name}`)].join(",")}\n`);

  const issue = (name: string, subject: string, extensions?: string) => {
    key(name);
    openssl("req", "-new", "-key", `${name}.key`, "-out", `${name}.csr`, "-subj", subject);
    openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", ...(extensions ? ["-extfile", extensions] : []));
  };
  issue("server", "/CN=127.0.0.1", "server.ext");
  issue("client", "/CN=test-client");
  return {
    ca: join(directory, "ca.crt"),
    serverCert: join(directory, "server.crt"),
    serverKey: join(directory, "server.key"),
    clientCert: join(directory, "client.crt"),
    clientKey: join(directory, "client.key"),
    /** Issues a new server certificate into the same files (a renewal). */
    renewServer: () => issue("server", "/CN=127.0.0.1", "server.ext"),
  };
}
