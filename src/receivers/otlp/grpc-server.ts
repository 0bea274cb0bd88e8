import { Metadata, status as grpcStatus, type Server, type ServiceDefinition, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { encodeExportResponse, encodeRpcStatus } from "../../otlp/codec.js";
import { OtlpTraceRequest } from "../../otlp/trace-request.js";
import type { Endpoint } from "../../config/units.js";
import type { PayloadConsumer } from "../../pipeline/payload.js";
import { edgeStatus } from "../edge-status.js";
import { grpcPeerAddress, refuseUnsupportedIngestionVersion, requestContext } from "../request-context.js";
import { WideWindowServer } from "./grpc-flow-control.js";
import { partialSuccessOf } from "./partial-success.js";
import { recordRequest } from "../request-metrics.js";
import { grpcServerCredentials, type TlsConfig } from "../tls.js";

const EXPORT_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

const passthrough = (buffer: Buffer): Buffer => buffer;

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
}

export class OtlpGrpcServer {
  readonly #server: Server;
  readonly #options: GrpcServerOptions;
  #port = 0;

  constructor(options: GrpcServerOptions) {
    this.#options = options;
    this.#server = new WideWindowServer({
      "grpc.max_receive_message_length": options.maxMessageBytes,
      "grpc.max_send_message_length": 4 * 1024 * 1024,
      "grpc.max_concurrent_streams": options.maxConcurrentStreams ?? 100,
      "grpc.max_connection_idle_ms": options.maxConnectionIdleMs ?? 300_000,
      "grpc.max_connection_age_ms": options.maxConnectionAgeMs ?? 30 * 60_000,
      "grpc.max_connection_age_grace_ms": options.maxConnectionAgeGraceMs ?? 60_000,
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

  async #export(call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): Promise<void> {
    const lookup = (name: string): string | undefined => {
      const value = call.metadata.get(name)[0];
      return typeof value === "string" ? value : undefined;
    };
    const startedAt = process.hrtime.bigint();
    const receiver = this.#options.receiverId;
    try {
      const context = requestContext(this.#options.receiverId, "grpc", "otel", lookup, grpcPeerAddress(call.getPeer()), this.#options.propagateHeaders);
      // Credentials first: a refused client learns nothing about its request (not even that it was empty).
      await this.#options.consumer.authenticate(context, "otlp");
      this.#options.consumer.admit();
      const request = OtlpTraceRequest.fromProtobuf(call.request);
      if (request.isEmpty()) {
        callback(null, encodeExportResponse("protobuf"));
        recordRequest(this.#options.logger, receiver, "grpc", "spans", startedAt, { empty: true });
        return;
      }
      refuseUnsupportedIngestionVersion(context);
      const result = await this.#options.consumer.consume({ kind: "otlp", request }, context);
      callback(null, encodeExportResponse("protobuf", partialSuccessOf(result)));
      recordRequest(this.#options.logger, receiver, "grpc", "spans", startedAt, { result });
    } catch (error) {
      const status = edgeStatus(error);
      recordRequest(this.#options.logger, receiver, "grpc", "spans", startedAt, { status });
      if (status.unexpected) this.#options.logger.error({ err: error }, "unexpected failure while handling an OTLP gRPC request");
      const metadata = new Metadata();
      // google.rpc.Status with RetryInfo: OTLP clients treat UNAVAILABLE as retryable and honour the delay.
      metadata.set("grpc-status-details-bin", encodeRpcStatus("protobuf", status.grpc, status.message, status.retryAfterMs));
      callback({ code: status.grpc, details: status.message, metadata });
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
