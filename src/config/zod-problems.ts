import type { z } from "zod";
import type { ConfigProblem } from "./problems.js";
import { didYouMean } from "./suggest.js";

interface ZodDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
}

function defOf(schema: z.ZodType): ZodDef {
  return (schema as unknown as { _zod: { def: ZodDef } })._zod.def;
}

/** The keys an object schema at `path` accepts, looking through defaults, optionals and pipes. */
export function knownKeysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  let current: z.ZodType | undefined = schema;
  let index = 0;
  for (let guard = 0; current !== undefined && guard < 100; guard += 1) {
    const def = defOf(current);
    if (index === path.length && def.type === "object") return Object.keys(def.shape ?? {});
    switch (def.type) {
      case "optional":
      case "nullable":
      case "default":
      case "prefault":
      case "readonly":
      case "catch":
        current = def.innerType;
        continue;
      case "pipe":
        current = defOf(def.in!).type === "transform" ? def.out : def.in;
        continue;
      case "object":
        current = def.shape?.[String(path[index])];
        index += 1;
        continue;
      case "array":
        current = def.element;
        index += 1;
        continue;
      case "record":
        current = def.valueType;
        index += 1;
        continue;
      case "union":
        current = def.options?.find((option) => defOf(option).type !== "literal");
        continue;
      default:
        return [];
    }
  }
  return [];
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && /received undefined/.test(issue.message)) return `required (${issue.message.replace(/^Invalid input: /, "")})`;
  return issue.message;
}

/** Zod issues as config problems under `basePath`; unknown keys get a "did you mean". */
export function zodProblems(error: z.ZodError, schema: z.ZodType, basePath: ReadonlyArray<string | number>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map((part) => (typeof part === "number" ? part : String(part)));
    if (issue.code === "unrecognized_keys") {
      const candidates = knownKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        problems.push({ path: [...basePath, ...path, key], message: `unknown key "${key}"${didYouMean(key, candidates)}`, atKey: true });
      }
      continue;
    }
    problems.push({ path: [...basePath, ...path], message: describe(issue) });
  }
  return problems;
}
