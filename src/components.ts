import type { ExporterFactory, ProcessorFactory, ReceiverFactory } from "./pipeline/component.js";
import { azureBlobExporterFactory } from "./exporters/azure/factory.js";
import { bullmqExporterFactory } from "./exporters/bullmq/factory.js";
import { fileExporterFactory } from "./exporters/file/factory.js";
import { langfuseOtelExporterFactory } from "./exporters/langfuse_otel/factory.js";
import { s3ExporterFactory } from "./exporters/s3/factory.js";
import { authProcessorFactory } from "./processors/auth/factory.js";
import { groupProcessorFactory } from "./processors/group/factory.js";
import { filterProcessorFactory } from "./processors/filter/factory.js";
import { redactProcessorFactory } from "./processors/redact/factory.js";
import { sampleProcessorFactory } from "./processors/sample/factory.js";
import { rateLimitProcessorFactory } from "./processors/rate_limit/factory.js";
import { sortProcessorFactory } from "./processors/sort/factory.js";
import { validateProcessorFactory } from "./processors/validate/factory.js";
import { langfuseReceiverFactory } from "./receivers/langfuse/factory.js";
import { otlpReceiverFactory } from "./receivers/otlp/factory.js";

/** Every component type the daemon knows, by config section. */
export interface ComponentRegistry {
  receivers: ReadonlyMap<string, ReceiverFactory>;
  processors: ReadonlyMap<string, ProcessorFactory>;
  exporters: ReadonlyMap<string, ExporterFactory>;
}

function byType<F extends { type: string }>(factories: F[]): ReadonlyMap<string, F> {
  return new Map(factories.map((factory) => [factory.type, factory]));
}

export const builtinComponents: ComponentRegistry = {
  receivers: byType<ReceiverFactory>([otlpReceiverFactory, langfuseReceiverFactory]),
  processors: byType<ProcessorFactory>([validateProcessorFactory, authProcessorFactory, redactProcessorFactory, filterProcessorFactory, sampleProcessorFactory, rateLimitProcessorFactory, sortProcessorFactory, groupProcessorFactory]),
  exporters: byType<ExporterFactory>([s3ExporterFactory, azureBlobExporterFactory, fileExporterFactory, bullmqExporterFactory, langfuseOtelExporterFactory]),
};
