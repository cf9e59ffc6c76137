// The families whose calls are framed by their own markers rather than JSON alone: Gemma 4 (with
// its own value syntax), GLM (key/value XML), DeepSeek and Kimi K2 (sections of calls between
// special tokens). See tool_call_reader.h for the contract every reader keeps.
#include <algorithm>
#include <string>

#include "chat/tool_call_reader.h"
#include "chat/tool_calls.h"

namespace hearth::chat {

using ordered_json = nlohmann::ordered_json;

namespace detail {
namespace {

std::string_view trimmed(std::string_view s) {
    const size_t first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(" \t\r\n") + 1 - first);
}

// ---- Gemma 4 values ---------------------------------------------------------------------------

constexpr std::string_view kGemmaQuote = "<|\"|>";
constexpr int kMaxDepth = 64;  // nesting deeper than any real argument: the reply is text

struct GemmaValues {
    Reader& r;
    int depth = 0;

    // <|"|>text<|"|> (no escapes inside), or a JSON string for models that write one.
    std::optional<std::string> string() {
        if (r.eat(kGemmaQuote)) {
            std::optional<std::string_view> s = r.until(kGemmaQuote);
            return s ? std::optional<std::string>(*s) : std::nullopt;
        }
        if (!r.peek('"')) return std::nullopt;
        for (size_t i = r.pos + 1; i < r.text.size(); ++i) {
            if (r.text[i] == '\\') ++i;
            else if (r.text[i] == '"') {
                ordered_json j = ordered_json::parse(r.text.substr(r.pos, i + 1 - r.pos), nullptr, false);
                if (j.is_discarded()) return std::nullopt;
                r.pos = i + 1;
                return j.get<std::string>();
            }
        }
        return std::nullopt;
    }

    std::optional<std::string> key() {
        if (r.text.substr(r.pos).starts_with(kGemmaQuote) || r.peek('"')) return string();
        const size_t colon = r.text.find(':', r.pos);
        if (colon == std::string_view::npos) return std::nullopt;
        const std::string_view k = trimmed(r.text.substr(r.pos, colon - r.pos));
        if (k.empty() || k.find_first_of("{}[],<>\"") != std::string_view::npos) return std::nullopt;
        r.pos = colon;
        return std::string(k);
    }

    // A bare word up to the next delimiter: a number, true/false/null (or Python's spelling,
    // which a template's `{{ value }}` writes).
    std::optional<ordered_json> bare() {
        const size_t end = std::min(r.text.size(), r.text.find_first_of(",}] \t\r\n<", r.pos));
        const std::string_view word = r.text.substr(r.pos, end - r.pos);
        if (word.empty()) return std::nullopt;
        ordered_json j;
        if (word == "None") j = nullptr;
        else if (word == "True") j = true;
        else if (word == "False") j = false;
        else {
            j = ordered_json::parse(word, nullptr, false);
            if (j.is_discarded() || j.is_structured() || j.is_string()) return std::nullopt;
        }
        r.pos = end;
        return j;
    }

    // `{` or `[` already read: members up to the closing bracket.
    std::optional<ordered_json> container(bool object) {
        if (++depth > kMaxDepth) return std::nullopt;
        ordered_json out = object ? ordered_json::object() : ordered_json::array();
        const char close = object ? '}' : ']';
        r.skip_space();
        if (r.eat(std::string_view(&close, 1))) return out;
        for (;;) {
            r.skip_space();
            std::optional<std::string> k;
            if (object) {
                k = key();
                r.skip_space();
                if (!k || !r.eat(":")) return std::nullopt;
            }
            std::optional<ordered_json> v = value();
            if (!v) return std::nullopt;
            if (object) out[*k] = std::move(*v);
            else out.push_back(std::move(*v));
            r.skip_space();
            if (r.eat(",")) continue;
            if (r.eat(std::string_view(&close, 1))) break;
            return std::nullopt;
        }
        --depth;
        return out;
    }

