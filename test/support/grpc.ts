import { credentials, makeGenericClientConstructor, Metadata, type ChannelOptions } from "@grpc/grpc-js";

export interface GrpcExportResult {
  code: number;
  details: string;
  metadata?: Metadata;
  response?: Buffer;
}

/**
 * One OTLP/gRPC Export call with a raw grpc-js client (the body as given, no SDK in between), so
 * tests see the exact status code, details and trailers the daemon answers.
 */
export function exportOverGrpc(
  target: string,
  body: Buffer,
  options: { authorization?: string | null; channel?: ChannelOptions } = {},
): Promise<GrpcExportResult> {
  const Client = makeGenericClientConstructor({}, "TraceService");
  const client = new Client(target.replace("grpc://", ""), credentials.createInsecure(), options.channel ?? {});
  const metadata = new Metadata();
  if (options.authorization) metadata.set("authorization", options.authorization);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
      (value: Buffer) => value,
      (value: Buffer) => value,
      body,
      metadata,
      (error, response) => {
        client.close();
        resolve(error ? { code: error.code, details: error.details, metadata: error.metadata } : { code: 0, details: "", response });
      },
    );
  });
}
