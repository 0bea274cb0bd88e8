/**
 * Event bodies of the Langfuse ingestion schema (contract §2.4). Unknown keys are stripped
 * (plain `z.object`); the order of each shape is the key order of the output.
 */
import { z } from "zod";
import {
  DEFER,
  fastPath,
  idSchema,
  isPlainRecord,
  jsonSchema,
  NonEmptyString,
  ObservationLevel,
  stringDateTime,
  utf16String,
} from "./primitives.js";
import { costDetails, usage, usageDetails } from "./usage.js";

// ---------------------------------------------------------------------------------------------
// modelParameters
// ---------------------------------------------------------------------------------------------

function isStringArray(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== "string") return false;
  return true;
}

function isStringRecord(value: unknown): boolean {
  if (!isPlainRecord(value)) return false;
  for (const key in value) {
    if (key === "__proto__" || typeof value[key] !== "string") return false;
  }
  return true;
}

function isScalarParameter(value: unknown): boolean {
  return (
    value === null ||
    typeof value === "string" ||
    typeof value === "boolean" ||
    (typeof value === "number" && Number.isFinite(value))
  );
}

/** A plain record whose values all pass `valueOk` and has no `__proto__` key is returned as is. */
function fastRecord(valueOk: (value: unknown) => boolean) {
  return (value: unknown): Record<string, unknown> | typeof DEFER => {
    if (!isPlainRecord(value)) return DEFER;
    for (const key in value) {
      if (key === "__proto__" || !valueOk(value[key])) return DEFER;
    }
    return value;
  };
}

const modelParameterValueReference = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.array(z.string()),
  z.record(z.string(), z.string()),
  z.null(),
]);

/** Modern bodies: `record<string, string | number | boolean | string[] | record<string,string> | null>`. */
export const modelParametersReference = z.record(z.string(), modelParameterValueReference);
const modelParameters = fastPath(
  modelParametersReference,
  fastRecord((v) => isScalarParameter(v) || isStringArray(v) || isStringRecord(v)),
).nullish();

/** Legacy observation bodies: `record<string, string | number | boolean | null>`. */
export const legacyModelParametersReference = z.record(
  z.string(),
  z.union([z.string(), z.number(), z.boolean(), z.null()]),
);
const legacyModelParameters = fastPath(legacyModelParametersReference, fastRecord(isScalarParameter)).nullish();

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

const stringNullish = z.string().nullish();
const anyNullish = z.any().nullish();
const jsonNullish = jsonSchema.nullish();

export const TEXT_SCORE_MAX_LENGTH = 500;
export const BOOLEAN_SCORE_MESSAGE = "Value must be a number equal to either 0 or 1 for data type BOOLEAN";
export const SCORE_TARGET_MESSAGE =
  "Provide exactly one of the following: traceId (with optional observationId), sessionId or datasetRunId. ObservationId requires traceId.";
export const DATASET_RUN_ITEM_PUBLIC_MESSAGE = "Dataset run item creation is only allowed for internal usage";

/** Both truthy or both falsy; `promptVersion: 0` counts as falsy. */
function promptPairOk(body: { promptName?: string | null; promptVersion?: number | null }): boolean {
  return !body.promptName === !body.promptVersion;
}

interface ScoreTarget {
  traceId?: string | null;
  sessionId?: string | null;
  datasetRunId?: string | null;
  observationId?: string | null;
}

/**
 * Exactly one of these holds: traceId (observationId optional); sessionId without observationId;
 * datasetRunId without observationId. "Present" means truthy, so an empty string counts as absent.
 */
function scoreTargetOk(body: ScoreTarget): boolean {
  const noObservation = !body.observationId;
  let holding = 0;
  if (body.traceId) holding++;
  if (body.sessionId && noObservation) holding++;
  if (body.datasetRunId && noObservation) holding++;
  return holding === 1;
}

