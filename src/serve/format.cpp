#include "serve/format.h"

#include <chrono>
#include <ctime>

#include <fmt/format.h>

namespace hearth::serve {

std::string dump_json(const ordered_json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string sse_event(const ordered_json& j) { return "data: " + dump_json(j) + "\n\n"; }
std::string sse_done() { return "data: [DONE]\n\n"; }
std::string ndjson_line(const ordered_json& j) { return dump_json(j) + "\n"; }

ordered_json openai_error(const std::string& message, const std::string& type, const std::string& code) {
    ordered_json e = {{"message", message}, {"type", type}, {"param", nullptr}};
    e["code"] = code.empty() ? ordered_json(nullptr) : ordered_json(code);
    return {{"error", e}};
}

ordered_json ollama_error(const std::string& message) { return {{"error", message}}; }

ordered_json usage_json(const Usage& u) {
    return {{"prompt_tokens", u.prompt_tokens},
            {"completion_tokens", u.completion_tokens},
            {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

static ordered_json header(const ResponseMeta& m, const char* object) {
    return {{"id", m.id}, {"object", object}, {"created", m.created}, {"model", m.model},
            {"system_fingerprint", "hearth"}};
}

ordered_json chat_completion(const ResponseMeta& m, const std::string& text, const std::string& finish, const Usage& u) {
    ordered_json j = header(m, "chat.completion");
    j["choices"] = ordered_json::array({{{"index", 0},
                                         {"message", {{"role", "assistant"}, {"content", text}}},
                                         {"logprobs", nullptr},
                                         {"finish_reason", finish}}});
    j["usage"] = usage_json(u);
    return j;
}

ordered_json chat_chunk(const ResponseMeta& m, const std::string* role, const std::string* content,
                        const std::string* finish, bool with_usage_null) {
    ordered_json j = header(m, "chat.completion.chunk");
    ordered_json delta = ordered_json::object();
    if (role) delta["role"] = *role;
    if (content) delta["content"] = *content;
    j["choices"] = ordered_json::array({{{"index", 0},
                                         {"delta", delta},
                                         {"logprobs", nullptr},
                                         {"finish_reason", finish ? ordered_json(*finish) : ordered_json(nullptr)}}});
    if (with_usage_null) j["usage"] = nullptr;
    return j;
}

ordered_json usage_chunk(const ResponseMeta& m, const std::string& object, const Usage& u) {
    ordered_json j = header(m, object.c_str());
    j["choices"] = ordered_json::array();
    j["usage"] = usage_json(u);
    return j;
}

ordered_json text_completion(const ResponseMeta& m, const std::string& text, const std::string& finish, const Usage& u) {
    ordered_json j = header(m, "text_completion");
    j["choices"] = ordered_json::array(
        {{{"text", text}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish}}});
    j["usage"] = usage_json(u);
    return j;
}

ordered_json text_chunk(const ResponseMeta& m, const std::string& text, const std::string* finish, bool with_usage_null) {
    ordered_json j = header(m, "text_completion");
    j["choices"] = ordered_json::array({{{"text", text},
                                         {"index", 0},
                                         {"logprobs", nullptr},
                                         {"finish_reason", finish ? ordered_json(*finish) : ordered_json(nullptr)}}});
    if (with_usage_null) j["usage"] = nullptr;
    return j;
}

ordered_json ollama_piece(Api api, const std::string& model, const std::string& created_at, const std::string& text) {
    ordered_json j = {{"model", model}, {"created_at", created_at}};
    if (api == Api::OllamaChat) j["message"] = {{"role", "assistant"}, {"content", text}};
    else j["response"] = text;
    j["done"] = false;
    return j;
}

ordered_json ollama_final(Api api, const std::string& model, const std::string& created_at, const std::string& text,
                          const std::string& done_reason, const Usage& u, const Timings& t) {
    ordered_json j = ollama_piece(api, model, created_at, text);
    j["done"] = true;
    j["done_reason"] = done_reason;
    j["total_duration"] = t.total;
    j["load_duration"] = t.load;
    j["prompt_eval_count"] = u.prompt_tokens;
    j["prompt_eval_duration"] = t.prompt_eval;
    j["eval_count"] = u.completion_tokens;
    j["eval_duration"] = t.eval;
    return j;
}

std::string rfc3339_now() {
    const auto now = std::chrono::system_clock::now();
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec, ns % 1000000000);
}

}  // namespace hearth::serve
