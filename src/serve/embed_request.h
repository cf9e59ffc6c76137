#pragma once
// Embedding routes: request bodies -> one validated EmbedRequest, and the response bodies.
// Pure functions (no model, no sockets), unit-tested like request.h; anything wrong in a body
// is an ApiError (400) naming the field.
//
//   POST /v1/embeddings   OpenAI: input = string | [string] | [int] | [[int]], encoding_format
//                         "float" | "base64" (little-endian f32 bytes), dimensions (must be the
//                         model's), user; hearth's extension `truncate` (default false).
//   POST /api/embed       Ollama: input = string | [string], truncate (default true, as Ollama),
//                         keep_alive (how long the model stays loaded), options (accepted).
//   POST /api/embeddings  Ollama's older route: prompt = string; the vector is not normalised
//                         (as Ollama), truncate default false.
// An absent input (prompt) on the Ollama routes is their "load (keep_alive 0: unload) the
// model" request: an empty answer. An empty string or array is a 400 on every route.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve/keep_alive.h"
#include "serve/request.h"

namespace hearth::serve {

enum class EmbedApi { OpenAI, OllamaEmbed, OllamaEmbeddings };

// One input: text to tokenize, or token ids as sent (OpenAI).
struct EmbedInput {
    std::string text;
    std::vector<int32_t> tokens;
    bool is_tokens = false;
};

struct EmbedRequest {
    EmbedApi api = EmbedApi::OpenAI;
    std::string model;                // as sent; "" when absent
    std::optional<KeepAlive> keep_alive;  // Ollama's; nullopt: the server's default
    std::vector<EmbedInput> inputs;   // empty only for an Ollama load request
    bool truncate = false;            // cut inputs longer than the context instead of a 400
    bool base64 = false;              // OpenAI encoding_format "base64"
    std::optional<int64_t> dimensions;  // OpenAI: the caller checks it against the model's
};

inline constexpr size_t kMaxEmbedInputs = 2048;  // OpenAI's limit per request

EmbedRequest parse_embed_request(EmbedApi api, std::string_view body);

// The little-endian bytes of the floats, base64-encoded (OpenAI's encoding_format "base64").
std::string base64_floats(const std::vector<float>& v);

struct EmbedReply {
    std::string model;
    std::vector<std::vector<float>> vectors;
    int64_t n_tokens = 0;       // evaluated, all inputs
    int64_t total_ns = 0;       // Ollama durations
    int64_t load_ns = 0;
};

// The response body of `req.api`.
nlohmann::ordered_json embed_response(const EmbedRequest& req, const EmbedReply& reply);

}  // namespace hearth::serve
