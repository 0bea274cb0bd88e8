/**
 * `usage`, `usageDetails` and `costDetails` of observation bodies (contract §2.5).
 */
import { z } from "zod";
import { DEFER, type Defer, fastPath, isPlainRecord } from "./primitives.js";

// ---------------------------------------------------------------------------------------------
// usage (the legacy usage object)
// ---------------------------------------------------------------------------------------------

const int = z.number().int();
const UsageUnit = z.enum(["CHARACTERS", "TOKENS", "SECONDS", "MILLISECONDS", "IMAGES", "REQUESTS"]);

/** What clients may send: Langfuse's own keys plus the OpenAI-style camelCase token counts. */
const MixedUsage = z.object({
  input: int.nullish(),
  output: int.nullish(),
  total: int.nullish(),
  unit: UsageUnit.nullish(),
  promptTokens: int.nullish(),
  completionTokens: int.nullish(),
  totalTokens: int.nullish(),
  inputCost: z.number().nullish(),
  outputCost: z.number().nullish(),
  totalCost: z.number().nullish(),
});

/** What is stored; its shape fixes the key order of the output. */
const Usage = z.object({
  input: int.nullish(),
  output: int.nullish(),
  total: int.nullish(),
  unit: UsageUnit.nullish(),
  inputCost: z.number().nullish(),
  outputCost: z.number().nullish(),
  totalCost: z.number().nullish(),
});

type MixedUsageValue = z.output<typeof MixedUsage>;

function toUsage(value: MixedUsageValue | null | undefined): unknown {
  if (!value) return null;
  if ("promptTokens" in value || "completionTokens" in value || "totalTokens" in value) {
    return { input: value.promptTokens, output: value.completionTokens, total: value.totalTokens, unit: "TOKENS" };
  }
  if (Object.keys(value).length === 0) return undefined;
  return value;
}

/**
 * Falsy (an absent key too) → null, which is written out as `"usage": null`; OpenAI keys →
 * `{input, output, total, unit: "TOKENS"}`; `{}` → omitted; then validated against `Usage`.
 * The trailing identity transform makes the field not optional on output, so that zod 4.6 keeps
 * the null produced for an absent key (zod 4.3.6 did so for the plain pipe).
 */
export const usage = MixedUsage.nullish()
  .transform(toUsage)
  .pipe(Usage.nullish())
  .transform((value) => value);

// ---------------------------------------------------------------------------------------------
// usageDetails
// ---------------------------------------------------------------------------------------------

const nonNegativeInt = z.number().int().nonnegative();
const tokenDetails = z.record(z.string(), nonNegativeInt.nullish()).nullish();

type TokenDetails = Record<string, number | null | undefined> | null | undefined;

/** `{input, output, total}` plus `input_<k>` / `output_<k>` per detail, subtracted (≥0) from input / output. */
function flattenOpenAiUsage(
  input: number,
  output: number,
  total: number,
  inputDetails: TokenDetails,
  outputDetails: TokenDetails,
): Record<string, number> {
  const result: Record<string, number> = { input, output, total };
  if (inputDetails) {
    for (const [key, value] of Object.entries(inputDetails)) {
      if (value === null || value === undefined) continue;
      result[`input_${key}`] = value;
      result.input = Math.max(0, (result.input as number) - value);
    }
  }
  if (outputDetails) {
    for (const [key, value] of Object.entries(outputDetails)) {
      if (value === null || value === undefined) continue;
      result[`output_${key}`] = value;
      result.output = Math.max(0, (result.output as number) - value);
    }
  }
  return result;
}

const OpenAiChatUsage = z
  .strictObject({
    prompt_tokens: nonNegativeInt,
    completion_tokens: nonNegativeInt,
    total_tokens: nonNegativeInt,
    prompt_tokens_details: tokenDetails,
    completion_tokens_details: tokenDetails,
  })
  .transform((v) =>
    flattenOpenAiUsage(
      v.prompt_tokens,
      v.completion_tokens,
      v.total_tokens,
      v.prompt_tokens_details,
      v.completion_tokens_details,
    ),
  );

const OpenAiResponsesUsage = z
  .strictObject({
    input_tokens: nonNegativeInt,
    output_tokens: nonNegativeInt,
    total_tokens: nonNegativeInt,
    input_tokens_details: tokenDetails,
    output_tokens_details: tokenDetails,
  })
  .transform((v) =>
    flattenOpenAiUsage(v.input_tokens, v.output_tokens, v.total_tokens, v.input_tokens_details, v.output_tokens_details),
  );

/** Keeps non-negative integers and strings that parseInt to ≥0 (as that number); `{}` → undefined. */
function keepUsageCounts(record: Record<string, unknown>): Record<string, number> | undefined {
  const result: Record<string, number> = {};
  let kept = 0;
  for (const key in record) {
    if (key === "__proto__") continue;
    const value = record[key];
    if (typeof value === "number") {
      if (Number.isInteger(value) && value >= 0) {
        result[key] = value;
        kept++;
      }
    } else if (typeof value === "string") {
      const parsed = Number.parseInt(value);
      if (parsed >= 0) {
        result[key] = parsed;
        kept++;
      }
    }
  }
  return kept > 0 ? result : undefined;
}

const RawUsageDetails = z.record(z.string(), z.unknown()).transform(keepUsageCounts);

/** Reference definition: the first of OpenAI Chat (strict), OpenAI Responses (strict), raw counts. */
export const usageDetailsReference = z.union([OpenAiChatUsage, OpenAiResponsesUsage, RawUsageDetails]);

/**
 * Both strict OpenAI shapes require their first token count (`prompt_tokens` / `input_tokens`),
 * so a plain object without either can only be the raw rule.
 */
function fastUsageDetails(value: unknown): Record<string, number> | undefined | Defer {
  if (!isPlainRecord(value) || value.prompt_tokens !== undefined || value.input_tokens !== undefined) return DEFER;
  return keepUsageCounts(value);
}

export const usageDetails = fastPath(usageDetailsReference, fastUsageDetails).nullish();

// ---------------------------------------------------------------------------------------------
// costDetails
// ---------------------------------------------------------------------------------------------

/** Keeps numbers that are not NaN and are ≥0; `{}` → undefined. */
function keepCosts(record: Record<string, unknown>): Record<string, number> | undefined {
  const result: Record<string, number> = {};
  let kept = 0;
  for (const key in record) {
    if (key === "__proto__") continue;
    const value = record[key];
    if (typeof value === "number" && value >= 0) {
      result[key] = value;
      kept++;
    }
  }
  return kept > 0 ? result : undefined;
}

export const costDetailsReference = z.record(z.string(), z.unknown()).transform(keepCosts);

export const costDetails = fastPath(costDetailsReference, (value) =>
  isPlainRecord(value) ? keepCosts(value) : DEFER,
).nullish();
