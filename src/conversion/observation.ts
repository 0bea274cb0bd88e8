/**
 * Mapping spec §8: the observation body of one span.
 *
 * Generation-only fields are present on every raw observation, spans and events included; the
 * ingestion schema strips them later where the body type has no such fields (cases 57, 58).
 */
import {
  completionStartTime,
  observationModel,
  observationName,
  promptReference,
} from "./generation-fields.js";
import type { InputOutput } from "./input-output.js";
import { observationLevel, observationStatusMessage } from "./level.js";
import { observationMetadata, type SpanMetadataParts } from "./metadata.js";
import { modelParameters } from "./model-parameters.js";
import type { ObservationType } from "./observation-type.js";
import { spanVersion } from "./properties.js";
import type { SpanContext } from "./span-context.js";
import { moveToolDefinitionsIntoInput } from "./tool-definitions.js";
import { costDetails, usageDetails } from "./usage-cost.js";

export interface ObservationBodyInput {
  span: SpanContext;
  type: ObservationType;
  environment: string;
  metadataParts: SpanMetadataParts;
  io: InputOutput;
}

export function observationBody(input: ObservationBodyInput): Record<string, unknown> {
  const { span, type, environment, metadataParts } = input;
  const attrs = span.attributes;
  const scopeName = span.scope.name;

  const normalised = moveToolDefinitionsIntoInput(input.io.input, observationMetadata(metadataParts));
  const prompt = promptReference(attrs, type);

  const body: Record<string, unknown> = {
    id: span.spanId,
    traceId: span.traceId,
    parentObservationId: span.parentSpanId,
  };
  const name = observationName(span);
  if (name !== undefined) body.name = name;
  body.startTime = span.startIso;
  body.endTime = span.endIso;
  body.environment = environment;
  body.completionStartTime = completionStartTime(attrs, span.startMs);
  body.metadata = normalised.metadata;
  body.level = observationLevel(span);
  body.statusMessage = observationStatusMessage(span);
  body.version = spanVersion(span);
  body.modelParameters = modelParameters(attrs, scopeName);
  const model = observationModel(attrs);
  if (model !== undefined) body.model = model;
  body.promptName = prompt.promptName;
  body.promptVersion = prompt.promptVersion;
  body.usageDetails = usageDetails(attrs, scopeName);
  body.costDetails = costDetails(attrs);
  if (normalised.input !== undefined) body.input = normalised.input;
  if (input.io.output !== undefined) body.output = input.io.output;
  return body;
}
