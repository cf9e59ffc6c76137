#pragma once
// The parts a model's reply can hold once its markup is read.

namespace hearth::chat {

enum class ReplyPart {
    Thinking,  // reasoning: harmony's analysis channel, or text inside <think>…</think>
    Content,   // the answer (harmony: the final channel, and commentary not addressed to a tool)
    ToolCall,  // a call's arguments (harmony: a message to "functions.NAME")
};

}  // namespace hearth::chat
