#pragma once
// Prints a chat answer to the terminal as it streams. Reasoning markup (gpt-oss harmony,
// <think> tags: chat/reply_stream.h) is never shown: the reasoning is framed as thinking (faint
// on a terminal, or left out with --hide-thinking), tool calls get one labelled line each, and
// the answer is printed as is. Other models' text passes through unchanged.
#include <cstdio>
#include <string_view>

#include "chat/reply_stream.h"

namespace hearth::cli {

class ReplyPrinter {
public:
    ReplyPrinter(std::FILE* out, bool hide_thinking, bool styled);
    // Before the first push: the prompt left a <think> block open, so the answer starts as thinking.
    void begin_in_thinking() { stream_ = chat::ReplyStream(true); }
    void push(std::string_view text);
    // The end of the answer: prints anything held back and closes an open part.
    void finish();
    bool wrote() const { return wrote_; }

private:
    void print(const chat::ReplyStream::Piece& piece);
    void close_part();
    void write(std::string_view s);

    std::FILE* out_;
    bool hide_thinking_, styled_;
    chat::ReplyStream stream_;
    bool open_ = false;  // a part has started
    chat::ReplyPart part_ = chat::ReplyPart::Content;
    std::string tool_;
    bool wrote_ = false;
};

}  // namespace hearth::cli
