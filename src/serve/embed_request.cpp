#include "serve/embed_request.h"

#include <bit>
#include <climits>

#include <fmt/format.h>

#include "serve/json_body.h"

namespace hearth::serve {

using json = nlohmann::ordered_json;

namespace {

using body::bad;
using body::field;
using body::kind_of;

bool read_bool(const json& obj, const char* key, bool fallback) {
    const json* v = field(obj, key);
    if (!v) return fallback;
    if (!v->is_boolean()) bad(fmt::format("'{}' must be a boolean, got {}", key, kind_of(*v)), "invalid_type");
    return v->get<bool>();
}

std::string read_string(const json& obj, const char* key) {
    const json* v = field(obj, key);
    if (!v) return "";
    if (!v->is_string()) bad(fmt::format("'{}' must be a string, got {}", key, kind_of(*v)), "invalid_type");
    return v->get<std::string>();
}

bool is_token_id(const json& v) { return v.is_number_integer() || v.is_number_unsigned(); }

// [int, ...] -> ids; `where` names it in errors ("input", "input[2]").
std::vector<int32_t> read_token_ids(const json& arr, const std::string& where) {
    if (arr.empty()) bad(fmt::format("'{}' is an empty token array", where), "empty_input");
    std::vector<int32_t> ids;
    for (size_t i = 0; i < arr.size(); ++i) {
        const json& t = arr[i];
        if (!is_token_id(t))
            bad(fmt::format("'{}[{}]' must be a token id (an integer), got {}", where, i, kind_of(t)), "invalid_type");
        if (t.is_number_integer() && t.get<int64_t>() < 0)
            bad(fmt::format("'{}[{}]' is {}: token ids are not negative", where, i, t.get<int64_t>()));
        if (t.get<uint64_t>() > INT32_MAX) bad(fmt::format("'{}[{}]' is {}: not a token id", where, i, t.dump()));
        ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
    }
    return ids;
}

EmbedInput text_input(const json& s, const std::string& where) {
    EmbedInput in;
    in.text = s.get<std::string>();
    if (in.text.empty()) bad(fmt::format("'{}' is an empty string: there is nothing to embed", where), "empty_input");
    return in;
}

// OpenAI: a string, strings, token ids, or arrays of token ids. Ollama: a string or strings.
std::vector<EmbedInput> read_inputs(const json& v, bool tokens_allowed) {
    const char* accepted = tokens_allowed ? "a string, an array of strings, an array of token ids or an array of "
                                            "token-id arrays"
                                          : "a string or an array of strings";
    std::vector<EmbedInput> out;
    if (v.is_string()) {
        out.push_back(text_input(v, "input"));
        return out;
    }
    if (!v.is_array()) bad(fmt::format("'input' must be {}, got {}", accepted, kind_of(v)), "invalid_type");
    if (v.empty()) bad("'input' is an empty array: there is nothing to embed", "empty_input");
    if (v.size() > kMaxEmbedInputs)
        bad(fmt::format("'input' has {} items, more than {}", v.size(), kMaxEmbedInputs));
    if (tokens_allowed && is_token_id(v[0])) {  // one input given as token ids
        EmbedInput in;
        in.tokens = read_token_ids(v, "input");
        in.is_tokens = true;
        out.push_back(std::move(in));
        return out;
    }
    // Every item must be of the first item's kind: strings, or (OpenAI) token-id arrays.
    const bool strings = v[0].is_string();
    for (size_t i = 0; i < v.size(); ++i) {
        const std::string where = fmt::format("input[{}]", i);
        const json& item = v[i];
        if (strings && item.is_string()) {
            out.push_back(text_input(item, where));
        } else if (!strings && tokens_allowed && item.is_array()) {
            EmbedInput in;
            in.tokens = read_token_ids(item, where);
            in.is_tokens = true;
            out.push_back(std::move(in));
        } else {
            bad(fmt::format("'{}' is {}: 'input' must be {}{}", where, kind_of(item), accepted,
                            i > 0 ? ", all of one kind" : ""),
                "invalid_type");
        }
    }
    return out;
}

}  // namespace

EmbedRequest parse_embed_request(EmbedApi api, std::string_view body) {
    const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) bad("the request body is not valid JSON", "invalid_json");
    if (!j.is_object()) bad(fmt::format("the request body must be a JSON object, got {}", kind_of(j)), "invalid_type");
    EmbedRequest req;
    req.api = api;
    req.model = read_string(j, "model");
    switch (api) {
        case EmbedApi::OpenAI: {
            const json* input = field(j, "input");
            if (!input) bad("'input' is required", "missing_field");
            req.inputs = read_inputs(*input, /*tokens_allowed=*/true);
            const std::string format = read_string(j, "encoding_format");
            if (format == "base64") req.base64 = true;
            else if (!format.empty() && format != "float")
                bad(fmt::format("'encoding_format' must be \"float\" or \"base64\", got \"{}\"", format));
            if (const json* d = field(j, "dimensions")) {
                if (!is_token_id(*d) || d->get<int64_t>() <= 0)
                    bad(fmt::format("'dimensions' must be a positive integer, got {}", d->dump()), "invalid_type");
                req.dimensions = d->get<int64_t>();
            }
            read_string(j, "user");  // accepted, checked for type
            req.truncate = read_bool(j, "truncate", false);
            break;
        }
        case EmbedApi::OllamaEmbed: {
            if (const json* input = field(j, "input")) req.inputs = read_inputs(*input, /*tokens_allowed=*/false);
            req.truncate = read_bool(j, "truncate", true);
            req.keep_alive = read_keep_alive(j);
            if (const json* o = field(j, "options"); o && !o->is_object())
                bad(fmt::format("'options' must be an object, got {}", kind_of(*o)), "invalid_type");
            break;
        }
        case EmbedApi::OllamaEmbeddings: {
            if (const json* p = field(j, "prompt")) {
                if (!p->is_string()) bad(fmt::format("'prompt' must be a string, got {}", kind_of(*p)), "invalid_type");
                req.inputs.push_back(text_input(*p, "prompt"));
            }
            req.truncate = read_bool(j, "truncate", false);
            req.keep_alive = read_keep_alive(j);
            if (const json* o = field(j, "options"); o && !o->is_object())
                bad(fmt::format("'options' must be an object, got {}", kind_of(*o)), "invalid_type");
            break;
        }
    }
    return req;
}

