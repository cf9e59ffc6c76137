#pragma once
// Internal to chat/tool_calls*.cpp: the cursor the per-family readers share, and the readers.
// A reader reads one call (or one section of calls) at r.pos into `calls` and returns whether
// it succeeded; r.pos is then just after what it read. On failure nothing it found is kept.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/tool_calls.h"

namespace hearth::chat::detail {

using ordered_json = nlohmann::ordered_json;

// Markers of the families whose calls are framed by special tokens. DeepSeek writes fullwidth
// bars (U+FF5C) and U+2581 for spaces.
inline constexpr std::string_view kDeepSeekCallsBegin = "<\uFF5Ctool\u2581calls\u2581begin\uFF5C>";
inline constexpr std::string_view kDeepSeekCallsEnd = "<\uFF5Ctool\u2581calls\u2581end\uFF5C>";
inline constexpr std::string_view kDeepSeekCallBegin = "<\uFF5Ctool\u2581call\u2581begin\uFF5C>";
inline constexpr std::string_view kDeepSeekCallEnd = "<\uFF5Ctool\u2581call\u2581end\uFF5C>";
inline constexpr std::string_view kDeepSeekSep = "<\uFF5Ctool\u2581sep\uFF5C>";
inline constexpr std::string_view kKimiSectionBegin = "<|tool_calls_section_begin|>";
inline constexpr std::string_view kKimiSectionBeginSingular = "<|tool_call_section_begin|>";  // seen in the wild
inline constexpr std::string_view kKimiSectionEnd = "<|tool_calls_section_end|>";
inline constexpr std::string_view kKimiSectionEndSingular = "<|tool_call_section_end|>";
inline constexpr std::string_view kKimiCallBegin = "<|tool_call_begin|>";
inline constexpr std::string_view kKimiArgumentBegin = "<|tool_call_argument_begin|>";
inline constexpr std::string_view kKimiCallEnd = "<|tool_call_end|>";

inline bool has(std::string_view text, std::string_view what) { return text.find(what) != std::string_view::npos; }

// A cursor over the text of the calls.
struct Reader {
    std::string_view text;
    size_t pos = 0;

    void skip_space() {
        while (pos < text.size() && std::string_view(" \t\r\n").find(text[pos]) != std::string_view::npos) ++pos;
    }
    bool at_end() const { return pos >= text.size(); }
    bool eat(std::string_view what) {
        if (!text.substr(pos).starts_with(what)) return false;
        pos += what.size();
        return true;
    }
    bool peek(char c) const { return pos < text.size() && text[pos] == c; }
    // The text up to `end` (nullopt when `end` never comes); moves past `end`.
    std::optional<std::string_view> until(std::string_view end) {
        const size_t at = text.find(end, pos);
        if (at == std::string_view::npos) return std::nullopt;
        std::string_view out = text.substr(pos, at - pos);
        pos = at + end.size();
        return out;
    }
    // One JSON object or array (balanced brackets, strings skipped), parsed; nullopt when it is
    // unterminated or not JSON.
    std::optional<ordered_json> json_value();
};

// A function name as models write it: not empty, no space or markup characters.
bool plain_name(std::string_view name);
// Arguments as JSON object text: an object, or a string holding one ("{}" for null).
std::optional<std::string> arguments_text(const ordered_json& args);
// Calls from one JSON value: {"name", "arguments" | "parameters"}, or an array of them.
bool add_json_calls(const ordered_json& j, std::vector<ParsedToolCall>& calls);
// The JSON type a parameter's schema asks for ("" when unknown, "any" for a list of types).
std::string schema_type(const ordered_json& tools, std::string_view function, std::string_view parameter);
// A parameter value written as text (XML-style families): JSON when the schema types the
// parameter as something other than a string and the text parses, else the text itself.
ordered_json typed_value(const ordered_json& tools, std::string_view function, std::string_view parameter,
                         std::string_view text);

// The families of tool_calls_markup.cpp.
bool read_gemma4(Reader& r, std::vector<ParsedToolCall>& calls);
bool read_glm(Reader& r, std::vector<ParsedToolCall>& calls, const ordered_json& tools);
bool read_deepseek(Reader& r, std::vector<ParsedToolCall>& calls);
bool read_kimi(Reader& r, std::vector<ParsedToolCall>& calls);

}  // namespace hearth::chat::detail
