import { readFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";

/** Entra ID's public-cloud authority, which @azure/identity talks to unless told otherwise. */
export const ENTRA_HOST = "login.microsoftonline.com";

/** An unsigned JWT with the claims Azure Storage (and Azurite's `--oauth basic`) check. */
export function storageToken(tenantId: string, lifetimeSeconds = 3600, audience = "https://storage.azure.com"): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "RS256", typ: "JWT" })}.${part({ aud: audience, iss: `https://sts.windows.net/${tenantId}/`, nbf: now - 60, iat: now - 60, exp: now + lifetimeSeconds, tid: tenantId })}.c2lnbmF0dXJl`;
}

/**
 * Entra ID's token endpoint for the client-credentials grant (what WorkloadIdentityCredential sends:
 * the federated token as client_assertion), served under login.microsoftonline.com through an
 * HTTP CONNECT proxy, so @azure/identity runs unchanged with HTTPS_PROXY pointing at it and the
 * test CA in NODE_EXTRA_CA_CERTS. Records every token request; refuses `refusedClientIds` as Entra
 * ID refuses an unknown application.
 */
export async function startFakeEntraId(tls: { cert: string; key: string }, options: { tenantId: string; refusedClientIds?: string[] }) {
  const tokenRequests: URLSearchParams[] = [];
  const issued: string[] = [];
  const entra = createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, (request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      const path = new URL(request.url!, `https://${ENTRA_HOST}`).pathname;
      const json = (status: number, value: unknown) => response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
      if (request.method !== "POST" || path !== `/${options.tenantId}/oauth2/v2.0/token`) return json(404, { error: "not_found" });
      const form = new URLSearchParams(body);
      tokenRequests.push(form);
      if (options.refusedClientIds?.includes(form.get("client_id") ?? "")) {
        return json(400, { error: "unauthorized_client", error_description: `AADSTS700016: Application with identifier '${form.get("client_id")}' was not found in the directory.`, error_codes: [700016] });
      }
      const token = storageToken(options.tenantId);
      issued.push(token);
      return json(200, { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: token });
    });
  });
  const proxy = createHttpServer((_request, response) => response.writeHead(405).end());
  proxy.on("connect", (request, socket) => {
    if (request.url !== `${ENTRA_HOST}:443`) {
      socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    entra.emit("connection", socket);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    proxyUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    tokenRequests,
    issued,
    async stop(): Promise<void> {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      entra.closeAllConnections();
    },
  };
}
