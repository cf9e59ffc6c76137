#include "cli/reply_printer.h"

#include <string>

namespace hearth::cli {
namespace {

constexpr std::string_view kFaint = "\x1b[2m", kReset = "\x1b[0m";

}  // namespace

ReplyPrinter::ReplyPrinter(std::FILE* out, bool hide_thinking, bool styled)
    : out_(out), hide_thinking_(hide_thinking), styled_(styled) {}

void ReplyPrinter::write(std::string_view s) {
    if (s.empty()) return;
    std::fwrite(s.data(), 1, s.size(), out_);
    wrote_ = true;
}

void ReplyPrinter::close_part() {
    if (!open_) return;
    using chat::ReplyPart;
    if (part_ == ReplyPart::Thinking && !hide_thinking_) {
        if (styled_) write(kReset);
        write("\n...done thinking.\n\n");
    } else if (part_ == ReplyPart::ToolCall) {
        write("\n");
    }
    open_ = false;
}

void ReplyPrinter::print(const chat::ReplyStream::Piece& piece) {
    using chat::ReplyPart;
    const bool same = open_ && piece.part == part_ && piece.tool == tool_;
    if (!same) {
        close_part();
        part_ = piece.part;
        tool_ = piece.tool;
        open_ = true;
        if (part_ == ReplyPart::Thinking && !hide_thinking_) {
            write("Thinking...\n");
            if (styled_) write(kFaint);
        } else if (part_ == ReplyPart::ToolCall) {
            write("[tool call " + tool_ + "] ");
        }
    }
    if (part_ == ReplyPart::Thinking && hide_thinking_) return;
    write(piece.text);
}

void ReplyPrinter::push(std::string_view text) {
    for (const chat::ReplyStream::Piece& p : stream_.push(text)) print(p);
    std::fflush(out_);
}

void ReplyPrinter::finish() {
    for (const chat::ReplyStream::Piece& p : stream_.flush()) print(p);
    if (open_ && part_ == chat::ReplyPart::Thinking && !hide_thinking_ && styled_) write(kReset);
    open_ = false;  // a cut-off thought or call ends with the answer: no closing line
    std::fflush(out_);
}

}  // namespace hearth::cli