    std::optional<ordered_json> value() {
        r.skip_space();
        if (r.eat("{")) return container(true);
        if (r.eat("[")) return container(false);
        if (r.text.substr(r.pos).starts_with(kGemmaQuote) || r.peek('"')) {
            std::optional<std::string> s = string();
            return s ? std::optional<ordered_json>(*s) : std::nullopt;
        }
        return bare();
    }
};

// ---- Sections of calls (DeepSeek, Kimi) -------------------------------------------------------

// Reads calls with `one` while it succeeds, keeping each whole call; false when none was read.
template <class ReadOne>
bool read_calls(Reader& r, std::vector<ParsedToolCall>& calls, ReadOne one) {
    size_t n = 0;
    for (;;) {
        Reader attempt = r;
        attempt.skip_space();
        std::vector<ParsedToolCall> found;
        if (!one(attempt, found)) break;
        calls.insert(calls.end(), found.begin(), found.end());
        r = attempt;
        ++n;
    }
    return n > 0;
}

// DeepSeek V3.1: <｜tool▁call▁begin｜>f<｜tool▁sep｜>{...}<｜tool▁call▁end｜>; V3 / R1:
// <｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{...}\n```<｜tool▁call▁end｜>.
bool read_deepseek_call(Reader& r, std::vector<ParsedToolCall>& calls) {
    if (!r.eat(kDeepSeekCallBegin)) return false;
    std::optional<std::string_view> head = r.until(kDeepSeekSep);
    if (!head) return false;
    std::string_view name = trimmed(*head);
    Reader after = r;
    after.skip_space();
    const bool v3 = name == "function" && !after.peek('{');
    if (v3) {
        const size_t eol = r.text.find('\n', r.pos);
        if (eol == std::string_view::npos) return false;
        name = trimmed(r.text.substr(r.pos, eol - r.pos));
        r.pos = eol;
        r.skip_space();
        r.eat("```json");
    }
    if (!plain_name(name)) return false;
    std::optional<ordered_json> args = r.json_value();
    if (!args || !args->is_object()) return false;
    r.skip_space();
    if (v3) {
        r.eat("```");
        r.skip_space();
    }
    r.eat(kDeepSeekCallEnd);  // a missing end is forgiven, as for Hermes
    calls.push_back({std::string(name), args->dump()});
    return true;
}

// Kimi K2: <|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{...}<|tool_call_end|>.
bool read_kimi_call(Reader& r, std::vector<ParsedToolCall>& calls) {
    if (!r.eat(kKimiCallBegin)) return false;
    std::optional<std::string_view> id = r.until(kKimiArgumentBegin);
    if (!id) return false;
    std::string_view name = trimmed(*id);
    if (name.starts_with("functions.")) name.remove_prefix(10);
    if (const size_t colon = name.rfind(':'); colon != std::string_view::npos) name = name.substr(0, colon);
    if (!plain_name(name)) return false;
    std::optional<ordered_json> args = r.json_value();
    if (!args || !args->is_object()) return false;
    r.skip_space();
    r.eat(kKimiCallEnd);
    calls.push_back({std::string(name), args->dump()});
    return true;
}

}  // namespace

bool read_gemma4(Reader& r, std::vector<ParsedToolCall>& calls) {
    r.skip_space();
    if (!r.eat("<|tool_call>")) return false;
    r.skip_space();
    if (!r.eat("call:")) return false;
    const size_t brace = r.text.find('{', r.pos);
    if (brace == std::string_view::npos) return false;
    const std::string_view name = trimmed(r.text.substr(r.pos, brace - r.pos));
    if (!plain_name(name)) return false;
    r.pos = brace;
    GemmaValues values{r};
    std::optional<ordered_json> args = values.value();
    if (!args || !args->is_object()) return false;
    r.skip_space();
    r.eat("<tool_call|>");  // a missing end is forgiven, as for Hermes
    calls.push_back({std::string(name), args->dump()});
    return true;
}

bool read_glm(Reader& r, std::vector<ParsedToolCall>& calls, const ordered_json& tools) {
    r.skip_space();
    if (!r.eat("<tool_call>")) return false;
    const size_t key_at = r.text.find("<arg_key>", r.pos), end_at = r.text.find("</tool_call>", r.pos);
    const size_t name_end = std::min(key_at, end_at);
    if (name_end == std::string_view::npos) return false;
    const std::string_view name = trimmed(r.text.substr(r.pos, name_end - r.pos));
    if (!plain_name(name)) return false;
    r.pos = name_end;
    ordered_json args = ordered_json::object();
    for (;;) {
        r.skip_space();
        if (r.eat("</tool_call>")) break;
        if (!r.eat("<arg_key>")) return false;
        std::optional<std::string_view> key = r.until("</arg_key>");
        if (!key || trimmed(*key).empty()) return false;
        r.skip_space();
        if (!r.eat("<arg_value>")) return false;
        std::optional<std::string_view> value = r.until("</arg_value>");
        if (!value) return false;
        args[std::string(trimmed(*key))] = typed_value(tools, name, trimmed(*key), *value);
    }
    calls.push_back({std::string(name), args.dump()});
    return true;
}

bool read_deepseek(Reader& r, std::vector<ParsedToolCall>& calls) {
    r.skip_space();
    r.eat(kDeepSeekCallsBegin);  // optional: a call may also come without its section
    if (!read_calls(r, calls, read_deepseek_call)) return false;
    Reader end = r;
    end.skip_space();
    if (end.eat(kDeepSeekCallsEnd)) r = end;
    return true;
}

bool read_kimi(Reader& r, std::vector<ParsedToolCall>& calls) {
    r.skip_space();
    if (!r.eat(kKimiSectionBegin)) r.eat(kKimiSectionBeginSingular);
    if (!read_calls(r, calls, read_kimi_call)) return false;
    Reader end = r;
    end.skip_space();
    if (end.eat(kKimiSectionEnd) || end.eat(kKimiSectionEndSingular)) r = end;
    return true;
}

}  // namespace detail

std::optional<ordered_json> gemma4_value_to_json(std::string_view text) {
    detail::Reader r{text};
    detail::GemmaValues values{r};
    std::optional<ordered_json> v = values.value();
    r.skip_space();
    if (!v || !r.at_end()) return std::nullopt;
    return v;
}

}  // namespace hearth::chat
