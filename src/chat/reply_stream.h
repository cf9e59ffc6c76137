#pragma once
// Turns a streamed reply into what a reader should see, as it arrives: reasoning markup goes
// and each run of text comes labelled with its part (reply_part.h). Two markups are read:
//  - gpt-oss harmony (chat/harmony.h): a reply that starts with "<|";
//  - thinking tags (Qwen 3, DeepSeek-R1 distills): a reply that starts with "<think>" is
//    thinking up to "</think>", then the answer;
//  - Gemma 4's thought channel: "<|channel>thought\n" … "<channel|>", read the same way.
// Anything else passes through as Content. Markup split across pushes is held back until it is
// complete, so the result does not depend on how the text was cut.
#include <string>
#include <string_view>
#include <vector>

#include "chat/reply_part.h"

namespace hearth::chat {

class ReplyStream {
public:
    ReplyStream() : ReplyStream(false) {}
    // `in_thinking`: the prompt already opened the thinking block (templates that end their
    // generation prompt with "<think>\n", such as Qwen3.5's), so the reply starts as thinking.
    explicit ReplyStream(bool in_thinking);
    struct Piece {
        ReplyPart part;
        std::string text;
        std::string tool;  // ToolCall: the function's name
    };
    std::vector<Piece> push(std::string_view text);
    // The end of the stream: whatever was held back (an unfinished marker is text after all).
    std::vector<Piece> flush();

private:
    enum class State { Undecided, Plain, Think, Header, Body, Between };
    void emit(std::vector<Piece>& out, std::string_view text);
    void marker(std::vector<Piece>& out, std::string_view m);
    void push_think(std::vector<Piece>& out);

    State state_ = State::Undecided;
    std::string pending_;  // text not yet handled (a marker may be incomplete)
    std::string header_;
    ReplyPart part_ = ReplyPart::Content;
    std::string tool_;
    std::string_view think_close_;     // the marker that ends the open reasoning block
    bool think_trim_newline_ = false;  // its last newline is markup (Gemma 4)
    bool skip_newlines_ = false;  // after </think>: the answer starts at its first non-newline
};

// Whether a rendered prompt leaves a <think> block open (it ends with "<think>" and
// whitespace), so the model's reply begins inside it.
bool prompt_opens_thinking(std::string_view prompt);

}  // namespace hearth::chat
