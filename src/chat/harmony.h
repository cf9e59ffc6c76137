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

namespace hearth::chat {

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

// What one harmony message is, from its header (the text between <|start|> and <|message|>).
enum class HarmonyPart {
    Thinking,  // the analysis channel
    Content,   // the final channel, and commentary that is not addressed to a tool (preambles)
    ToolCall,  // a message to "functions.NAME": its body is the call's arguments
};

// Turns streamed harmony text into what a reader should see, as it arrives: the markup goes,
// each run of text comes labelled with the part it belongs to. Markup split across pushes is
// held back until it is complete. Text that does not start with markup passes through as
// Content (models without harmony).
class HarmonyStream {
public:
    struct Piece {
        HarmonyPart part;
        std::string text;
        std::string tool;  // ToolCall: the function's name
    };
    std::vector<Piece> push(std::string_view text);
    // The end of the stream: whatever was held back (an unfinished marker is text after all).
    std::vector<Piece> flush();

private:
    enum class State { Undecided, Plain, Header, Body, Between };
    void emit(std::vector<Piece>& out, std::string_view text);
    void marker(std::vector<Piece>& out, std::string_view m);

    State state_ = State::Undecided;
    std::string pending_;  // text not yet handled (a marker may be incomplete)
    std::string header_;
    HarmonyPart part_ = HarmonyPart::Content;
    std::string tool_;
};

// The assistant message to add to a conversation for what the model generated: for harmony
// output {"role": "assistant", "content": final, "thinking": analysis (when any),
// "tool_calls": [...] (when any; arguments parsed as JSON when they are JSON)}, otherwise
// {"role": "assistant", "content": generated}.
nlohmann::ordered_json assistant_message(std::string_view generated);

}  // namespace hearth::chat
