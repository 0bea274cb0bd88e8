import { Server, type ServerCredentials, type ServerOptions } from "@grpc/grpc-js";
import type { Http2SecureServer, Http2Server, Http2Session } from "node:http2";

/**
 * HTTP/2 receive windows for the gRPC listener. grpc-js leaves Node's defaults, 64 KB per stream
 * and per connection, and offers no option to change them. A 100-span LLM export is ~260 KB, so a
 * client could send a quarter of it and then had to wait for a WINDOW_UPDATE, which the daemon
 * only sends between two pieces of its own work: on one busy core the connection stalled while
 * the daemon had nothing queued. grpc-go, which the OpenTelemetry Collector uses, grows its windows
 * from the measured bandwidth-delay product instead. Wider windows mean fewer, larger reads: more
 * spans per second and less CPU per span for a little more memory (paired bench runs in
 * bench/results/2026-11-26.md).
 *
 * The window does not let a client hold more memory in the daemon than before: grpc-js reads each
 * stream as it arrives (acknowledging it) until the message is whole, which the message size limit
 * bounds; the window only decides how soon the client may send the next bytes.
 */
export const GRPC_RECEIVE_WINDOW_BYTES = 4 * 1024 * 1024;

function widenWindows(session: Http2Session): void {
  session.setLocalWindowSize(GRPC_RECEIVE_WINDOW_BYTES);
  session.settings({ initialWindowSize: GRPC_RECEIVE_WINDOW_BYTES });
}

type Http2Listener = Http2Server | Http2SecureServer;

/**
 * A grpc-js Server whose HTTP/2 sessions get wider receive windows. It hooks grpc-js's
 * `createHttp2Server` (not part of its typed API): if a grpc-js upgrade drops it, the server works
 * with the default windows, and `test/integration/otlp-grpc.test.ts` fails on the settings.
 */
export class WideWindowServer extends Server {
  constructor(options: ServerOptions) {
    super(options);
    const self = this as unknown as { createHttp2Server?: (credentials: ServerCredentials) => Http2Listener };
    const create = self.createHttp2Server;
    if (typeof create !== "function") return;
    self.createHttp2Server = (credentials) => {
      const listener = create.call(this, credentials);
      listener.on("session", widenWindows);
      return listener;
    };
  }
}
