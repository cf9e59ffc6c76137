#pragma once
// A chat conversation over one Session: the messages (OpenAI form), rendered with the model's
// chat template every turn. The KV cache keeps the tokens of the previous turn, so a new turn
// only evaluates what differs from them (usually just the new user message). When the
// conversation outgrows the context, the oldest turns (a user message and the replies after it)
// are dropped — the system message is kept — and the caller is told how many.
//
//   ChatSession chat(session, tokenizer, ChatSession::template_for(lm), {});
//   chat.set_system("Be brief.");
//   auto r = chat.respond("Hi", gen_options, [](std::string_view text) { print(text); return true; });
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/template.h"
#include "gguf/gguf.h"
#include "engine/generate.h"
#include "engine/prompt.h"
#include "engine/session.h"
#include "tokenizer/tokenizer.h"

namespace hearth {

// The template a model renders its chats with, and the special-token texts it gets.
struct ChatFormat {
    chat::ChatTemplate tmpl;
    std::optional<std::string> bos_token;  // text of the model's BOS token (nullopt: none)
    std::optional<std::string> eos_token;
    bool is_default = false;  // the model carries no template: default_chat_template() is used
    bool text_arguments = false;  // the template wants tool-call arguments as JSON text (chat::wants_text_arguments)

    // Fits messages to what the template can render (tool-call arguments as text where needed).
    void adapt(chat::ChatInputs& inputs) const {
        if (text_arguments) chat::arguments_as_text(inputs.messages);
    }

    // The model's `tokenizer.chat_template` (or the default) and its BOS/EOS texts. Throws
    // chat::TemplateError when the model's template does not parse.
    static ChatFormat for_model(const gguf::File& file, const Tokenizer& tokenizer);
    // `source` with the model's BOS/EOS texts.
    static ChatFormat with_template(std::string source, const Tokenizer& tokenizer);
};

struct ChatTurnResult {
    std::string text;          // the answer (also appended to the conversation)
    GenerateResult generation;
    int dropped_turns = 0;     // oldest turns dropped to make room before this answer
    int reused_tokens = 0;     // prompt tokens whose KV entries were kept from the previous turn
    int prompt_tokens = 0;     // the whole rendered prompt
};

class ChatSession {
public:
    ChatSession(Session& session, const Tokenizer& tokenizer, ChatFormat format);

    // The conversation in OpenAI form: [{"role": ..., "content": ...}, ...].
    const nlohmann::ordered_json& messages() const { return messages_; }
    // Replaces the conversation (a JSON array of message objects each with a string "role").
    // Throws hearth::Error naming what is wrong.
    void set_messages(nlohmann::ordered_json messages);
    // Sets (or, with "", removes) the system message, which is always first.
    void set_system(const std::string& text);
    // Forgets every message but the system message.
    void clear();

    // The conversation rendered by the template, optionally with the generation prompt.
    std::string render(bool add_generation_prompt = true) const;

    // Tokens the answer may at least have before older turns are dropped: n_predict when set
    // (at most half the context), else a quarter of the context.
    static int answer_reserve(int n_ctx, int n_predict);

    // Called with each piece of answer text as it is decoded; return false to stop the answer.
    using TextCallback = std::function<bool(std::string_view)>;
    // Called once, before generating, when oldest turns had to be dropped.
    using DropCallback = std::function<void(int dropped_turns)>;

    // Adds `user_text` as a user message, makes room in the context (dropping the oldest turns),
    // generates the answer (streaming it to on_text) and appends it as an assistant message —
    // also when it was stopped early. Throws hearth::Error (and leaves the conversation as it
    // was) when the user message alone, with the system message, does not fit.
    ChatTurnResult respond(const std::string& user_text, const GenerateOptions& options, const TextCallback& on_text,
                           const DropCallback& on_drop = {});

    // Whether the last rendered prompt left a <think> block open (the answer starts as thinking).
    bool prompt_opens_thinking() const { return opens_thinking_; }

    // Tokens currently held in the KV cache (for tests).
    const std::vector<TokenId>& cached_tokens() const { return cached_; }
    const ChatFormat& format() const { return format_; }

private:
    chat::ChatInputs inputs(bool add_generation_prompt) const;
    // Index of the first droppable message (after a leading system message), or npos.
    size_t first_turn_start() const;
    // Drops the oldest turn, keeping the last user message; false when there is none to drop.
    bool drop_oldest_turn();

    Session& session_;
    const Tokenizer& tokenizer_;
    ChatFormat format_;
    nlohmann::ordered_json messages_ = nlohmann::ordered_json::array();
    std::vector<TokenId> cached_;  // the tokens at positions [0, session.n_past())
    bool opens_thinking_ = false;
};

}  // namespace hearth
