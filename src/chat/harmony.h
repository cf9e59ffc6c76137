#pragma once
// gpt-oss answers in OpenAI's "harmony" format: after the generation prompt
// "<|start|>assistant" it writes one or more messages, each with a channel,
//
//   <|channel|>analysis<|message|>reasoning...<|end|>
//   <|start|>assistant<|channel|>final<|message|>the answer
//   <|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>{"location": "Oslo"}
//
// and stops at <|return|> (done) or <|call|> (a tool call). Its chat template refuses an
// assistant message whose content still carries that markup: the reasoning belongs in
// "thinking", the answer in "content", tool calls in "tool_calls". This splits a reply so.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/reply_part.h"

namespace hearth::chat {

// The markup tokens, as text.
namespace harmony_markup {
inline constexpr std::string_view kStart = "<|start|>", kChannel = "<|channel|>", kMessage = "<|message|>";
inline constexpr std::string_view kTerminators[] = {"<|end|>", "<|return|>", "<|call|>"};
}  // namespace harmony_markup

struct HarmonyToolCall {
    std::string name;       // "get_weather" from the recipient "functions.get_weather"
    std::string arguments;  // the message body as written (JSON text when constrained to json)
};

struct HarmonyReply {
    std::string thinking;  // analysis messages, joined by "\n"
    std::string content;   // final messages and commentary without a recipient (preambles)
    std::vector<HarmonyToolCall> tool_calls;
};

// True when `generated` carries harmony channel markup (<|channel|>).
bool is_harmony_reply(std::string_view generated);

// Splits what the model generated after "<|start|>assistant". A message cut short (no
// <|message|> yet, or no terminator) keeps what it has; text without any markup is content.
HarmonyReply parse_harmony_reply(std::string_view generated);

// Which part of a reply a harmony message is, from its header (the text between <|start|> and
// <|message|>); `tool` gets the function's name for a ToolCall.
ReplyPart harmony_part(std::string_view header, std::string& tool);

// The assistant message to add to a conversation for what the model generated: for harmony
// output {"role": "assistant", "content": final, "thinking": analysis (when any),
// "tool_calls": [...] (when any; arguments parsed as JSON when they are JSON)}, otherwise
// {"role": "assistant", "content": generated}.
nlohmann::ordered_json assistant_message(std::string_view generated);

}  // namespace hearth::chat
