import { readFileSync, unwatchFile, watchFile } from "node:fs";
import type { SecureContextOptions } from "node:tls";
import { experimental, ServerCredentials } from "@grpc/grpc-js";
import { z } from "zod";
import { durationMs } from "../config/units.js";

/**
 * TLS for a listener: certificate and key files, and with `client_ca_file` mutual TLS (clients
 * must present a certificate that CA signed). The files are read again when they change, so a
 * cert-manager renewal or a rotated Kubernetes Secret needs no restart.
 */
export const tlsSchema = z.strictObject({
  cert_file: z.string().min(1).describe("The server's certificate chain (PEM)."),
  key_file: z.string().min(1).describe("The server's private key (PEM)."),
  client_ca_file: z.string().min(1).optional().describe("CA certificates (PEM): when set, clients must present a certificate this CA signed (mutual TLS)."),
  reload_interval: durationMs.default(60_000).describe("How often the files are checked for changes; a renewed certificate needs no restart."),
});

export type TlsConfig = z.output<typeof tlsSchema>;

export function readTlsFiles(config: TlsConfig): SecureContextOptions {
  const options: SecureContextOptions = { cert: readFileSync(config.cert_file), key: readFileSync(config.key_file) };
  if (config.client_ca_file) options.ca = readFileSync(config.client_ca_file);
  return options;
}

/** Calls `apply` with freshly read files whenever one of them changes; returns the stop function. */
export function watchTlsFiles(config: TlsConfig, apply: (options: SecureContextOptions) => void, onError: (error: unknown) => void): () => void {
  const files = [config.cert_file, config.key_file, ...(config.client_ca_file ? [config.client_ca_file] : [])];
  const onChange = () => {
    try {
      apply(readTlsFiles(config));
    } catch (error) {
      // A half-written renewal: keep serving with the current certificate and try at the next change.
      onError(error);
    }
  };
  for (const file of files) watchFile(file, { interval: config.reload_interval, persistent: false }, onChange);
  return () => {
    for (const file of files) unwatchFile(file, onChange);
  };
}

/** gRPC server credentials that follow the files (grpc-js re-reads them every `reload_interval`). */
export function grpcServerCredentials(config: TlsConfig | undefined): ServerCredentials {
  if (config === undefined) return ServerCredentials.createInsecure();
  const identity = new experimental.FileWatcherCertificateProvider({
    certificateFile: config.cert_file,
    privateKeyFile: config.key_file,
    refreshIntervalMs: config.reload_interval,
  });
  const clientCa = config.client_ca_file
    ? new experimental.FileWatcherCertificateProvider({ caCertificateFile: config.client_ca_file, refreshIntervalMs: config.reload_interval })
    : null;
  // grpc-js takes the identity provider first, despite its parameter names.
  return experimental.createCertificateProviderServerCredentials(identity, clientCa, clientCa !== null);
}
