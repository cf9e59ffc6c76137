#include "engine/chat_session.h"

#include "chat/reply_stream.h"

#include <algorithm>
#include <utility>

#include "chat/harmony.h"
#include "common/error.h"

namespace hearth {

using nlohmann::ordered_json;

namespace {

std::optional<std::string> token_text(const Tokenizer& tokenizer, TokenId id) {
    if (id == kNoToken || id < 0 || id >= tokenizer.n_vocab()) return std::nullopt;
    return std::string(tokenizer.token_to_piece(id, /*render_special=*/true));
}

}  // namespace

ChatFormat ChatFormat::with_template(std::string source, const Tokenizer& tokenizer) {
    ChatFormat f{chat::ChatTemplate::parse(std::move(source)), token_text(tokenizer, tokenizer.bos()),
                 token_text(tokenizer, tokenizer.eos()), false};
    f.text_arguments = chat::wants_text_arguments(f.tmpl);
    return f;
}

ChatFormat ChatFormat::for_model(const gguf::File& file, const Tokenizer& tokenizer) {
    const gguf::Value* v = file.find("tokenizer.chat_template");
    if (v && v->type == gguf::ValueType::STRING) return with_template(v->str, tokenizer);
    ChatFormat f = with_template(chat::default_chat_template(), tokenizer);
    f.is_default = true;
    return f;
}

ChatSession::ChatSession(Session& session, const Tokenizer& tokenizer, ChatFormat format)
    : session_(session), tokenizer_(tokenizer), format_(std::move(format)) {}

void ChatSession::set_messages(ordered_json messages) {
    if (!messages.is_array()) fail("a conversation must be a JSON array of messages");
    for (size_t i = 0; i < messages.size(); ++i) {
        const ordered_json& m = messages[i];
        if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
            fail("message {} of the conversation is not an object with a string \"role\"", i + 1);
    }
    messages_ = std::move(messages);
}

void ChatSession::set_system(const std::string& text) {
    const bool has = !messages_.empty() && messages_[0].value("role", "") == "system";
    if (text.empty()) {
        if (has) messages_.erase(messages_.begin());
        return;
    }
    ordered_json m = {{"role", "system"}, {"content", text}};
    if (has) messages_[0] = std::move(m);
    else messages_.insert(messages_.begin(), std::move(m));
}

void ChatSession::clear() {
    ordered_json kept = ordered_json::array();
    if (!messages_.empty() && messages_[0].value("role", "") == "system") kept.push_back(messages_[0]);
    messages_ = std::move(kept);
}

chat::ChatInputs ChatSession::inputs(bool add_generation_prompt) const {
    chat::ChatInputs in;
    in.messages = messages_;
    in.add_generation_prompt = add_generation_prompt;
    in.bos_token = format_.bos_token;
    in.eos_token = format_.eos_token;
    in.options.system_clock = true;
    format_.adapt(in);
    return in;
}

std::string ChatSession::render(bool add_generation_prompt) const {
    return chat::render_chat(format_.tmpl, inputs(add_generation_prompt));
}

int ChatSession::answer_reserve(int n_ctx, int n_predict) {
    int reserve = n_predict >= 0 ? std::min(n_predict, n_ctx / 2) : n_ctx / 4;
    return std::max(reserve, 1);
}

size_t ChatSession::first_turn_start() const {
    return !messages_.empty() && messages_[0].value("role", "") == "system" ? 1 : 0;
}

bool ChatSession::drop_oldest_turn() {
    size_t last_user = messages_.size();
    for (size_t i = messages_.size(); i-- > 0;)
        if (messages_[i].value("role", "") == "user") {
            last_user = i;
            break;
        }
    const size_t start = first_turn_start();
    if (last_user == messages_.size() || start >= last_user) return false;
    size_t end = start + 1;
    while (end < last_user && messages_[end].value("role", "") != "user") ++end;
    messages_.erase(messages_.begin() + static_cast<std::ptrdiff_t>(start),
                    messages_.begin() + static_cast<std::ptrdiff_t>(end));
    return true;
}

ChatTurnResult ChatSession::respond(const std::string& user_text, const GenerateOptions& options,
                                    const TextCallback& on_text, const DropCallback& on_drop) {
    ChatTurnResult result;
    const ordered_json before = messages_;
    std::vector<TokenId> tokens;
    const int n_ctx = session_.n_ctx();
    const int reserve = answer_reserve(n_ctx, options.n_predict);
    try {
        messages_.push_back({{"role", "user"}, {"content", user_text}});
        for (;;) {
            const ChatPrompt rendered = render_chat_prompt(format_.tmpl, inputs(true), tokenizer_);
            opens_thinking_ = chat::prompt_opens_thinking(rendered.text);
            tokens = tokenize_chat_prompt(tokenizer_, rendered);
            const auto n = static_cast<int64_t>(tokens.size());
            if (n + reserve <= n_ctx) break;
            if (drop_oldest_turn()) {
                ++result.dropped_turns;
                continue;
            }
            if (n < n_ctx) break;  // only the system message and this one left: less room, but it fits
            fail("the message does not fit in the context: the prompt has {} tokens, the context {} "
                 "(raise -c/--ctx-size or shorten the message)",
                 n, n_ctx);
        }
        if (tokens.empty()) fail("the chat template rendered an empty prompt");
    } catch (...) {
        messages_ = before;
        throw;
    }
    if (result.dropped_turns > 0 && on_drop) on_drop(result.dropped_turns);

    // Keep the KV entries of the longest prefix shared with what the cache holds.
    size_t common = 0;
    const size_t limit = std::min({cached_.size(), tokens.size(), static_cast<size_t>(session_.n_past())});
    while (common < limit && cached_[common] == tokens[common]) ++common;
    if (common == tokens.size()) --common;  // the last prompt token must be evaluated for its logits
    // A recurrent state resumes only from a checkpoint: the session says where it can.
    common = static_cast<size_t>(session_.rewind(static_cast<int>(common)));
    cached_.assign(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(common));
    result.reused_tokens = static_cast<int>(common);
    result.prompt_tokens = static_cast<int>(tokens.size());

    const std::vector<TokenId> suffix(tokens.begin() + static_cast<std::ptrdiff_t>(common), tokens.end());
    StreamDecoder decoder(tokenizer_);
    try {
        result.generation = generate(session_, tokenizer_, suffix, options, [&](TokenId id) {
            std::string piece = decoder.push(id);
            if (piece.empty()) return true;
            result.text += piece;
            return on_text ? on_text(piece) : true;
        });
    } catch (...) {
        // The cache no longer matches anything we know; start over next turn.
        session_.reset();
        cached_.clear();
        messages_ = before;
        throw;
    }
    std::string rest = decoder.flush();
    if (!rest.empty()) {
        result.text += rest;
        if (on_text) on_text(rest);
    }

    // What the cache now holds: the prompt, then the generated tokens that were evaluated.
    cached_ = tokens;
    cached_.insert(cached_.end(), result.generation.tokens.begin(), result.generation.tokens.end());
    cached_.resize(std::min(cached_.size(), static_cast<size_t>(session_.n_past())));
    session_.checkpoint();  // the next turn's prompt may share the whole reply

    // gpt-oss's reply carries channel markup its template refuses in "content": split it.
    messages_.push_back(chat::assistant_message(result.text));
    return result;
}

}  // namespace hearth
