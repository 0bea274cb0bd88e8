import {
  Metadata,
  ServerInterceptingCall,
  status as grpcStatus,
  type Server,
  type ServerInterceptor,
  type ServiceDefinition,
  type ServerUnaryCall,
  type sendUnaryData,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { encodeExportResponse, encodeRpcStatus } from "../../otlp/codec.js";
import { OtlpTraceRequest } from "../../otlp/trace-request.js";
import type { Endpoint } from "../../config/units.js";
import type { PayloadConsumer, RequestContext } from "../../pipeline/payload.js";
import { edgeStatus, type EdgeStatus } from "../edge-status.js";
import { releaseMessage, useRequestBudget } from "./grpc-decompression.js";
import type { ByteBudget } from "../../pipeline/byte-budget.js";
import type { DaemonMetrics } from "../../telemetry/metrics.js";
import { grpcPeerAddress, refuseUnsupportedIngestionVersion, requestContext } from "../request-context.js";
import { WideWindowServer } from "./grpc-flow-control.js";
import { partialSuccessOf } from "./partial-success.js";
import { recordRequest } from "../request-metrics.js";
import { grpcServerCredentials, type TlsConfig } from "../../net/tls.js";

const EXPORT_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

const passthrough = (buffer: Buffer): Buffer => buffer;

/** A refusal as gRPC status, with a google.rpc.Status (and RetryInfo when retryable) in the trailers: OTLP clients honour the delay. */
function grpcStatusOf(status: EdgeStatus): { code: number; details: string; metadata: Metadata } {
  const metadata = new Metadata();
  metadata.set("grpc-status-details-bin", encodeRpcStatus("protobuf", status.grpc, status.message, status.retryAfterMs));
  return { code: status.grpc, details: status.message, metadata };
}

/**
 * The TraceService with raw-bytes (de)serialisers: grpc-js hands over the (decompressed) message
 * bytes, and the same protobuf decoder as the HTTP receiver turns them into spans.
 */
const traceService: ServiceDefinition = {
  Export: {
    path: EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: passthrough,
    requestDeserialize: passthrough,
    responseSerialize: passthrough,
    responseDeserialize: passthrough,
  },
};

export interface GrpcServerOptions {
  receiverId: string;
  endpoint: Endpoint;
  tls?: TlsConfig;
  maxConcurrentStreams?: number;
  maxConnectionIdleMs?: number;
  maxConnectionAgeMs?: number;
  maxConnectionAgeGraceMs?: number;
  maxMessageBytes: number;
  propagateHeaders?: readonly string[];
  consumer: PayloadConsumer;
  logger: Logger;
  metrics: DaemonMetrics;
  /** The process's request budget, which compressed and plain messages count against (grpc-decompression.ts). */
  requestBudget: ByteBudget;
}

export class OtlpGrpcServer {
  readonly #server: Server;
  readonly #options: GrpcServerOptions;
  #port = 0;

  constructor(options: GrpcServerOptions) {
    this.#options = options;
    useRequestBudget(options.requestBudget);
    this.#server = new WideWindowServer({
      "grpc.max_receive_message_length": options.maxMessageBytes,
      "grpc.max_send_message_length": 4 * 1024 * 1024,
      "grpc.max_concurrent_streams": options.maxConcurrentStreams ?? 100,
      "grpc.max_connection_idle_ms": options.maxConnectionIdleMs ?? 300_000,
      "grpc.max_connection_age_ms": options.maxConnectionAgeMs ?? 30 * 60_000,
      "grpc.max_connection_age_grace_ms": options.maxConnectionAgeGraceMs ?? 60_000,
      interceptors: [this.#authenticateFirst],
    });
    this.#server.addService(traceService, {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        this.#export(call, callback).catch((error: unknown) => {
          options.logger.error({ err: error }, "unexpected failure in the gRPC export handler");
          callback({ code: grpcStatus.INTERNAL, details: "internal error" });
        });
      },
    });
  }

  /** Request contexts whose credentials the interceptor accepted, by the call's metadata. */
  readonly #authenticated = new WeakMap<Metadata, RequestContext>();

  #contextOf(metadata: Metadata, peer: string): RequestContext {
    const lookup = (name: string): string | undefined => {
      const value = metadata.get(name)[0];
      return typeof value === "string" ? value : undefined;
    };
    return requestContext(this.#options.receiverId, "grpc", "otel", lookup, grpcPeerAddress(peer), this.#options.propagateHeaders);
  }

  /**
   * Credentials first, from the metadata, before grpc-js reads the message: it starts reading only
   * when the metadata has passed every interceptor, so a refused client's message (however large
   * or compressed) is never read or inflated, and it learns nothing about it (not even that it was
   * empty).
   */
  readonly #authenticateFirst: ServerInterceptor = (_method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, passOn) => {
            const context = this.#contextOf(metadata, call.getPeer());
            this.#options.consumer.authenticate(context, "otlp").then(
              () => {
                this.#authenticated.set(metadata, context);
                passOn(metadata);
              },
              (error: unknown) => {
                const status = edgeStatus(error);
                recordRequest(this.#options, this.#options.receiverId, "grpc", "spans", process.hrtime.bigint(), { status });
                call.sendStatus(grpcStatusOf(status));
              },
            );
          },
        }),
    });

  async #export(call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): Promise<void> {
    const startedAt = process.hrtime.bigint();
    const receiver = this.#options.receiverId;
    try {
      let context = this.#authenticated.get(call.metadata);
      if (context === undefined) {
        context = this.#contextOf(call.metadata, call.getPeer());
        await this.#options.consumer.authenticate(context, "otlp");
      }
      this.#options.consumer.admit();
      const request = OtlpTraceRequest.fromProtobuf(call.request);
      if (request.isEmpty()) {
        callback(null, encodeExportResponse("protobuf"));
        recordRequest(this.#options, receiver, "grpc", "spans", startedAt, { empty: true });
        return;
      }
      refuseUnsupportedIngestionVersion(context);
      const result = await this.#options.consumer.consume({ kind: "otlp", request }, context);
      callback(null, encodeExportResponse("protobuf", partialSuccessOf(result)));
      recordRequest(this.#options, receiver, "grpc", "spans", startedAt, { result });
    } catch (error) {
      const status = edgeStatus(error);
      recordRequest(this.#options, receiver, "grpc", "spans", startedAt, { status });
      if (status.unexpected) this.#options.logger.error({ err: error }, "unexpected failure while handling an OTLP gRPC request");
      callback(grpcStatusOf(status));
    } finally {
      releaseMessage(call.request);
    }
  }

  listen(): Promise<void> {
    const { host, port } = this.#options.endpoint;
    const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(address, grpcServerCredentials(this.#options.tls), (error, boundPort) => {
        if (error) return reject(error);
        this.#port = boundPort;
        resolve();
      });
    });
  }

  address(): string {
    const { host } = this.#options.endpoint;
    return host.includes(":") ? `[${host}]:${this.#port}` : `${host}:${this.#port}`;
  }

  /** Stops accepting calls and waits for in-flight ones. */
  close(): Promise<void> {
    return new Promise((resolve) => this.#server.tryShutdown(() => resolve()));
  }

  forceClose(): void {
    this.#server.forceShutdown();
  }
}
