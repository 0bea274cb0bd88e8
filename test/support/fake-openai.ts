import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A small fake of the OpenAI HTTP API on 127.0.0.1 (free port), for pointing the real `openai`
 * client at: `new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: "sk-test" })`.
 *
 * - `POST /v1/chat/completions`: a plain JSON completion; a tool call when the request offers
 *   tools and the last message is the user's; SSE chunks when `stream: true` (a final usage chunk
 *   when `stream_options.include_usage` is set).
 * - `POST /v1/embeddings`: float lists, or base64 float32 (the openai client's default).
 *
 * Everything is canned and deterministic except the response ids, which count up per server.
 * Token counts are the constants below, so tests can state exact expectations.
 */

/** The `created` timestamp of every response (2025-01-01T00:00:00Z). */
export const FAKE_CREATED = 1_735_689_600;
export const FAKE_SYSTEM_FINGERPRINT = "fp_f4ke0penai";

/** Request model → the dated snapshot the API answers with (unknown models are echoed). */
export const FAKE_RESPONSE_MODELS: Readonly<Record<string, string>> = {
  "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
  "gpt-4o": "gpt-4o-2024-08-06",
  "text-embedding-3-small": "text-embedding-3-small",
};

export const FAKE_TEXT_REPLY = "Hello! I am a fake assistant.";
/** The text reply as the stream sends it, one delta per element. */
export const FAKE_TEXT_REPLY_CHUNKS: readonly string[] = ["Hello", "!", " I am", " a fake", " assistant", "."];
/** The canned arguments of a tool call (for a tool whose first parameter is `city`). */
export const FAKE_TOOL_ARGUMENTS = '{"city":"Paris"}';
/** The answer after a tool result: this prefix plus the tool message's content. */
export const FAKE_TOOL_ANSWER_PREFIX = "According to the tool: ";

/**
 * Usage of every response kind: `prompt_tokens_details.cached_tokens` is part of `prompt_tokens`,
 * as in the real API (cached prefixes come in 128-token steps from 1024 on).
 */
export const FAKE_USAGE = {
  text: { prompt_tokens: 1200, completion_tokens: 9, cached_tokens: 1024 },
  toolCall: { prompt_tokens: 1310, completion_tokens: 17, cached_tokens: 1152 },
  toolAnswer: { prompt_tokens: 1345, completion_tokens: 11, cached_tokens: 1280 },
  embedding: { prompt_tokens: 8 },
} as const;

/** The embedding dimensions the fake returns (real models return 1536+; tests need few). */
export const FAKE_EMBEDDING_DIMENSIONS = 4;

/** A deterministic unit-ish vector for input `index`. */
export function fakeEmbedding(index: number): number[] {
  return Array.from({ length: FAKE_EMBEDDING_DIMENSIONS }, (_, i) => Math.round(((index + 1) * (i + 1) * 0.125) * 1000) / 1000);
}

export interface FakeRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: Record<string, unknown>;
}

type Json = Record<string, unknown>;
type ChatMessage = { role?: unknown; content?: unknown; tool_call_id?: unknown };
type Tool = { type?: unknown; function?: { name?: unknown; parameters?: { properties?: Record<string, unknown>; required?: unknown } } };

function usageBlock(usage: { prompt_tokens: number; completion_tokens: number; cached_tokens: number }): Json {
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.prompt_tokens + usage.completion_tokens,
    prompt_tokens_details: { cached_tokens: usage.cached_tokens, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((part) => (part !== null && typeof part === "object" && "text" in part ? String(part.text) : "")).join("");
  }
  return "";
}

/** What the fake answers to a chat request. */
type ChatPlan =
  | { kind: "text"; content: string; usage: (typeof FAKE_USAGE)["text" | "toolAnswer"] }
  | { kind: "toolCall"; name: string; arguments: string; usage: (typeof FAKE_USAGE)["toolCall"] };

function planChat(body: Json): ChatPlan {
  const messages = Array.isArray(body.messages) ? (body.messages as ChatMessage[]) : [];
  const last = messages.at(-1);
  const tools = Array.isArray(body.tools) ? (body.tools as Tool[]) : [];
  const firstFunction = tools.find((tool) => tool.type === "function" && typeof tool.function?.name === "string");
  if (last?.role === "user" && firstFunction !== undefined && body.tool_choice !== "none") {
    const parameters = firstFunction.function?.parameters;
    const required = Array.isArray(parameters?.required) ? (parameters.required as unknown[]) : [];
    const firstParameter = required[0] ?? Object.keys(parameters?.properties ?? {})[0];
    const args = firstParameter === undefined ? "{}" : firstParameter === "city" ? FAKE_TOOL_ARGUMENTS : JSON.stringify({ [String(firstParameter)]: "Paris" });
    return { kind: "toolCall", name: String(firstFunction.function!.name), arguments: args, usage: FAKE_USAGE.toolCall };
  }
  if (last?.role === "tool") {
    return { kind: "text", content: `${FAKE_TOOL_ANSWER_PREFIX}${textOf(last.content)}`, usage: FAKE_USAGE.toolAnswer };
  }
  return { kind: "text", content: FAKE_TEXT_REPLY, usage: FAKE_USAGE.text };
}