/** Every body schema, for one environment rule (public or internal). */
export function createBodies(environment: z.ZodType<string>) {
  const TraceBody = z.object({
    id: idSchema.nullish(),
    timestamp: stringDateTime,
    name: utf16String({ max: 1000 }).nullish(),
    externalId: stringNullish,
    input: anyNullish,
    output: anyNullish,
    sessionId: stringNullish,
    userId: stringNullish,
    environment,
    metadata: jsonNullish,
    release: stringNullish,
    version: stringNullish,
    public: z.boolean().nullish(),
    tags: z.array(z.string()).nullish(),
  });

  const OptionalObservationBody = z.object({
    traceId: idSchema.nullish(),
    environment,
    name: stringNullish,
    startTime: stringDateTime,
    metadata: jsonNullish,
    input: anyNullish,
    output: anyNullish,
    level: ObservationLevel.nullish(),
    statusMessage: stringNullish,
    parentObservationId: stringNullish,
    version: stringNullish,
  });

  // Create and update variants share one definition each.
  const CreateEventBody = OptionalObservationBody.extend({ id: idSchema });
  const CreateSpanBody = CreateEventBody.extend({ endTime: stringDateTime });
  const UpdateSpanBody = CreateSpanBody;

  const generationFields = {
    completionStartTime: stringDateTime,
    model: stringNullish,
    modelParameters,
    usage,
    usageDetails,
    costDetails,
    promptName: stringNullish,
    promptVersion: z.number().int().nullish(),
  };
  // The refine fails with zod's default message ("Invalid input") at the body's own path.
  const CreateGenerationBody = CreateSpanBody.extend(generationFields).refine(promptPairOk);
  const UpdateGenerationBody = CreateGenerationBody;

  const baseScore = {
    id: idSchema.nullish(),
    name: NonEmptyString,
    traceId: stringNullish,
    sessionId: stringNullish,
    datasetRunId: stringNullish,
    observationId: stringNullish,
    environment,
    comment: stringNullish,
    metadata: jsonNullish,
    source: z.enum(["API", "EVAL", "ANNOTATION"]).default("API"),
    executionTraceId: stringNullish,
    queueId: stringNullish,
  };
  const configId = stringNullish;
  const ScoreBody = z
    .discriminatedUnion("dataType", [
      z.object({ ...baseScore, dataType: z.literal("NUMERIC"), value: z.number(), configId }),
      z.object({ ...baseScore, dataType: z.literal("CATEGORICAL"), value: z.string(), configId }),
      z.object({
        ...baseScore,
        dataType: z.literal("BOOLEAN"),
        value: z.number().refine((v) => v === 0 || v === 1, { message: BOOLEAN_SCORE_MESSAGE }),
        configId,
      }),
      z.object({ ...baseScore, dataType: z.literal("CORRECTION"), value: z.string(), configId: z.null().optional() }),
      z.object({
        ...baseScore,
        dataType: z.literal("TEXT"),
        value: utf16String({ min: 1, max: TEXT_SCORE_MAX_LENGTH }),
        configId,
      }),
      // No dataType: zod 4.6 needs the explicit `.optional()` to let the key be absent.
      z.object({
        ...baseScore,
        dataType: z.undefined().optional(),
        value: z.union([z.string(), z.number()]),
        configId,
      }),
    ])
    .refine(scoreTargetOk, { message: SCORE_TARGET_MESSAGE });

  const LegacyObservationBody = z.object({
    id: idSchema.nullish(),
    traceId: idSchema.nullish(),
    type: z.enum(["GENERATION", "SPAN", "EVENT"]),
    name: stringNullish,
    startTime: stringDateTime,
    endTime: stringDateTime,
    completionStartTime: stringDateTime,
    model: stringNullish,
    modelParameters: legacyModelParameters,
    input: jsonNullish,
    output: jsonNullish,
    metadata: jsonNullish,
    usage,
    usageDetails,
    costDetails,
    parentObservationId: stringNullish,
    level: ObservationLevel.nullish(),
    statusMessage: stringNullish,
    version: stringNullish,
  });

  const SdkLogBody = z.object({
    log: jsonSchema,
    id: stringNullish,
  });

  const DatasetRunItemBody = z.object({
    id: idSchema.nullish(),
    traceId: z.string(),
    observationId: stringNullish,
    error: stringNullish,
    createdAt: stringDateTime,
    datasetId: z.string(),
    runId: z.string(),
    datasetItemId: z.string(),
    datasetVersion: stringDateTime.optional(),
  });
  const PublicDatasetRunItemBody = DatasetRunItemBody.refine(() => false, {
    message: DATASET_RUN_ITEM_PUBLIC_MESSAGE,
  });

  return {
    TraceBody,
    CreateEventBody,
    CreateSpanBody,
    UpdateSpanBody,
    CreateGenerationBody,
    UpdateGenerationBody,
    ScoreBody,
    LegacyObservationBody,
    SdkLogBody,
    DatasetRunItemBody,
    PublicDatasetRunItemBody,
  };
}
