#include "serve/format.h"

#include <chrono>
#include <cmath>
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
            {"total_tokens", u.prompt_tokens + u.completion_tokens},
            {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

static ordered_json header(const ResponseMeta& m, const char* object) {
    return {{"id", m.id}, {"object", object}, {"created", m.created}, {"model", m.model},
            {"system_fingerprint", "hearth"}};
}

static ordered_json openai_tool_calls(const ResponseMeta& m, const std::vector<ToolCall>& calls, size_t first,
                                      bool with_index) {
    ordered_json out = ordered_json::array();
    for (size_t i = 0; i < calls.size(); ++i) {
        ordered_json c = ordered_json::object();
        if (with_index) c["index"] = first + i;
        c["id"] = calls[i].id.empty() ? fmt::format("call_{}_{}", m.id, first + i) : calls[i].id;
        c["type"] = "function";
        c["function"] = {{"name", calls[i].name}, {"arguments", calls[i].arguments}};
        out.push_back(c);
    }
    return out;
}

ordered_json chat_completion(const ResponseMeta& m, const ChatReply& reply, const std::string& finish, const Usage& u) {
    ordered_json j = header(m, "chat.completion");
    ordered_json message = {{"role", "assistant"}, {"content", reply.content}};
    if (!reply.thinking.empty()) message["reasoning_content"] = reply.thinking;
    if (!reply.tool_calls.empty()) message["tool_calls"] = openai_tool_calls(m, reply.tool_calls, 0, false);
    j["choices"] = ordered_json::array(
        {{{"index", 0}, {"message", message}, {"logprobs", nullptr}, {"finish_reason", finish}}});
    j["usage"] = usage_json(u);
    return j;
}

ordered_json chat_chunk(const ResponseMeta& m, const std::string* role, const std::string* content,
                        const std::string* finish, bool with_usage_null, const std::string* reasoning,
                        const std::vector<ToolCall>* calls, size_t first_call) {
    ordered_json j = header(m, "chat.completion.chunk");
    ordered_json delta = ordered_json::object();
    if (role) delta["role"] = *role;
    if (content) delta["content"] = *content;
    if (reasoning) delta["reasoning_content"] = *reasoning;
    if (calls) delta["tool_calls"] = openai_tool_calls(m, *calls, first_call, true);
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

ordered_json ollama_piece(Api api, const std::string& model, const std::string& created_at, const ChatReply& part) {
    ordered_json j = {{"model", model}, {"created_at", created_at}};
    if (api == Api::OllamaChat) {
        ordered_json message = {{"role", "assistant"}, {"content", part.content}};
        if (!part.thinking.empty()) message["thinking"] = part.thinking;
        if (!part.tool_calls.empty()) {
            ordered_json calls = ordered_json::array();
            for (const ToolCall& c : part.tool_calls) {
                ordered_json args = ordered_json::parse(c.arguments, nullptr, /*allow_exceptions=*/false);
                if (args.is_discarded()) args = c.arguments;
                calls.push_back({{"function", {{"name", c.name}, {"arguments", args}}}});
            }
            message["tool_calls"] = calls;
        }
        j["message"] = message;
    } else {
        j["response"] = part.content;
        if (!part.thinking.empty()) j["thinking"] = part.thinking;
    }
    j["done"] = false;
    return j;
}

ordered_json ollama_final(Api api, const std::string& model, const std::string& created_at, const ChatReply& reply,
                          const std::string& done_reason, const Usage& u, const Timings& t) {
    ordered_json j = ollama_piece(api, model, created_at, reply);
    j["done"] = true;
    j["done_reason"] = done_reason;
    j["total_duration"] = t.total;
    j["load_duration"] = t.load;
    j["prompt_eval_count"] = u.evaluated_prompt_tokens();  // as Ollama: cached tokens are not evaluated
    j["prompt_eval_duration"] = t.prompt_eval;
    j["eval_count"] = u.completion_tokens;
    j["eval_duration"] = t.eval;
    return j;
}

std::string rfc3339_now() { return rfc3339(std::chrono::system_clock::now()); }

std::string rfc3339(std::chrono::system_clock::time_point now) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec, ns % 1000000000);
}

namespace {
// -inf (a token the model gives no chance) is not JSON: OpenAI's floor, -9999, stands in.
double json_logprob(float lp) { return std::isfinite(lp) ? double(lp) : -9999.0; }

ordered_json byte_values(const std::string& text) {
    ordered_json bytes = ordered_json::array();
    for (char c : text) bytes.push_back(static_cast<unsigned char>(c));
    return bytes;
}
}  // namespace

ordered_json chat_logprobs(const std::vector<LogprobEntry>& entries) {
    ordered_json content = ordered_json::array();
    for (const LogprobEntry& e : entries) {
        ordered_json top = ordered_json::array();
        for (const auto& [token, lp] : e.top)
            top.push_back({{"token", token}, {"logprob", json_logprob(lp)}, {"bytes", byte_values(token)}});
        content.push_back({{"token", e.token},
                           {"logprob", json_logprob(e.logprob)},
                           {"bytes", byte_values(e.token)},
                           {"top_logprobs", top}});
    }
    return {{"content", content}, {"refusal", nullptr}};
}

ordered_json completion_logprobs(const std::vector<LogprobEntry>& entries, size_t first_offset) {
    ordered_json tokens = ordered_json::array(), lps = ordered_json::array(), tops = ordered_json::array(),
                 offsets = ordered_json::array();
    size_t offset = first_offset;
    for (const LogprobEntry& e : entries) {
        tokens.push_back(e.token);
        lps.push_back(json_logprob(e.logprob));
        ordered_json top = ordered_json::object();
        for (const auto& [token, lp] : e.top) top[token] = json_logprob(lp);
        tops.push_back(top);
        offsets.push_back(offset);
        offset += e.token.size();
    }
    return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

}  // namespace hearth::serve