export async function startFakeOpenAI() {
  const requests: FakeRequest[] = [];
  let sequence = 0;
  /** Ids shaped like the API's (`chatcmpl-…`, `call_…`, `req_…`), counting up per server. */
  const nextId = (prefix: string): string => `${prefix}fake${String(++sequence).padStart(6, "0")}`;

  function sendJson(response: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    response.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      "x-request-id": nextId("req_"),
      "openai-processing-ms": "1",
    });
    response.end(text);
  }

  function sendError(response: ServerResponse, status: number, message: string, type = "invalid_request_error"): void {
    sendJson(response, status, { error: { message, type, param: null, code: null } });
  }

  function chatCompletion(body: Json, response: ServerResponse): void {
    const requestModel = String(body.model);
    const model = FAKE_RESPONSE_MODELS[requestModel] ?? requestModel;
    const plan = planChat(body);
    const id = nextId("chatcmpl-");

    if (body.stream === true) {
      streamChatCompletion(body, response, id, model, plan);
      return;
    }
    const message: Json =
      plan.kind === "text"
        ? { role: "assistant", content: plan.content, refusal: null, annotations: [] }
        : {
            role: "assistant",
            content: null,
            tool_calls: [{ id: nextId("call_"), type: "function", function: { name: plan.name, arguments: plan.arguments } }],
            refusal: null,
            annotations: [],
          };
    sendJson(response, 200, {
      id,
      object: "chat.completion",
      created: FAKE_CREATED,
      model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: plan.kind === "text" ? "stop" : "tool_calls" }],
      usage: usageBlock(plan.usage),
      service_tier: "default",
      system_fingerprint: FAKE_SYSTEM_FINGERPRINT,
    });
  }

  function streamChatCompletion(body: Json, response: ServerResponse, id: string, model: string, plan: ChatPlan): void {
    const options = body.stream_options as { include_usage?: unknown } | undefined;
    const includeUsage = options?.include_usage === true;
    response.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-request-id": nextId("req_") });
    const chunk = (choices: unknown[], extra: Json = {}): void => {
      const data: Json = { id, object: "chat.completion.chunk", created: FAKE_CREATED, model, service_tier: "default", system_fingerprint: FAKE_SYSTEM_FINGERPRINT, choices, ...extra };
      // With include_usage, every chunk but the last carries `usage: null`, as the API does.
      if (includeUsage && !("usage" in data)) data.usage = null;
      response.write(`data: ${JSON.stringify(data)}\n\n`);
    };
    const delta = (value: Json, finishReason: string | null = null): unknown[] => [{ index: 0, delta: value, logprobs: null, finish_reason: finishReason }];

    if (plan.kind === "text") {
      chunk(delta({ role: "assistant", content: "", refusal: null }));
      const pieces = plan.content === FAKE_TEXT_REPLY ? FAKE_TEXT_REPLY_CHUNKS : [plan.content];
      for (const piece of pieces) chunk(delta({ content: piece }));
      chunk(delta({}, "stop"));
    } else {
      const callId = nextId("call_");
      chunk(delta({ role: "assistant", content: null, tool_calls: [{ index: 0, id: callId, type: "function", function: { name: plan.name, arguments: "" } }], refusal: null }));
      const middle = Math.floor(plan.arguments.length / 2);
      for (const piece of [plan.arguments.slice(0, middle), plan.arguments.slice(middle)]) {
        chunk(delta({ tool_calls: [{ index: 0, function: { arguments: piece } }] }));
      }
      chunk(delta({}, "tool_calls"));
    }
    if (includeUsage) chunk([], { usage: usageBlock(plan.usage) });
    response.end("data: [DONE]\n\n");
  }

  function embeddings(body: Json, response: ServerResponse): void {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    const requestModel = String(body.model);
    const base64 = body.encoding_format === "base64";
    sendJson(response, 200, {
      object: "list",
      data: inputs.map((_, index) => {
        const vector = fakeEmbedding(index);
        return { object: "embedding", index, embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector };
      }),
      model: FAKE_RESPONSE_MODELS[requestModel] ?? requestModel,
      usage: { prompt_tokens: FAKE_USAGE.embedding.prompt_tokens * inputs.length, total_tokens: FAKE_USAGE.embedding.prompt_tokens * inputs.length },
    });
  }

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const path = (request.url ?? "/").split("?")[0]!;
      let body: Json = {};
      if (chunks.length > 0) {
        try {
          const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
          body = parsed as Json;
        } catch {
          sendError(response, 400, "We could not parse the JSON body of your request.");
          return;
        }
      }
      requests.push({ method: request.method ?? "", path, headers: request.headers, body });
      if (request.method !== "POST") {
        sendError(response, 405, `Method ${request.method} not allowed.`);
      } else if (!/^Bearer \S+$/.test(request.headers.authorization ?? "")) {
        sendError(response, 401, "You didn't provide an API key.", "invalid_request_error");
      } else if (typeof body.model !== "string") {
        sendError(response, 400, "you must provide a model parameter");
      } else if (path === "/v1/chat/completions") {
        if (!Array.isArray(body.messages)) sendError(response, 400, "Missing required parameter: 'messages'.");
        else chatCompletion(body, response);
      } else if (path === "/v1/embeddings") {
        if (body.input === undefined) sendError(response, 400, "Missing required parameter: 'input'.");
        else embeddings(body, response);
      } else {
        sendError(response, 404, `Invalid URL (${request.method} ${path})`);
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  async function close(): Promise<void> {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  }

  return { url: `http://127.0.0.1:${port}`, requests, close };
}

export type FakeOpenAI = Awaited<ReturnType<typeof startFakeOpenAI>>;
