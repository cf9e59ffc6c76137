#pragma once
// Tool calls in a model's reply. Each model family writes them its own way; the family is read
// from the chat template (the template shows the model how its calls look):
//
//   Hermes   (Qwen 2.5, Qwen 3, Hermes 2 Pro, Granite 4)  <tool_call>{"name": "f", "arguments": {...}}</tool_call>
//   QwenXml  (Qwen 3.5, Qwen3-Coder)  <tool_call><function=f><parameter=p>value</parameter></function></tool_call>
//   Llama3   (Llama 3.1 / 3.2 / 4)    {"name": "f", "parameters": {...}}, optionally after <|python_tag|>
//   Mistral  (v0.3, Nemo, Small 3.2)  [TOOL_CALLS][{"name": "f", "arguments": {...}}]  or  [TOOL_CALLS]f[ARGS]{...}
//   Phi4Mini                          functools[{"name": "f", "arguments": {...}}]  or  <|tool_call|>...<|/tool_call|>
//   Gemma4   (Gemma 4)                <|tool_call>call:f{key:<|"|>text<|"|>,n:3}<tool_call|>  (its own value syntax)
//   Glm      (GLM 4.5 / 4.6 / 4.7)    <tool_call>f<arg_key>k</arg_key><arg_value>v</arg_value></tool_call>
//   DeepSeek (V3, R1, V3.1)           <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{...}<｜tool▁call▁end｜>…
//                                     (V3 / R1: function<｜tool▁sep｜>f\n```json\n{...}\n```)
//   Kimi     (Kimi K2)                <|tool_calls_section_begin|><|tool_call_begin|>functions.f:0
//                                     <|tool_call_argument_begin|>{...}<|tool_call_end|>…<|tool_calls_section_end|>
//   Harmony  (gpt-oss)                read by chat::ReplyStream (harmony.h), nothing to do here
//
// A reply is text up to the family's first trigger ("<tool_call>", "[TOOL_CALLS]", ...), then
// calls. What cannot be read as a call (unterminated JSON, garbage, a call without a name) stays
// text: parsing never throws.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::chat {

enum class ToolCallFamily { None, Hermes, QwenXml, Llama3, Mistral, Phi4Mini, Harmony, Gemma4, Glm, DeepSeek, Kimi };

// The family whose calls `template_source` writes or describes; None when hearth does not know it.
ToolCallFamily detect_tool_call_family(std::string_view template_source);
const char* tool_call_family_name(ToolCallFamily family);

struct ParsedToolCall {
    std::string name;
    std::string arguments;  // a JSON object, as text
};

struct ToolCallReply {
    std::string content;  // the text that is not a call
    std::vector<ParsedToolCall> calls;
};

// Splits a whole reply (its answer part, reasoning already removed). `tools`: the request's tools
// ([{"type": "function", "function": {"name", "parameters"}}], or null); QwenXml reads their
// parameter schemas to type values (a "string" parameter stays text, others are read as JSON).
ToolCallReply parse_tool_calls(ToolCallFamily family, std::string_view reply,
                               const nlohmann::ordered_json& tools = nullptr);

// Gemma 4's value syntax as JSON: strings between <|"|> delimiters (taken as written, no
// escapes), numbers, true/false/null bare, objects {key:value,…} with bare (or <|"|>-quoted)
// keys, arrays [value,…]. The whole text must be one value; nullopt otherwise.
std::optional<nlohmann::ordered_json> gemma4_value_to_json(std::string_view text);

// The same, as the reply streams in: push() returns the text that is certainly content (text from
// a trigger on, or what may be the start of one, is held back); finish() parses what was held.
class ToolCallStream {
public:
    ToolCallStream(ToolCallFamily family, nlohmann::ordered_json tools)
        : family_(family), tools_(std::move(tools)) {}
    std::string push(std::string_view text);
    ToolCallReply finish();

private:
    ToolCallFamily family_;
    nlohmann::ordered_json tools_;
    std::string held_;
    bool in_call_ = false;
};

}  // namespace hearth::chat
