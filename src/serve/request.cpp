#include "serve/request.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fmt/format.h>

#include "serve/json_body.h"

#include "grammar/grammar.h"
#include "grammar/json_schema.h"

namespace hearth::serve {

// Ordered throughout: key order shows in templates that print tools and arguments (tojson).
using json = nlohmann::ordered_json;
using ordered_json = nlohmann::ordered_json;

bool is_ollama(Api api) { return api == Api::OllamaGenerate || api == Api::OllamaChat; }

namespace {

using body::bad;
using body::field;
using body::kind_of;

void read_bool(const json& obj, const char* key, bool& out) {
    const json* v = field(obj, key);
    if (!v) return;
    if (!v->is_boolean()) bad(fmt::format("'{}' must be a boolean, got {}", key, kind_of(*v)), "invalid_type");
    out = v->get<bool>();
}

std::optional<double> read_number(const json& obj, const char* key, double lo, double hi) {
    const json* v = field(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_number()) bad(fmt::format("'{}' must be a number, got {}", key, kind_of(*v)), "invalid_type");
    const double d = v->get<double>();
    if (!std::isfinite(d) || d < lo || d > hi) bad(fmt::format("'{}' must be in [{}, {}], got {}", key, lo, hi, d));
    return d;
}

std::optional<int64_t> read_int(const json& obj, const char* key, int64_t lo, int64_t hi) {
    const json* v = field(obj, key);
    if (!v) return std::nullopt;
    int64_t i = 0;
    if (v->is_number_unsigned()) {
        const uint64_t u = v->get<uint64_t>();
        if (u > static_cast<uint64_t>(hi)) bad(fmt::format("'{}' must be in [{}, {}], got {}", key, lo, hi, u));
        i = static_cast<int64_t>(u);
    } else if (v->is_number_integer()) {
        i = v->get<int64_t>();
    } else if (v->is_number_float()) {
        // 100.0 from a client that only has doubles is still an integer.
        const double d = v->get<double>();
        if (!std::isfinite(d) || d != std::floor(d) || d < -9.2e18 || d > 9.2e18)
            bad(fmt::format("'{}' must be an integer, got {}", key, d), "invalid_type");
        i = static_cast<int64_t>(d);
    } else {
        bad(fmt::format("'{}' must be an integer, got {}", key, kind_of(*v)), "invalid_type");
    }
    if (i < lo || i > hi) bad(fmt::format("'{}' must be in [{}, {}], got {}", key, lo, hi, i));
    return i;
}

// A seed: any integer; negative values (-1 in llama.cpp and Ollama) ask for a random one.
std::optional<uint64_t> read_seed(const json& obj, const char* key) {
    const json* v = field(obj, key);
    if (!v) return std::nullopt;
    if (v->is_number_unsigned()) {
        const uint64_t u = v->get<uint64_t>();
        return u == SamplingParams::kRandomSeed ? u - 1 : u;
    }
    const std::optional<int64_t> i = read_int(obj, key, INT64_MIN, INT64_MAX);
    if (*i < 0) return SamplingParams::kRandomSeed;
    return static_cast<uint64_t>(*i);
}

std::string read_string(const json& obj, const char* key) {
    const json* v = field(obj, key);
    if (!v) return "";
    if (!v->is_string()) bad(fmt::format("'{}' must be a string, got {}", key, kind_of(*v)), "invalid_type");
    return v->get<std::string>();
}

std::vector<std::string> read_stop(const json& obj, const char* key) {
    const json* v = field(obj, key);
    std::vector<std::string> out;
    if (!v) return out;
    auto add = [&](const json& s) {
        if (!s.is_string()) bad(fmt::format("'{}' must be a string or an array of strings", key), "invalid_type");
        std::string text = s.get<std::string>();
        if (text.size() > kMaxStopLength)
            bad(fmt::format("a stop string is {} bytes, more than {}", text.size(), kMaxStopLength));
        if (!text.empty()) out.push_back(std::move(text));
    };
    if (v->is_array()) {
        if (v->size() > static_cast<size_t>(kMaxStopStrings))
            bad(fmt::format("'{}' has {} strings, more than {}", key, v->size(), kMaxStopStrings));
        for (const json& s : *v) add(s);
    } else {
        add(*v);
    }
    return out;
}

// Message content: a string, null, or an array of {"type": "text", "text": ...} parts (joined).
std::string read_content(const json& m, size_t index) {
    const json* c = field(m, "content");
    if (!c) return "";
    if (c->is_string()) return c->get<std::string>();
    if (!c->is_array()) bad(fmt::format("messages[{}].content must be a string or an array of parts", index), "invalid_type");
    std::string text;
    for (const json& part : *c) {
        if (!part.is_object() || read_string(part, "type") != "text")
            bad(fmt::format("messages[{}].content: only parts of type \"text\" are supported", index));
        const json* t = field(part, "text");
        if (!t || !t->is_string()) bad(fmt::format("messages[{}].content: a text part needs a string \"text\"", index), "invalid_type");
        text += t->get<std::string>();
    }
    return text;
}

// An assistant message's tool_calls, in the shape templates expect: {"id", "type": "function",
// "function": {"name", "arguments": object}}. OpenAI sends arguments as JSON text and requires
// ids; Ollama sends an object and no ids (given "call_<message>_<index>" here).
ordered_json read_tool_calls(const json& calls, size_t index, bool ollama) {
    if (!calls.is_array()) bad(fmt::format("messages[{}].tool_calls must be an array", index), "invalid_type");
    ordered_json out = ordered_json::array();
    for (size_t k = 0; k < calls.size(); ++k) {
        const json& c = calls[k];
        const std::string where = fmt::format("messages[{}].tool_calls[{}]", index, k);
        if (!c.is_object()) bad(where + " must be an object", "invalid_type");
        if (const json* type = field(c, "type"); type && *type != "function")
            bad(where + ".type must be \"function\"");
        const json* f = field(c, "function");
        if (!f || !f->is_object()) bad(where + ".function must be an object", "invalid_type");
        const json* name = field(*f, "name");
        if (!name || !name->is_string() || name->get<std::string>().empty())
            bad(where + ".function.name must be a non-empty string", "invalid_type");
        ordered_json args = ordered_json::object();
        if (const json* a = field(*f, "arguments")) {
            if (a->is_string()) {
                args = ordered_json::parse(a->get<std::string>(), nullptr, false);
                if (args.is_discarded() || !args.is_object())
                    bad(where + ".function.arguments must be a JSON object (as text)");
            } else if (a->is_object()) {
                args = *a;
            } else {
                bad(where + ".function.arguments must be a JSON object or its text", "invalid_type");
            }
        }
        std::string id = read_string(c, "id");
        if (id.empty() && !ollama) bad(where + ".id is required", "missing_field");
        if (id.empty()) id = fmt::format("call_{}_{}", index, k);
        out.push_back({{"id", id},
                       {"type", "function"},
                       {"function", {{"name", name->get<std::string>()}, {"arguments", args}}}});
    }
    return out;
}

ordered_json read_messages(const json& body, bool ollama) {
    const json* v = field(body, "messages");
    if (!v) bad("'messages' is required", "missing_field");
    if (!v->is_array()) bad(fmt::format("'messages' must be an array, got {}", kind_of(*v)), "invalid_type");
    if (v->empty()) bad("'messages' must not be empty");
    ordered_json out = ordered_json::array();
    std::vector<std::pair<std::string, std::string>> calls;  // (id, name) of every call so far
    for (size_t i = 0; i < v->size(); ++i) {
        const json& m = (*v)[i];
        if (!m.is_object()) bad(fmt::format("messages[{}] must be an object", i), "invalid_type");
        const json* role = field(m, "role");
        if (!role || !role->is_string()) bad(fmt::format("messages[{}].role must be a string", i), "invalid_type");
        std::string r = role->get<std::string>();
        if (r == "developer") r = "system";  // OpenAI's newer name for the system role
        if (r != "system" && r != "user" && r != "assistant" && r != "tool")
            bad(fmt::format("messages[{}].role '{}' is not one of system, developer, user, assistant, tool", i, r));
        ordered_json message = {{"role", r}, {"content", read_content(m, i)}};
        if (r == "assistant") {
            for (const char* key : {"reasoning_content", "thinking"})
                if (const json* t = field(m, key); t && t->is_string()) message[key] = *t;
            if (const json* tc = field(m, "tool_calls"); tc && !(tc->is_array() && tc->empty())) {
                if (!field(m, "content")) message["content"] = nullptr;  // as Hugging Face templates see a call
                message["tool_calls"] = read_tool_calls(*tc, i, ollama);
                for (const auto& c : message["tool_calls"])
                    calls.emplace_back(c["id"].get<std::string>(), c["function"]["name"].get<std::string>());
            }
        } else if (r == "tool") {
            std::string id = read_string(m, "tool_call_id");
            std::string name = read_string(m, "name");
            if (name.empty()) name = read_string(m, "tool_name");  // Ollama
            if (id.empty() && !ollama) bad(fmt::format("messages[{}]: a tool message needs 'tool_call_id'", i), "missing_field");
            if (!id.empty()) {
                auto call = std::find_if(calls.begin(), calls.end(), [&](const auto& c) { return c.first == id; });
                if (call == calls.end())
                    bad(fmt::format("messages[{}].tool_call_id '{}' matches no tool call of an earlier assistant message",
                                    i, id));
                if (name.empty()) name = call->second;
                message["tool_call_id"] = id;
            }
            if (!name.empty()) message["name"] = name;
        }
        out.push_back(std::move(message));
    }
    return out;
}

// `tools`: [{"type": "function", "function": {"name", "description"?, "parameters"?: object}}];
// null when absent or empty.
ordered_json read_tools(const json& body) {
    const json* v = field(body, "tools");
    if (!v) return nullptr;
    if (!v->is_array()) bad(fmt::format("'tools' must be an array, got {}", kind_of(*v)), "invalid_type");
    for (size_t i = 0; i < v->size(); ++i) {
        const json& t = (*v)[i];
        if (!t.is_object()) bad(fmt::format("tools[{}] must be an object", i), "invalid_type");
        if (const json* type = field(t, "type"); type && *type != "function")
            bad(fmt::format("tools[{}].type must be \"function\"", i));
        const json* f = field(t, "function");
        if (!f || !f->is_object()) bad(fmt::format("tools[{}].function must be an object", i), "invalid_type");
        const json* name = field(*f, "name");
        if (!name || !name->is_string() || name->get<std::string>().empty())
            bad(fmt::format("tools[{}].function.name must be a non-empty string", i), "invalid_type");
        if (const json* d = field(*f, "description"); d && !d->is_string())
            bad(fmt::format("tools[{}].function.description must be a string", i), "invalid_type");
        if (const json* p = field(*f, "parameters"); p && !p->is_object())
            bad(fmt::format("tools[{}].function.parameters must be an object (a JSON Schema), got {}", i, kind_of(*p)),
                "invalid_type");
    }
    if (v->empty()) return nullptr;
    return *v;
}

bool has_tool(const ordered_json& tools, const std::string& name) {
    if (!tools.is_array()) return false;
    for (const auto& t : tools)
        if (t["function"]["name"] == name) return true;
    return false;
}

void read_tool_choice(const json& body, GenerationRequest& req) {
    read_bool(body, "parallel_tool_calls", req.parallel_tool_calls);
    const json* v = field(body, "tool_choice");
    if (!v) return;
    if (v->is_string()) {
        const std::string c = v->get<std::string>();
        if (c == "auto") req.tool_choice = ToolChoice::Auto;
        else if (c == "none") req.tool_choice = ToolChoice::None;
        else if (c == "required") req.tool_choice = ToolChoice::Required;
        else bad(fmt::format("'tool_choice' must be \"auto\", \"none\", \"required\" or a function, got \"{}\"", c));
    } else if (v->is_object()) {
        const json* f = field(*v, "function");
        const json* name = f && f->is_object() ? field(*f, "name") : nullptr;
        if (!name || !name->is_string())
            bad("'tool_choice' as an object must be {\"type\": \"function\", \"function\": {\"name\": ...}}", "invalid_type");
        req.tool_choice = ToolChoice::Named;
        req.tool_choice_name = name->get<std::string>();
        if (!has_tool(req.tools, req.tool_choice_name))
            bad(fmt::format("'tool_choice' names the function '{}', which is not in 'tools'", req.tool_choice_name));
    } else {
        bad("'tool_choice' must be a string or an object", "invalid_type");
    }
    if (req.tool_choice == ToolChoice::Required && req.tools.is_null()) bad("'tool_choice' is \"required\" but no 'tools' are given");
}

// "low" / "medium" / "high" from `key`, or "" when absent.
std::string read_effort(const json& body, const char* key) {
    const json* v = field(body, key);
    if (!v) return "";
    const std::string e = v->is_string() ? v->get<std::string>() : "";
    if (e != "low" && e != "medium" && e != "high")
        bad(fmt::format("'{}' must be \"low\", \"medium\" or \"high\"", key), "invalid_value");
    return e;
}

// A schema's grammar, its errors as 400s naming the field.
std::string schema_grammar(const json& schema, const char* where) {
    if (!schema.is_object() && !schema.is_boolean())
        bad(fmt::format("'{}' must be a JSON Schema object, got {}", where, kind_of(schema)), "invalid_type");
    try {
        return grammar::schema_to_gbnf(schema);
    } catch (const Error& e) {
        bad(fmt::format("'{}': {}", where, e.what()), "invalid_schema");
    }
}

// OpenAI's response_format, or llama.cpp server's grammar / json_schema fields.
void read_response_format(const json& body, GenerationRequest& req) {
    const json* rf = field(body, "response_format");
    const json* gbnf = field(body, "grammar");
    const json* schema = field(body, "json_schema");
    if ((rf != nullptr) + (gbnf != nullptr) + (schema != nullptr) > 1)
        bad("give only one of 'response_format', 'grammar' and 'json_schema'");
    if (gbnf) {
        if (!gbnf->is_string()) bad(fmt::format("'grammar' must be a string (GBNF), got {}", kind_of(*gbnf)), "invalid_type");
        try {
            grammar::parse_gbnf(gbnf->get<std::string>());
        } catch (const Error& e) {
            bad(fmt::format("'grammar': {}", e.what()), "invalid_grammar");
        }
        req.grammar = gbnf->get<std::string>();
        return;
    }
    if (schema) {
        req.grammar = schema_grammar(*schema, "json_schema");
        return;
    }
    if (!rf) return;
    if (!rf->is_object()) bad(fmt::format("'response_format' must be an object, got {}", kind_of(*rf)), "invalid_type");
    const json* type = field(*rf, "type");
    if (!type || !type->is_string()) bad("'response_format.type' must be \"text\", \"json_object\" or \"json_schema\"", "invalid_type");
    const std::string t = type->get<std::string>();
    if (t == "text") return;
    if (t == "json_object") {
        // llama.cpp's server also takes a schema here.
        const json* s = field(*rf, "schema");
        req.grammar = s ? schema_grammar(*s, "response_format.schema") : grammar::json_gbnf();
        return;
    }
    if (t != "json_schema")
        bad(fmt::format("'response_format.type' must be \"text\", \"json_object\" or \"json_schema\", got \"{}\"", t));
    const json* js = field(*rf, "json_schema");
    if (!js || !js->is_object())
        bad("'response_format.json_schema' must be an object {\"name\", \"schema\", \"strict\"}", "invalid_type");
    if (const json* name = field(*js, "name"); name && !name->is_string())
        bad("'response_format.json_schema.name' must be a string", "invalid_type");
    if (const json* strict = field(*js, "strict"); strict && !strict->is_boolean())
        bad("'response_format.json_schema.strict' must be a boolean", "invalid_type");
    const json* s = field(*js, "schema");
    // Without a schema any JSON object will do (the grammar is always enforced: strict or not).
    req.grammar = s ? schema_grammar(*s, "response_format.json_schema.schema") : grammar::json_gbnf();
}

// Ollama's format: "json" or a JSON Schema object.
void read_ollama_format(const json& body, GenerationRequest& req) {
    const json* f = field(body, "format");
    if (!f) return;
    if (f->is_string()) {
        const std::string v = f->get<std::string>();
        if (v.empty()) return;
        if (v != "json") bad(fmt::format("'format' must be \"json\" or a JSON Schema object, got \"{}\"", v));
        req.grammar = grammar::json_gbnf();
        return;
    }
    req.grammar = schema_grammar(*f, "format");
}

// Chat: `logprobs` a boolean and `top_logprobs` 0..20 with it; completions: `logprobs` 0..5.
void read_logprobs(const json& body, GenerationRequest& req) {
    if (req.api == Api::OpenAICompletion) {
        if (auto n = read_int(body, "logprobs", 0, 5)) req.top_logprobs = static_cast<int>(*n);
        return;
    }
    bool wanted = false;
    read_bool(body, "logprobs", wanted);
    const std::optional<int64_t> top = read_int(body, "top_logprobs", 0, 20);
    if (top && !wanted) bad("'top_logprobs' needs 'logprobs': true");
    if (wanted) req.top_logprobs = top ? static_cast<int>(*top) : 0;
}

void read_openai(const json& body, GenerationRequest& req) {
    read_response_format(body, req);
    req.reasoning_effort = read_effort(body, "reasoning_effort");
    if (const json* kw = field(body, "chat_template_kwargs")) {
        if (!kw->is_object()) bad("'chat_template_kwargs' must be an object", "invalid_type");
        req.template_kwargs = *kw;
        if (const json* et = field(*kw, "enable_thinking"); et && et->is_boolean()) req.think = et->get<bool>();
    }
    read_bool(body, "stream", req.stream);
    if (const json* so = field(body, "stream_options")) {
        if (!so->is_object()) bad("'stream_options' must be an object", "invalid_type");
        read_bool(*so, "include_usage", req.include_usage);
    }
    std::optional<int64_t> max_tokens = read_int(body, "max_completion_tokens", 0, kMaxPredict);
    if (!max_tokens) max_tokens = read_int(body, "max_tokens", 0, kMaxPredict);
    if (max_tokens) req.n_predict = static_cast<int>(*max_tokens);
    if (auto t = read_number(body, "temperature", 0, 2)) req.sampling.temperature = static_cast<float>(*t);
    if (auto p = read_number(body, "top_p", 0, 1)) {
        if (*p == 0) req.sampling.temperature = 0;  // nothing but the most likely token
        else req.sampling.top_p = static_cast<float>(*p);
    }
    // Extensions llama.cpp's server also takes.
    if (auto k = read_int(body, "top_k", 0, 1 << 30)) req.sampling.top_k = static_cast<int>(*k);
    if (auto m = read_number(body, "min_p", 0, 1)) req.sampling.min_p = static_cast<float>(*m);
    if (auto r = read_number(body, "repeat_penalty", 1e-6, 100)) req.sampling.repeat_penalty = static_cast<float>(*r);
    if (auto s = read_seed(body, "seed")) req.sampling.seed = *s;
    if (auto p = read_number(body, "presence_penalty", -2, 2)) req.presence_penalty = static_cast<float>(*p);
    if (auto f = read_number(body, "frequency_penalty", -2, 2)) req.frequency_penalty = static_cast<float>(*f);
    if (auto n = read_int(body, "n", 1, INT64_MAX); n && *n != 1) bad("only n = 1 is supported");
    read_logprobs(body, req);
    req.stop = read_stop(body, "stop");
}

void read_ollama(const json& body, GenerationRequest& req) {
    req.stream = true;  // Ollama streams unless told not to
    read_bool(body, "stream", req.stream);
    read_ollama_format(body, req);
    if (const json* t = field(body, "think")) {
        if (t->is_boolean()) {
            req.think = t->get<bool>();
        } else {
            req.reasoning_effort = read_effort(body, "think");
            req.think = true;
        }
    }
    const json* opts = field(body, "options");
    if (!opts) return;
    if (!opts->is_object()) bad("'options' must be an object", "invalid_type");
    const json& o = *opts;
    if (auto t = read_number(o, "temperature", 0, 100)) req.sampling.temperature = static_cast<float>(*t);
    if (auto k = read_int(o, "top_k", 0, 1 << 30)) req.sampling.top_k = static_cast<int>(*k);
    if (auto p = read_number(o, "top_p", 0, 1)) {
        if (*p == 0) req.sampling.temperature = 0;
        else req.sampling.top_p = static_cast<float>(*p);
    }
    if (auto m = read_number(o, "min_p", 0, 1)) req.sampling.min_p = static_cast<float>(*m);
    if (auto r = read_number(o, "repeat_penalty", 1e-6, 100)) req.sampling.repeat_penalty = static_cast<float>(*r);
    // repeat_last_n -1 means "the whole context"; ours is at most 4096 by default.
    if (auto n = read_int(o, "repeat_last_n", -1, 1 << 24)) req.sampling.repeat_last_n = *n < 0 ? 4096 : static_cast<int>(*n);
    if (auto s = read_seed(o, "seed")) req.sampling.seed = *s;
    if (auto n = read_int(o, "num_predict", -2, kMaxPredict)) req.n_predict = *n < 0 ? -1 : static_cast<int>(*n);
    if (auto c = read_int(o, "num_ctx", 1, 1 << 24)) req.num_ctx = static_cast<int>(*c);
    if (auto p = read_number(o, "presence_penalty", -2, 2)) req.presence_penalty = static_cast<float>(*p);
    if (auto f = read_number(o, "frequency_penalty", -2, 2)) req.frequency_penalty = static_cast<float>(*f);
    req.stop = read_stop(o, "stop");
}

json parse_object(std::string_view body) {
    json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) bad("the request body is not valid JSON", "invalid_json");
    if (!j.is_object()) bad(fmt::format("the request body must be a JSON object, got {}", kind_of(j)), "invalid_type");
    return j;
}

}  // namespace

