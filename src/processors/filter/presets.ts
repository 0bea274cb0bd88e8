/**
 * The span export filters Langfuse's SDKs apply by default (facts from their source, see
 * docs/privacy.md): a span is exported when its scope is `langfuse-sdk`, when it has a GenAI
 * attribute, or when its scope is a known LLM instrumentation. The JS SDK (v5.4) and the Python
 * SDK (v4.7) differ in three details; `langfuse_sdk_default` keeps what either would.
 */

const INSTRUMENTATION = "opentelemetry.instrumentation.";

const JS_SCOPES = [
  "langfuse-sdk",
  "agent_framework",
  "ai",
  "haystack",
  "langsmith",
  "litellm",
  "openinference",
  "strands-agents",
  "vllm",
  ...["anthropic", "aws_bedrock", "bedrock", "gemini", "google_genai", "google_generativeai", "openai", "openai_v2", "vertex_ai", "vertexai"].map((name) => INSTRUMENTATION + name),
];

const PYTHON_SCOPES = [
  "langfuse-sdk",
  "agent_framework",
  "autogen-core",
  "ai",
  "haystack",
  "langsmith",
  "litellm",
  "openinference",
  "pydantic-ai",
  "strands-agents",
  "vllm",
  ...[
    "agno",
    "alephalpha",
    "anthropic",
    "bedrock",
    "cohere",
    "crewai",
    "google_generativeai",
    "groq",
    "haystack",
    "langchain",
    "llamaindex",
    "mistralai",
    "ollama",
    "openai",
    "openai_agents",
    "openai_v2",
    "replicate",
    "sagemaker",
    "together",
    "transformers",
    "vertexai",
    "voyageai",
    "watsonx",
    "writer",
  ].map((name) => INSTRUMENTATION + name),
];

export const PRESET_NAMES = ["langfuse_sdk_default", "langfuse_js_sdk_default", "langfuse_python_sdk_default"] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** What a preset reads of a span: its scope's name and its attribute keys. */
export type PresetTest = (scopeName: string | undefined, attributeKeys: () => Iterable<string>) => boolean;

interface SdkRule {
  scopes: readonly string[];
  /** Scopes that match only exactly, never as a dotted prefix. */
  exactOnly: ReadonlySet<string>;
  genAiPrefix: string;
}

const JS: SdkRule = { scopes: JS_SCOPES, exactOnly: new Set(["ai"]), genAiPrefix: "gen_ai." };
const PYTHON: SdkRule = { scopes: PYTHON_SCOPES, exactOnly: new Set(), genAiPrefix: "gen_ai" };
// Either SDK's: Python's wider tests (no dot after gen_ai, `ai.*`) and both lists.
const EITHER: SdkRule = { scopes: [...new Set([...JS_SCOPES, ...PYTHON_SCOPES])], exactOnly: new Set(), genAiPrefix: "gen_ai" };

function testOf(rule: SdkRule): PresetTest {
  const exact = new Set(rule.scopes);
  const prefixes = rule.scopes.filter((scope) => !rule.exactOnly.has(scope)).map((scope) => `${scope}.`);
  return (scopeName, attributeKeys) => {
    if (scopeName !== undefined && (exact.has(scopeName) || prefixes.some((prefix) => scopeName.startsWith(prefix)))) return true;
    for (const key of attributeKeys()) if (key.startsWith(rule.genAiPrefix)) return true;
    return false;
  };
}

export const PRESETS: Record<PresetName, PresetTest> = {
  langfuse_sdk_default: testOf(EITHER),
  langfuse_js_sdk_default: testOf(JS),
  langfuse_python_sdk_default: testOf(PYTHON),
};
