#include "chat/harmony.h"

namespace hearth::chat {

using namespace harmony_markup;

namespace {

// The word after `key` in a message header, up to a space or the next '<'.
std::string header_word(std::string_view header, std::string_view key) {
    const size_t at = header.find(key);
    if (at == std::string_view::npos) return {};
    const size_t from = at + key.size();
    size_t to = from;
    while (to < header.size() && header[to] != ' ' && header[to] != '<') ++to;
    return std::string(header.substr(from, to - from));
}

}  // namespace

ReplyPart harmony_part(std::string_view header, std::string& tool) {
    const std::string recipient = header_word(header, "to=");
    if (recipient.rfind("functions.", 0) == 0) {
        tool = recipient.substr(10);
        return ReplyPart::ToolCall;
    }
    return header_word(header, kChannel) == "analysis" ? ReplyPart::Thinking : ReplyPart::Content;
}

namespace {

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
        switch (harmony_part(header, tool)) {
            case ReplyPart::ToolCall: reply.tool_calls.push_back({std::move(tool), std::string(body)}); break;
            case ReplyPart::Thinking: append_line(reply.thinking, body); break;
            case ReplyPart::Content: append_line(reply.content, body); break;
        }
    }
    return reply;
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
