#include "chat/reply_stream.h"

#include <algorithm>
#include <array>
#include <iterator>

#include "chat/harmony.h"

namespace hearth::chat {

using namespace harmony_markup;

namespace {

// The reasoning blocks a reply may open with, and how each ends.
struct ThinkMarkers {
    std::string_view open, close;
    bool trim_newline;  // the block's text ends with a newline that belongs to the markup
};
constexpr ThinkMarkers kThinkTags = {"<think>", "</think>", false};  // Qwen 3, DeepSeek-R1, GLM, Kimi
constexpr std::array<ThinkMarkers, 2> kThinkBlocks = {
    kThinkTags,
    ThinkMarkers{"<|channel>thought\n", "<channel|>", true},  // Gemma 4's thought channel
};

}  // namespace

ReplyStream::ReplyStream(bool in_thinking) : think_close_(kThinkTags.close) {
    if (in_thinking) {
        state_ = State::Think;
        part_ = ReplyPart::Thinking;
    }
}

// Inside a reasoning block: thinking up to its closing marker (held back while the text's end
// may be the start of it), then the answer, without the blank lines that follow the marker.
void ReplyStream::push_think(std::vector<Piece>& out) {
    const std::string_view close_marker = think_close_;
    const size_t close = pending_.find(close_marker);
    if (close != std::string::npos) {
        std::string_view body = std::string_view(pending_).substr(0, close);
        if (think_trim_newline_ && body.ends_with('\n')) body.remove_suffix(1);
        emit(out, body);
        pending_.erase(0, close + close_marker.size());
        state_ = State::Plain;
        part_ = ReplyPart::Content;
        skip_newlines_ = true;
        return;
    }
    size_t keep = std::min(pending_.size(), close_marker.size() - 1);
    while (keep > 0 && !close_marker.starts_with(std::string_view(pending_).substr(pending_.size() - keep))) --keep;
    // A newline that may be the last before the marker waits too.
    if (think_trim_newline_ && pending_.size() > keep && pending_[pending_.size() - keep - 1] == '\n') ++keep;
    emit(out, std::string_view(pending_).substr(0, pending_.size() - keep));
    pending_.erase(0, pending_.size() - keep);
}

void ReplyStream::emit(std::vector<Piece>& out, std::string_view text) {
    if (text.empty()) return;
    switch (state_) {
        case State::Plain:
        case State::Think:
        case State::Body:
            if (!out.empty() && out.back().part == part_ && out.back().tool == tool_) out.back().text += text;
            else out.push_back({part_, std::string(text), tool_});
            break;
        case State::Header: header_ += text; break;
        case State::Undecided:
        case State::Between: break;  // "assistant" after <|start|> is header; stray text between messages is not shown
    }
}

void ReplyStream::marker(std::vector<Piece>& out, std::string_view m) {
    if (m == kStart) {
        state_ = State::Header;
        header_.clear();
    } else if (m == kMessage && state_ == State::Header) {
        tool_.clear();
        part_ = harmony_part(header_, tool_);
        state_ = State::Body;
    } else if (state_ == State::Body &&
               std::find(std::begin(kTerminators), std::end(kTerminators), m) != std::end(kTerminators)) {
        state_ = State::Between;
    } else if (state_ == State::Header || (state_ == State::Between && m == kChannel)) {
        // <|channel|>, <|constrain|> and the like belong to the header (the first message's
        // header begins right after the generation prompt, with <|channel|>).
        if (state_ == State::Between) header_.clear();
        state_ = State::Header;
        header_ += m;
    } else {
        emit(out, m);  // not markup where it stands: the text as written
    }
}

std::vector<ReplyStream::Piece> ReplyStream::push(std::string_view text) {
    std::vector<Piece> out;
    pending_ += text;
    if (state_ == State::Undecided) {
        const size_t lead = pending_.find_first_not_of(" \t\r\n");
        if (lead == std::string::npos) return out;
        const std::string_view p = std::string_view(pending_).substr(lead);
        const auto opens = std::find_if(kThinkBlocks.begin(), kThinkBlocks.end(),
                                        [&](const ThinkMarkers& m) { return p.starts_with(m.open); });
        const bool may_open = std::any_of(kThinkBlocks.begin(), kThinkBlocks.end(),
                                          [&](const ThinkMarkers& m) { return m.open.starts_with(p); });
        if (opens != kThinkBlocks.end()) {
            state_ = State::Think;
            part_ = ReplyPart::Thinking;
            think_close_ = opens->close;
            think_trim_newline_ = opens->trim_newline;
            pending_.erase(0, lead + opens->open.size());
        } else if (may_open || kChannel.starts_with(p) || kStart.starts_with(p)) {
            return out;  // may still become a reasoning block or a harmony header
        } else {
            // Harmony only when it opens with its own markup: other "<|...|>" tokens at the start
            // (Llama's <|python_tag|>, Phi's <|tool_call|>) are text for the tool-call readers.
            state_ = p.starts_with(kChannel) || p.starts_with(kStart) ? State::Between : State::Plain;
            part_ = ReplyPart::Content;
        }
    }
    if (state_ == State::Think) {
        push_think(out);
        if (state_ == State::Think) return out;
    }
    if (state_ == State::Plain) {
        if (skip_newlines_) {
            const size_t first = pending_.find_first_not_of('\n');
            if (first == std::string::npos) {
                pending_.clear();
                return out;
            }
            pending_.erase(0, first);
            skip_newlines_ = false;
        }
        emit(out, pending_);
        pending_.clear();
        return out;
    }
    size_t pos = 0;
    while (pos < pending_.size()) {
        const size_t open = pending_.find("<|", pos);
        if (open == std::string::npos) {
            // Keep a trailing '<': it may start a marker.
            const size_t end = pending_.back() == '<' ? pending_.size() - 1 : pending_.size();
            emit(out, std::string_view(pending_).substr(pos, end - pos));
            pos = end;
            break;
        }
        emit(out, std::string_view(pending_).substr(pos, open - pos));
        const size_t close = pending_.find("|>", open + 2);
        if (close == std::string::npos) {
            pos = open;  // incomplete: wait for the rest
            break;
        }
        marker(out, std::string_view(pending_).substr(open, close + 2 - open));
        pos = close + 2;
    }
    pending_.erase(0, pos);
    return out;
}

std::vector<ReplyStream::Piece> ReplyStream::flush() {
    std::vector<Piece> out;
    if (state_ == State::Undecided && !pending_.empty()) state_ = State::Plain;
    emit(out, pending_);
    pending_.clear();
    return out;
}

bool prompt_opens_thinking(std::string_view prompt) {
    const size_t end = prompt.find_last_not_of(" \t\r\n");
    return end != std::string_view::npos && prompt.substr(0, end + 1).ends_with(kThinkTags.open);
}

}  // namespace hearth::chat
