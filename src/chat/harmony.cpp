#include "chat/harmony.h"

#include <algorithm>
#include <iterator>

namespace hearth::chat {

namespace {

constexpr std::string_view kStart = "<|start|>", kChannel = "<|channel|>", kMessage = "<|message|>";
constexpr std::string_view kTerminators[] = {"<|end|>", "<|return|>", "<|call|>"};

// The word after `key` in a message header, up to a space or the next '<'.
std::string header_word(std::string_view header, std::string_view key) {
    const size_t at = header.find(key);
    if (at == std::string_view::npos) return {};
    const size_t from = at + key.size();
    size_t to = from;
    while (to < header.size() && header[to] != ' ' && header[to] != '<') ++to;
    return std::string(header.substr(from, to - from));
}

// Which part a message is, and the tool it calls (ToolCall only), from its header.
HarmonyPart part_of(std::string_view header, std::string& tool) {
    const std::string recipient = header_word(header, "to=");
    if (recipient.rfind("functions.", 0) == 0) {
        tool = recipient.substr(10);
        return HarmonyPart::ToolCall;
    }
    return header_word(header, kChannel) == "analysis" ? HarmonyPart::Thinking : HarmonyPart::Content;
}

void append_line(std::string& out, std::string_view text) {
    if (text.empty()) return;
    if (!out.empty()) out += '\n';
    out += text;
}

}  // namespace

bool is_harmony_reply(std::string_view generated) { return generated.find(kChannel) != std::string_view::npos; }

HarmonyReply parse_harmony_reply(std::string_view generated) {
    HarmonyReply reply;
    if (!is_harmony_reply(generated) && generated.find(kMessage) == std::string_view::npos) {
        reply.content = std::string(generated);
        return reply;
    }
    size_t pos = 0;
    while (pos <= generated.size()) {
        size_t next = generated.find(kStart, pos);
        if (next == std::string_view::npos) next = generated.size();
        const std::string_view segment = generated.substr(pos, next - pos);
        pos = next + kStart.size();

        const size_t body_at = segment.find(kMessage);
        if (body_at == std::string_view::npos) continue;  // a header cut short: nothing said yet
        const std::string_view header = segment.substr(0, body_at);
        std::string_view body = segment.substr(body_at + kMessage.size());
        for (std::string_view t : kTerminators)
            if (const size_t end = body.find(t); end != std::string_view::npos) body = body.substr(0, end);

        std::string tool;
        switch (part_of(header, tool)) {
            case HarmonyPart::ToolCall: reply.tool_calls.push_back({std::move(tool), std::string(body)}); break;
            case HarmonyPart::Thinking: append_line(reply.thinking, body); break;
            case HarmonyPart::Content: append_line(reply.content, body); break;
        }
    }
    return reply;
}

void HarmonyStream::emit(std::vector<Piece>& out, std::string_view text) {
    if (text.empty()) return;
    switch (state_) {
        case State::Plain:
        case State::Body:
            if (!out.empty() && out.back().part == part_ && out.back().tool == tool_) out.back().text += text;
            else out.push_back({part_, std::string(text), tool_});
            break;
        case State::Header: header_ += text; break;
        case State::Undecided:
        case State::Between: break;  // "assistant" after <|start|> is header; stray text between messages is not shown
    }
}

void HarmonyStream::marker(std::vector<Piece>& out, std::string_view m) {
    if (m == kStart) {
        state_ = State::Header;
        header_.clear();
    } else if (m == kMessage && state_ == State::Header) {
        tool_.clear();
        part_ = part_of(header_, tool_);
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

std::vector<HarmonyStream::Piece> HarmonyStream::push(std::string_view text) {
    std::vector<Piece> out;
    pending_ += text;
    if (state_ == State::Undecided) {
        const std::string_view p = pending_;
        if (p.empty()) return out;
        if (p.size() < 2 && p == std::string_view("<").substr(0, p.size())) return out;  // may become "<|"
        state_ = p.rfind("<|", 0) == 0 ? State::Between : State::Plain;
        part_ = HarmonyPart::Content;
    }
    if (state_ == State::Plain) {
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

std::vector<HarmonyStream::Piece> HarmonyStream::flush() {
    std::vector<Piece> out;
    if (state_ == State::Undecided && !pending_.empty()) state_ = State::Plain;
    emit(out, pending_);
    pending_.clear();
    return out;
}

nlohmann::ordered_json assistant_message(std::string_view generated) {
    nlohmann::ordered_json m = {{"role", "assistant"}};
    if (!is_harmony_reply(generated)) {
        m["content"] = std::string(generated);
        return m;
    }
    HarmonyReply reply = parse_harmony_reply(generated);
    m["content"] = std::move(reply.content);
    if (!reply.thinking.empty()) m["thinking"] = std::move(reply.thinking);
    if (!reply.tool_calls.empty()) {
        auto calls = nlohmann::ordered_json::array();
        for (auto& call : reply.tool_calls) {
            // The template writes arguments with tojson: an object stays an object, text that is
            // not JSON stays a string.
            auto args = nlohmann::ordered_json::parse(call.arguments, nullptr, /*allow_exceptions=*/false);
            if (args.is_discarded()) args = call.arguments;
            nlohmann::ordered_json function = {{"name", call.name}, {"arguments", std::move(args)}};
            calls.push_back({{"type", "function"}, {"function", std::move(function)}});
        }
        m["tool_calls"] = std::move(calls);
    }
    return m;
}

}  // namespace hearth::chat
