#pragma once
// Response bodies of the OpenAI and Ollama APIs, and their streaming framing: Server-Sent
// Events for OpenAI (`data: {json}\n\n` ... `data: [DONE]\n\n`), newline-delimited JSON for
// Ollama. Pure functions, so the exact bytes are unit-tested.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve/request.h"

namespace hearth::serve {

using ordered_json = nlohmann::ordered_json;

// JSON text that never throws on invalid UTF-8 (a model may emit any bytes): replaced by U+FFFD.
std::string dump_json(const ordered_json& j);
// One SSE event carrying `j`, and the terminating event.
std::string sse_event(const ordered_json& j);
std::string sse_done();
// One NDJSON line.
std::string ndjson_line(const ordered_json& j);

// Error bodies: OpenAI's {"error": {"message", "type", "code"}} and Ollama's {"error": "..."}.
ordered_json openai_error(const std::string& message, const std::string& type, const std::string& code);
ordered_json ollama_error(const std::string& message);

// What a finished generation reports.
struct Usage {
    int prompt_tokens = 0;      // the whole prompt (OpenAI), cached tokens included
    int completion_tokens = 0;
    int cached_tokens = 0;      // prompt tokens taken from the prompt cache, not evaluated
    int evaluated_prompt_tokens() const { return prompt_tokens - cached_tokens; }  // Ollama's prompt_eval_count
};
struct Timings {  // nanoseconds, for Ollama
    int64_t total = 0, load = 0, prompt_eval = 0, eval = 0;
};

// Identity of one response (the same in all its chunks).
struct ResponseMeta {
    std::string id;       // "chatcmpl-..." / "cmpl-..."
    std::string model;
    int64_t created = 0;  // Unix seconds
};

ordered_json usage_json(const Usage& u);

// A chat reply read by chat::ReplyStream: the answer, the reasoning, and tool calls.
struct ToolCall {
    std::string id;         // "" : "call_<response id>_<index>"
    std::string name;
    std::string arguments;  // as the model wrote them (a JSON text when it behaves)
};
struct ChatReply {
    std::string content;
    std::string thinking;
    std::vector<ToolCall> tool_calls;
};

// OpenAI /v1/chat/completions: message.content, message.reasoning_content (when there is
// reasoning) and message.tool_calls (when there are calls; ids "call_<id>_<i>").
ordered_json chat_completion(const ResponseMeta& m, const ChatReply& reply, const std::string& finish, const Usage& u);
// A chunk: `role` is sent in the first one, `content` when non-null, finish_reason in the last;
// `reasoning` as delta.reasoning_content, `calls` as whole delta.tool_calls (index from `first_call`).
ordered_json chat_chunk(const ResponseMeta& m, const std::string* role, const std::string* content,
                        const std::string* finish, bool with_usage_null, const std::string* reasoning = nullptr,
                        const std::vector<ToolCall>* calls = nullptr, size_t first_call = 0);
// The usage-only chunk (choices: []) sent last with stream_options.include_usage.
ordered_json usage_chunk(const ResponseMeta& m, const std::string& object, const Usage& u);

// OpenAI /v1/completions.
ordered_json text_completion(const ResponseMeta& m, const std::string& text, const std::string& finish, const Usage& u);
ordered_json text_chunk(const ResponseMeta& m, const std::string& text, const std::string* finish, bool with_usage_null);

// Ollama /api/generate and /api/chat: a streamed piece, and the final object (done: true).
// `created_at` is RFC 3339. Reasoning goes in message.thinking (chat) or `thinking` (generate),
// tool calls in message.tool_calls with the arguments as an object (a string if not JSON).
ordered_json ollama_piece(Api api, const std::string& model, const std::string& created_at, const ChatReply& part);
ordered_json ollama_final(Api api, const std::string& model, const std::string& created_at, const ChatReply& reply,
                          const std::string& done_reason, const Usage& u, const Timings& t);

// One generated token's log-probability with the likeliest alternatives, as text (the bytes
// each token stands for).
struct LogprobEntry {
    std::string token;
    float logprob = 0;
    std::vector<std::pair<std::string, float>> top;
};
// OpenAI chat `choices[].logprobs`: {"content": [{"token", "logprob", "bytes", "top_logprobs"}],
// "refusal": null}.
ordered_json chat_logprobs(const std::vector<LogprobEntry>& entries);
// OpenAI completions `choices[].logprobs`: {"tokens", "token_logprobs", "top_logprobs" (one
// {token: logprob} object per token), "text_offset"}; offsets count bytes of the completion
// text from `first_offset`.
ordered_json completion_logprobs(const std::vector<LogprobEntry>& entries, size_t first_offset);

// Time as RFC 3339 with nanoseconds, UTC ("2026-11-22T04:21:25.123456789Z").
std::string rfc3339_now();
std::string rfc3339(std::chrono::system_clock::time_point t);

}  // namespace hearth::serve
