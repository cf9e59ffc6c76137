#pragma once
// A chat reply as the chat routes return it, read while it streams: reasoning and answer text
// as soon as they are certain, tool calls whole at the end. Layers chat::ReplyStream (reasoning
// markup, harmony calls) and, when the request gave tools, chat::ToolCallStream (the template
// family's call markup, held back from the answer while it is generated). Pure, so the streamed
// and whole answers can be compared in unit tests.
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "chat/reply_stream.h"
#include "chat/tool_calls.h"
#include "serve/format.h"

namespace hearth::serve {

struct ReplyOptions {
    bool opens_thinking = false;  // the prompt left a <think> block open
    bool hide_thinking = false;   // the request asked for no thinking: drop it
    chat::ToolCallFamily family = chat::ToolCallFamily::None;
    nlohmann::ordered_json tools;  // null: calls in the family's markup are not read (no tools, or tool_choice none)
    bool parallel_tool_calls = true;  // false: only the first call is returned
};

class ReplyReader {
public:
    explicit ReplyReader(ReplyOptions options);
    // Thinking and content that can be sent now (tool_calls always empty).
    ChatReply push(std::string_view text);
    // What was held back, and every tool call, each with an id.
    ChatReply finish();

private:
    void sort(const std::vector<chat::ReplyStream::Piece>& pieces, ChatReply& out);

    ReplyOptions options_;
    chat::ReplyStream stream_;
    std::optional<chat::ToolCallStream> calls_reader_;
    std::vector<ToolCall> calls_;
    bool call_open_ = false;  // the last piece continued a harmony call
};

// A fresh tool call id: "call_" and 16 hex digits; 9 letters and digits for Mistral, whose
// templates refuse any other id when the call comes back in the conversation.
std::string new_tool_call_id(chat::ToolCallFamily family);

}  // namespace hearth::serve