GenerationRequest parse_generation_request(Api api, std::string_view body, const SamplingParams& defaults) {
    const json j = parse_object(body);
    GenerationRequest req;
    req.sampling = defaults;
    req.api = api;
    req.model = read_string(j, "model");
    req.keep_alive = read_keep_alive(j);
    if (is_ollama(api)) read_ollama(j, req);
    else read_openai(j, req);

    switch (api) {
        case Api::OpenAIChat:
        case Api::OllamaChat:
            if (api == Api::OllamaChat) {  // no messages: Ollama's load / unload request
                const json* m = field(j, "messages");
                if (!m || (m->is_array() && m->empty())) break;
            }
            req.messages = read_messages(j, is_ollama(api));
            req.tools = read_tools(j);
            read_tool_choice(j, req);
            break;
        case Api::OpenAICompletion: {
            const json* p = field(j, "prompt");
            if (!p) bad("'prompt' is required", "missing_field");
            if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) req.prompt = (*p)[0].get<std::string>();
            else if (p->is_string()) req.prompt = p->get<std::string>();
            else bad("'prompt' must be a string (or an array of one string)", "invalid_type");
            break;
        }
        case Api::OllamaGenerate:
            req.prompt = read_string(j, "prompt");
            req.system = read_string(j, "system");
            read_bool(j, "raw", req.raw);
            break;
    }
    return req;
}

std::string parse_show_request(std::string_view body) {
    const json j = parse_object(body);
    std::string name = read_string(j, "model");
    if (name.empty()) name = read_string(j, "name");
    if (name.empty()) bad("'model' is required", "missing_field");
    return name;
}

}  // namespace hearth::serve
