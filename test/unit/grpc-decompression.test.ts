import { expect, it } from "vitest";
import { budgetedGrpcMessages } from "../../src/receivers/otlp/grpc-decompression.js";

/**
 * The request budget for gRPC replaces grpc-js's `decompressMessage`, which is not part of its
 * public API. A grpc-js upgrade without that method would leave gRPC bombs unbudgeted: this says so
 * before the fault tests do.
 */
it("grpc-js still has the decompressMessage the request budget replaces", () => {
  expect(budgetedGrpcMessages).toBe(true);
});