std::string base64_floats(const std::vector<float>& v) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static_assert(std::endian::native == std::endian::little, "base64_floats writes the floats' bytes as they are");
    const auto* bytes = reinterpret_cast<const unsigned char*>(v.data());
    const size_t n = v.size() * sizeof(float);
    std::string out;
    out.reserve((n + 2) / 3 * 4);
    for (size_t i = 0; i < n; i += 3) {
        const uint32_t b0 = bytes[i], b1 = i + 1 < n ? bytes[i + 1] : 0, b2 = i + 2 < n ? bytes[i + 2] : 0;
        const uint32_t triple = (b0 << 16) | (b1 << 8) | b2;
        out += kAlphabet[(triple >> 18) & 63];
        out += kAlphabet[(triple >> 12) & 63];
        out += i + 1 < n ? kAlphabet[(triple >> 6) & 63] : '=';
        out += i + 2 < n ? kAlphabet[triple & 63] : '=';
    }
    return out;
}

json embed_response(const EmbedRequest& req, const EmbedReply& reply) {
    switch (req.api) {
        case EmbedApi::OpenAI: {
            json data = json::array();
            for (size_t i = 0; i < reply.vectors.size(); ++i) {
                json item = {{"object", "embedding"}, {"index", i}};
                item["embedding"] = req.base64 ? json(base64_floats(reply.vectors[i])) : json(reply.vectors[i]);
                data.push_back(std::move(item));
            }
            return {{"object", "list"},
                    {"data", std::move(data)},
                    {"model", reply.model},
                    {"usage", {{"prompt_tokens", reply.n_tokens}, {"total_tokens", reply.n_tokens}}}};
        }
        case EmbedApi::OllamaEmbed:
            return {{"model", reply.model},
                    {"embeddings", reply.vectors},
                    {"total_duration", reply.total_ns},
                    {"load_duration", reply.load_ns},
                    {"prompt_eval_count", reply.n_tokens}};
        case EmbedApi::OllamaEmbeddings:
            return {{"embedding", reply.vectors.empty() ? std::vector<float>{} : reply.vectors[0]}};
    }
    return {};
}

}  // namespace hearth::serve
