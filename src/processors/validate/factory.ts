import { z } from "zod";
import { defineProcessor } from "../../pipeline/define-processor.js";
import { validateIngestionEvent } from "./schema.js";
import { checkOtelExport } from "./otel-spans.js";

export const validateConfigSchema = z
  .strictObject({})
  .describe(
    "Checks every event against Langfuse's ingestion schema and replaces it with the normalised form Langfuse writes (unknown keys stripped, environment and usage normalised); invalid events become per-event 400s (OTLP: rejected spans) while the rest goes on; `sdk-log` events are logged at debug level and dropped, as in Langfuse. In an otel pipeline: Langfuse's check of raw exports, which refuses the whole request with 400 when a span lacks usable ids.",
  );

/**
 * Checks every event against Langfuse's ingestion schema and replaces it with the normalised form
 * Langfuse's worker expects (unknown keys stripped, environment and usage normalised). Invalid
 * events become per-event 400s while the rest of the request goes on; `sdk-log` events are
 * logged at debug level and dropped, neither success nor error, as in Langfuse.
 * In an otel pipeline it runs Langfuse's check of raw exports instead: any span without usable
 * ids rejects the whole request with 400 (see otel-spans.ts).
 */
export const validateProcessorFactory = defineProcessor({
  type: "validate",
  configSchema: validateConfigSchema,
  provides: ["validated_events"],
  async events(batch, _state, settings): Promise<void> {
    await batch.retainPaced((record) => {
      const result = validateIngestionEvent(record.event);
      if (!result.ok) {
        batch.reject(record, 400, "Invalid request data", result.error);
        return false;
      }
      if (result.event.type === "sdk-log") {
        settings.logger.debug({ eventId: result.event.id }, "sdk-log event dropped");
        batch.ignored.add(record.origin);
        batch.drop("sdk_log");
        return false;
      }
      record.event = result.event;
      return true;
    });
  },
  spans(batch): void {
    batch.check(checkOtelExport);
  },
});
