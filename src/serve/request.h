#pragma once
// Request bodies of the OpenAI and Ollama APIs -> one validated GenerationRequest. Pure
// functions (no model, no sockets) so they can be unit-tested and fuzzed: anything wrong in a
// body becomes an ApiError with the HTTP status and the OpenAI error type/code to answer with.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "sample/sampler.h"
#include "serve/keep_alive.h"

namespace hearth::serve {

enum class Api { OpenAIChat, OpenAICompletion, OllamaGenerate, OllamaChat };
// OpenAI's tool_choice. Required and Named are enforced with a grammar where the model family's
// call syntax is plain text (serve/tool_grammar.h), and asked of the model in the prompt otherwise.
enum class ToolChoice { Auto, None, Required, Named };
bool is_ollama(Api api);

// An error to answer with: status 4xx/5xx, OpenAI's `type` and `code` (Ollama routes send
// just the message). A hearth::Error like every other error of the library; catch it before
// hearth::Error where the status matters.
struct ApiError : Error {
    ApiError(int status, std::string message, std::string type = "invalid_request_error", std::string code = "")
        : Error(message), status(status), type(std::move(type)), code(std::move(code)) {}
    int status;
    std::string type;
    std::string code;
};

struct GenerationRequest {
    Api api = Api::OpenAIChat;
    std::string model;  // as sent; "" when absent
    std::optional<KeepAlive> keep_alive;  // Ollama's keep_alive (any route); nullopt: the server's default
    // Chat APIs: the validated messages ({"role", "content": string} objects, content parts joined;
    // assistant "tool_calls" with "arguments" as an object, as Hugging Face templates expect;
    // tool messages with "tool_call_id" and "name").
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    // Chat APIs: the validated `tools` ([{"type": "function", "function": {"name", ...}}]; null
    // when none), OpenAI's `tool_choice` (the function's name when Named) and `parallel_tool_calls`.
    nlohmann::ordered_json tools;
    ToolChoice tool_choice = ToolChoice::Auto;
    std::string tool_choice_name;
    bool parallel_tool_calls = true;
    // Ollama chat: empty `messages` (or none) is a request to load or unload the model.
    // Completion APIs: the prompt text. OllamaGenerate: `system` and `raw` (no chat template).
    std::string prompt;
    std::string system;
    bool raw = false;

    bool stream = false;
    bool include_usage = false;  // OpenAI stream_options.include_usage
    int n_predict = -1;          // -1: until end of generation or the context is full
    int num_ctx = 0;             // Ollama options.num_ctx (0: not given)
    SamplingParams sampling;
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    std::vector<std::string> stop;
    // OpenAI log-probabilities: -1 none; otherwise each generated token's and this many
    // alternatives (chat: `logprobs: true` + `top_logprobs` 0..20; completions: `logprobs` 0..5).
    int top_logprobs = -1;
    // Reasoning: Ollama's `think` (true / false, or "low" / "medium" / "high"), OpenAI's
    // `reasoning_effort`. false asks the template to switch thinking off (enable_thinking) and
    // leaves any thinking out of the answer; unset: the model's default, returned separately.
    std::optional<bool> think;
    std::string reasoning_effort;  // "" or low / medium / high (the gpt-oss template reads it)
    // Structured output: the GBNF the reply must follow ("": free text). From OpenAI's
    // `response_format` (json_object, json_schema), Ollama's `format` ("json" or a schema), or
    // llama.cpp server's `grammar` / `json_schema`. A schema that cannot be compiled is a 400.
    std::string grammar;
    // llama.cpp server's `chat_template_kwargs`: extra template variables.
    nlohmann::ordered_json template_kwargs = nlohmann::ordered_json::object();
};

// Largest limits a request may ask for.
inline constexpr int kMaxStopStrings = 16;
inline constexpr size_t kMaxStopLength = 256;
inline constexpr int64_t kMaxPredict = 1 << 20;

// Parses and validates `body` for `api`; sampling values the body does not set come from
// `defaults` (the server's flags, llama.cpp's defaults unless changed). Throws ApiError (status 400) for malformed JSON, a
// body that is not an object, wrong field types and out-of-range values.
GenerationRequest parse_generation_request(Api api, std::string_view body, const SamplingParams& defaults = {});

// POST /api/show: the model name from {"model": ...} or {"name": ...}. Throws ApiError.
std::string parse_show_request(std::string_view body);

}  // namespace hearth::serve
