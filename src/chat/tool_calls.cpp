#include "chat/tool_calls.h"

#include <algorithm>
#include <optional>

#include "chat/tool_call_reader.h"

namespace hearth::chat {

using ordered_json = nlohmann::ordered_json;

namespace {

using namespace detail;

// The texts that start a call, per family.
std::vector<std::string_view> triggers(ToolCallFamily family) {
    switch (family) {
        case ToolCallFamily::Hermes: return {"<tool_call>"};
        case ToolCallFamily::QwenXml: return {"<tool_call>", "<function="};
        case ToolCallFamily::Llama3: return {"<|python_tag|>", "{\"name\"", "{ \"name\""};
        case ToolCallFamily::Mistral: return {"[TOOL_CALLS]"};
        case ToolCallFamily::Phi4Mini: return {"functools[", "<|tool_call|>"};
        case ToolCallFamily::Gemma4: return {"<|tool_call>"};
        case ToolCallFamily::Glm: return {"<tool_call>"};
        case ToolCallFamily::DeepSeek: return {kDeepSeekCallsBegin, kDeepSeekCallBegin};
        case ToolCallFamily::Kimi: return {kKimiSectionBegin, kKimiSectionBeginSingular, kKimiCallBegin};
        case ToolCallFamily::None:
        case ToolCallFamily::Harmony: break;
    }
    return {};
}

size_t find_trigger(ToolCallFamily family, std::string_view text) {
    size_t first = std::string_view::npos;
    for (std::string_view t : triggers(family)) first = std::min(first, text.find(t));
    return first;
}

// How many bytes at the end of `text` may be the start of a trigger.
size_t partial_trigger(ToolCallFamily family, std::string_view text) {
    size_t keep = 0;
    for (std::string_view t : triggers(family))
        for (size_t n = std::min(text.size(), t.size() - 1); n > keep; --n)
            if (t.starts_with(text.substr(text.size() - n))) {
                keep = n;
                break;
            }
    return keep;
}

// {"name", "arguments" | "parameters"}, also wrapped as {"function": {...}}.
std::optional<ParsedToolCall> call_from_json(const ordered_json& j) {
    if (!j.is_object()) return std::nullopt;
    if (auto f = j.find("function"); f != j.end() && f->is_object()) return call_from_json(*f);
    auto name = j.find("name");
    if (name == j.end() || !name->is_string() || name->get<std::string>().empty()) return std::nullopt;
    ordered_json args = nullptr;
    if (auto a = j.find("arguments"); a != j.end()) args = *a;
    else if (auto p = j.find("parameters"); p != j.end()) args = *p;
    std::optional<std::string> text = arguments_text(args);
    if (!text) return std::nullopt;
    return ParsedToolCall{name->get<std::string>(), *text};
}

// The member `key` of `j` when `j` is an object that has it, else null.
const ordered_json& member(const ordered_json& j, const char* key) {
    static const ordered_json kNull;
    if (!j.is_object()) return kNull;
    auto it = j.find(key);
    return it == j.end() ? kNull : *it;
}

// Each family's reader: reads calls from r until it meets something else, and returns whether
// the last attempt succeeded (r.pos is then just after the last call read).

bool read_hermes(Reader& r, std::vector<ParsedToolCall>& calls) {
    r.skip_space();
    if (!r.eat("<tool_call>")) return false;
    std::optional<ordered_json> j = r.json_value();
    if (!j || !add_json_calls(*j, calls)) return false;
    r.skip_space();
    r.eat("</tool_call>");  // a missing close at the very end is forgiven
    return true;
}

bool read_qwen_xml(Reader& r, std::vector<ParsedToolCall>& calls, const ordered_json& tools) {
    r.skip_space();
    const bool wrapped = r.eat("<tool_call>");
    r.skip_space();
    if (!r.eat("<function=")) return false;
    std::optional<std::string_view> name = r.until(">");
    if (!name || name->empty() || has(*name, "<")) return false;
    ordered_json args = ordered_json::object();
    for (;;) {
        r.skip_space();
        if (r.eat("</function>")) break;
        if (!r.eat("<parameter=")) return false;
        std::optional<std::string_view> key = r.until(">");
        std::optional<std::string_view> value = key ? r.until("</parameter>") : std::nullopt;
        if (!value || key->empty()) return false;
        if (value->starts_with("\n")) value->remove_prefix(1);
        if (value->ends_with("\n")) value->remove_suffix(1);
        args[std::string(*key)] = typed_value(tools, *name, *key, *value);
    }
    if (wrapped) {
        r.skip_space();
        r.eat("</tool_call>");
    }
    calls.push_back({std::string(*name), args.dump()});
    return true;
}

bool read_llama3(Reader& r, std::vector<ParsedToolCall>& calls) {
    r.skip_space();
    r.eat("<|python_tag|>");
    std::optional<ordered_json> j = r.json_value();
    if (!j || !j->is_object() || !add_json_calls(*j, calls)) return false;
    r.skip_space();
    r.eat(";");  // calls may be separated by semicolons
    return true;
}

bool read_mistral(Reader& r, std::vector<ParsedToolCall>& calls) {
    r.skip_space();
    if (!r.eat("[TOOL_CALLS]")) return false;
    r.skip_space();
    if (r.peek('[')) {
        std::optional<ordered_json> j = r.json_value();
        return j && add_json_calls(*j, calls);
    }
    // The newer form: name[ARGS]{...}, or name[CALL_ID]id[ARGS]{...}.
    const size_t args_at = r.text.find("[ARGS]", r.pos);
    if (args_at == std::string_view::npos) return false;
    std::string_view name = r.text.substr(r.pos, args_at - r.pos);
    if (const size_t id = name.find("[CALL_ID]"); id != std::string_view::npos) name = name.substr(0, id);
    if (name.empty() || name.find_first_of(" \n{[") != std::string_view::npos) return false;
    r.pos = args_at + 6;
    std::optional<ordered_json> args = r.json_value();
    if (!args || !args->is_object()) return false;
    calls.push_back({std::string(name), args->dump()});
    return true;
}

bool read_phi4_mini(Reader& r, std::vector<ParsedToolCall>& calls) {
    r.skip_space();
    if (r.eat("functools")) {
        std::optional<ordered_json> j = r.json_value();
        return j && j->is_array() && add_json_calls(*j, calls);
    }
    if (!r.eat("<|tool_call|>")) return false;
    std::optional<ordered_json> j = r.json_value();
    if (!j || !add_json_calls(*j, calls)) return false;
    r.skip_space();
    r.eat("<|/tool_call|>");
    return true;
}

bool read_one(ToolCallFamily family, Reader& r, std::vector<ParsedToolCall>& calls, const ordered_json& tools) {
    switch (family) {
        case ToolCallFamily::Hermes: return read_hermes(r, calls);
        case ToolCallFamily::QwenXml: return read_qwen_xml(r, calls, tools);
        case ToolCallFamily::Llama3: return read_llama3(r, calls);
        case ToolCallFamily::Mistral: return read_mistral(r, calls);
        case ToolCallFamily::Phi4Mini: return read_phi4_mini(r, calls);
        case ToolCallFamily::Gemma4: return read_gemma4(r, calls);
        case ToolCallFamily::Glm: return read_glm(r, calls, tools);
        case ToolCallFamily::DeepSeek: return read_deepseek(r, calls);
        case ToolCallFamily::Kimi: return read_kimi(r, calls);
        case ToolCallFamily::None:
        case ToolCallFamily::Harmony: break;
    }
    return false;
}

}  // namespace

namespace detail {

std::optional<ordered_json> Reader::json_value() {
    skip_space();
    if (!peek('{') && !peek('[')) return std::nullopt;
    int depth = 0;
    bool in_string = false;
    for (size_t i = pos; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        else if (c == '{' || c == '[') ++depth;
        else if ((c == '}' || c == ']') && --depth == 0) {
            ordered_json j = ordered_json::parse(text.substr(pos, i + 1 - pos), nullptr, false);
            if (j.is_discarded()) return std::nullopt;
            pos = i + 1;
            return j;
        }
    }
    return std::nullopt;
}

bool plain_name(std::string_view name) {
    return !name.empty() && name.find_first_of(" \t\r\n<>{}[]\"'`:,;") == std::string_view::npos;
}

std::optional<std::string> arguments_text(const ordered_json& args) {
    if (args.is_null()) return "{}";
    if (args.is_object()) return args.dump();
    if (args.is_string()) {
        ordered_json parsed = ordered_json::parse(args.get<std::string>(), nullptr, false);
        if (!parsed.is_discarded() && parsed.is_object()) return parsed.dump();
    }
    return std::nullopt;
}

bool add_json_calls(const ordered_json& j, std::vector<ParsedToolCall>& calls) {
    if (j.is_array()) {
        if (j.empty()) return false;
        std::vector<ParsedToolCall> found;
        for (const ordered_json& e : j) {
            std::optional<ParsedToolCall> c = call_from_json(e);
            if (!c) return false;
            found.push_back(std::move(*c));
        }
        calls.insert(calls.end(), found.begin(), found.end());
        return true;
    }
    std::optional<ParsedToolCall> c = call_from_json(j);
    if (c) calls.push_back(std::move(*c));
    return c.has_value();
}

std::string schema_type(const ordered_json& tools, std::string_view function, std::string_view parameter) {
    if (!tools.is_array()) return "";
    for (const ordered_json& t : tools) {
        const ordered_json& f = member(t, "function").is_object() ? member(t, "function") : t;
        const ordered_json& name = member(f, "name");
        if (!name.is_string() || name.get<std::string>() != function) continue;
        const ordered_json& props = member(member(f, "parameters"), "properties");
        const ordered_json& type = member(member(props, std::string(parameter).c_str()), "type");
        if (type.is_string()) return type.get<std::string>();
        return type.is_array() ? "any" : "";
    }
    return "";
}

ordered_json typed_value(const ordered_json& tools, std::string_view function, std::string_view parameter,
                         std::string_view text) {
    const std::string type = schema_type(tools, function, parameter);
    if (!type.empty() && type != "string") {
        ordered_json parsed = ordered_json::parse(text, nullptr, false);
        if (!parsed.is_discarded()) return parsed;
    }
    return std::string(text);
}

}  // namespace detail

ToolCallFamily detect_tool_call_family(std::string_view s) {
    if (has(s, "<|channel|>")) return ToolCallFamily::Harmony;
    // Before Hermes and Qwen XML: GLM's and Gemma 4's templates also write "<tool_call".
    if (has(s, "<arg_key>")) return ToolCallFamily::Glm;
    if (has(s, "<|tool_call>call:")) return ToolCallFamily::Gemma4;
    if (has(s, kDeepSeekCallBegin)) return ToolCallFamily::DeepSeek;
    if (has(s, kKimiSectionBegin)) return ToolCallFamily::Kimi;
    if (has(s, "<function=")) return ToolCallFamily::QwenXml;
    if (has(s, "<tool_call>")) return ToolCallFamily::Hermes;
    if (has(s, "[TOOL_CALLS]")) return ToolCallFamily::Mistral;
    if (has(s, "<|python_tag|>") || has(s, "\"parameters\": dictionary")) return ToolCallFamily::Llama3;
    if (has(s, "<|tool|>") && has(s, "<|assistant|>")) return ToolCallFamily::Phi4Mini;
    return ToolCallFamily::None;
}

const char* tool_call_family_name(ToolCallFamily family) {
    switch (family) {
        case ToolCallFamily::None: return "none";
        case ToolCallFamily::Hermes: return "hermes";
        case ToolCallFamily::QwenXml: return "qwen-xml";
        case ToolCallFamily::Llama3: return "llama3";
        case ToolCallFamily::Mistral: return "mistral";
        case ToolCallFamily::Phi4Mini: return "phi4-mini";
        case ToolCallFamily::Harmony: return "harmony";
        case ToolCallFamily::Gemma4: return "gemma4";
        case ToolCallFamily::Glm: return "glm";
        case ToolCallFamily::DeepSeek: return "deepseek";
        case ToolCallFamily::Kimi: return "kimi";
    }
    return "none";
}

ToolCallReply parse_tool_calls(ToolCallFamily family, std::string_view reply, const ordered_json& tools) {
    ToolCallReply out;
    const size_t start = find_trigger(family, reply);
    if (start == std::string_view::npos) {
        out.content = reply;
        return out;
    }
    Reader r{reply, start};
    size_t read_to = start;  // the end of the last call read whole
    try {
        for (;;) {
            std::vector<ParsedToolCall> found;
            if (!read_one(family, r, found, tools)) break;
            out.calls.insert(out.calls.end(), found.begin(), found.end());
            read_to = r.pos;
            r.skip_space();
            if (r.at_end()) {
                read_to = r.pos;
                break;
            }
        }
    } catch (const std::exception&) {
        // nlohmann's accessors on a shape we did not expect: what was read so far stands.
    }
    // The text before the first call, and anything after the last one that is not a call.
    out.content = std::string(reply.substr(0, start));
    if (out.calls.empty()) out.content = reply;
    else out.content += reply.substr(read_to);
    return out;
}

std::string ToolCallStream::push(std::string_view text) {
    held_ += text;
    if (in_call_) return "";
    const size_t start = find_trigger(family_, held_);
    const size_t safe = start != std::string::npos ? start : held_.size() - partial_trigger(family_, held_);
    in_call_ = start != std::string::npos;
    std::string out = held_.substr(0, safe);
    held_.erase(0, safe);
    return out;
}

ToolCallReply ToolCallStream::finish() {
    ToolCallReply out = in_call_ ? parse_tool_calls(family_, held_, tools_) : ToolCallReply{held_, {}};
    held_.clear();
    in_call_ = false;
    return out;
}

}  // namespace hearth::chat
