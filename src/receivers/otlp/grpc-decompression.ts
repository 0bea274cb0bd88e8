import { Metadata, status as grpcStatus, type StatusObject } from "@grpc/grpc-js";
import { BaseServerInterceptingCall } from "@grpc/grpc-js/build/src/server-interceptors.js";
import { ByteBudget, type BudgetLease } from "../../pipeline/byte-budget.js";
import { OverloadedError, PayloadTooLargeError } from "../../pipeline/errors.js";
import { encodeRpcStatus } from "../../otlp/codec.js";
import { inflateBody } from "../inflate.js";

/**
 * gRPC messages count against the process's request budget like HTTP bodies. grpc-js inflates a
 * compressed message itself, in 16 KB pieces, up to the message size limit, before any handler
 * sees it, and offers no hook to bound that across calls: parallel compression bombs grew the
 * heap by the limit each and left it fragmented. Its `decompressMessage` is replaced here (it is
 * not part of grpc-js's typed API) by the same budgeted, streaming inflation the HTTP receivers
 * use. If a grpc-js upgrade drops the method, grpc-js's own inflation runs, and
 * `test/faults/memory-bound.test.ts` fails on the gRPC bombs' answers.
 *
 * The lease is held until the handler has answered (`releaseMessage`); a call cancelled before its
 * handler runs gives it back when its message is collected.
 */
const leases = new WeakMap<Buffer, BudgetLease>();
/** The process's request budget; grpc-js's call objects cannot carry it, so the gRPC server hands it over here. */
let budget = new ByteBudget(Number.MAX_SAFE_INTEGER);

/** Makes gRPC messages count against `requestBudget`: one budget per process, as for HTTP bodies. */
export function useRequestBudget(requestBudget: ByteBudget): void {
  budget = requestBudget;
}
const abandoned = new FinalizationRegistry<BudgetLease>((lease) => lease.close());

type Encoding = string;
type DecompressMessage = (this: { maxReceiveMessageSize: number }, message: Buffer, encoding: Encoding) => Buffer | Promise<Buffer>;

function refusal(error: unknown, limit: number): Partial<StatusObject> {
  if (error instanceof OverloadedError) {
    const metadata = new Metadata();
    metadata.set("grpc-status-details-bin", encodeRpcStatus("protobuf", grpcStatus.RESOURCE_EXHAUSTED, error.message, error.retryAfterMs));
    return { code: grpcStatus.RESOURCE_EXHAUSTED, details: error.message, metadata };
  }
  if (error instanceof PayloadTooLargeError) {
    return { code: grpcStatus.RESOURCE_EXHAUSTED, details: `Received message that decompresses to a size larger than ${limit}` };
  }
  return { code: grpcStatus.INTERNAL, details: "Failed to decompress message" };
}

const budgeted: DecompressMessage = async function (message, encoding) {
  const contents = message.subarray(5);
  const limit = this.maxReceiveMessageSize === -1 ? Number.MAX_SAFE_INTEGER : this.maxReceiveMessageSize;
  const lease = budget.open();
  try {
    let result: Buffer;
    if (encoding === "identity") {
      lease.grow(contents.length);
      result = contents;
    } else if (encoding === "gzip" || encoding === "deflate") {
      result = await inflateBody(contents, encoding, limit, lease);
    } else {
      throw Object.assign(new Error("unsupported"), { grpcStatus: { code: grpcStatus.UNIMPLEMENTED, details: `Received message compressed with unsupported encoding "${encoding}"` } });
    }
    leases.set(result, lease);
    abandoned.register(result, lease, lease);
    return result;
  } catch (error) {
    lease.close();
    const status = (error as { grpcStatus?: Partial<StatusObject> }).grpcStatus;
    throw status ?? refusal(error, limit);
  }
};

const prototype = BaseServerInterceptingCall.prototype as unknown as { decompressMessage?: DecompressMessage };
/** Whether grpc-js still has the method this module replaces. */
export const budgetedGrpcMessages = typeof prototype.decompressMessage === "function";
if (budgetedGrpcMessages) prototype.decompressMessage = budgeted;

/** Gives back the budget a received message holds; call once its request is answered. */
export function releaseMessage(message: Buffer): void {
  const lease = leases.get(message);
  if (lease === undefined) return;
  leases.delete(message);
  abandoned.unregister(lease);
  lease.close();
}
