#include "serve/reply.h"

#include <random>

#include <fmt/format.h>

namespace hearth::serve {

ReplyReader::ReplyReader(ReplyOptions options) : options_(std::move(options)), stream_(options_.opens_thinking) {
    if (!options_.tools.is_null() && options_.family != chat::ToolCallFamily::None &&
        options_.family != chat::ToolCallFamily::Harmony)
        calls_reader_.emplace(options_.family, options_.tools);
}

// Harmony calls come as ToolCall pieces: consecutive pieces of one tool's call are one call,
// also across pushes (call_open_).
void ReplyReader::sort(const std::vector<chat::ReplyStream::Piece>& pieces, ChatReply& out) {
    for (const chat::ReplyStream::Piece& p : pieces) {
        if (p.part == chat::ReplyPart::ToolCall) {
            if (call_open_ && calls_.back().name == p.tool) calls_.back().arguments += p.text;
            else calls_.push_back({"", p.tool, p.text});
            call_open_ = true;
            continue;
        }
        call_open_ = false;
        if (p.part == chat::ReplyPart::Content) out.content += calls_reader_ ? calls_reader_->push(p.text) : p.text;
        else if (!options_.hide_thinking) out.thinking += p.text;
    }
}

ChatReply ReplyReader::push(std::string_view text) {
    ChatReply out;
    sort(stream_.push(text), out);
    return out;
}

ChatReply ReplyReader::finish() {
    ChatReply out;
    sort(stream_.flush(), out);
    if (calls_reader_) {
        chat::ToolCallReply end = calls_reader_->finish();
        out.content += end.content;
        for (chat::ParsedToolCall& c : end.calls) calls_.push_back({"", std::move(c.name), std::move(c.arguments)});
    }
    if (!options_.parallel_tool_calls && calls_.size() > 1) calls_.resize(1);
    for (ToolCall& c : calls_)
        if (c.id.empty()) c.id = new_tool_call_id(options_.family);
    out.tool_calls = std::move(calls_);
    calls_.clear();
    return out;
}

std::string new_tool_call_id(chat::ToolCallFamily family) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    if (family != chat::ToolCallFamily::Mistral) return fmt::format("call_{:016x}", rng());
    static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::string id(9, 'a');
    for (char& c : id) c = kAlphabet[rng() % kAlphabet.size()];
    return id;
}

}  // namespace hearth::serve
