#include "engine/prompt.h"

#include <array>
#include <cstdint>

#include "chat/error.h"

namespace hearth {

namespace {

using nlohmann::ordered_json;

// U+E000 and U+E001 (private use): not whitespace, no case, kept as-is by tojson (transformers'
// ensure_ascii=False), so templates pass markers through unchanged.
constexpr std::string_view kOpen = "\xEE\x80\x80";
constexpr std::string_view kClose = "\xEE\x80\x81";
constexpr size_t kMaxIndexDigits = 9;

void put_first_bos(const Tokenizer& tokenizer, std::vector<TokenId>& tokens) {
    const TokenId bos = tokenizer.bos();
    if (tokenizer.vocab().add_bos && bos != kNoToken && (tokens.empty() || tokens.front() != bos))
        tokens.insert(tokens.begin(), bos);
}

// Replaces the special-token text in strings with markers and puts it back after rendering.
class ContentShield {
public:
    explicit ContentShield(const Tokenizer& tokenizer) {
        // special_tokens() is longest first, so the first match at a position is the longest.
        // UserDefined tokens are left alone: encode() matches them in any text, as llama.cpp and
        // Hugging Face do, so shielding them would change nothing.
        for (TokenId id : tokenizer.special_tokens()) {
            const TokenType type = tokenizer.vocab().types[id];
            if (type == TokenType::Control || type == TokenType::Unknown) {
                const std::string& text = tokenizer.vocab().pieces[id];
                by_first_byte_[static_cast<uint8_t>(text[0])].push_back(&text);
            }
        }
    }

    // Every special-token text and every U+E000 already in `s` (so a marker is never forged or
    // confused with the text's own characters) becomes a marker.
    std::string shield_text(std::string_view s) {
        std::string out;
        out.reserve(s.size());
        for (size_t i = 0; i < s.size();) {
            const std::string_view rest = s.substr(i);
            size_t length = rest.starts_with(kOpen) ? kOpen.size() : 0;
            if (length == 0) {
                for (const std::string* text : by_first_byte_[static_cast<uint8_t>(s[i])])
                    if (rest.starts_with(*text)) {
                        length = text->size();
                        break;
                    }
            }
            if (length == 0) {
                out.push_back(s[i++]);
                continue;
            }
            out += kOpen;
            out += std::to_string(originals_.size());
            out += kClose;
            originals_.emplace_back(rest.substr(0, length));
            i += length;
        }
        return out;
    }

    // Strings, object keys included, anywhere in `j`.
    ordered_json shield(const ordered_json& j) {
        if (j.is_string()) return shield_text(j.get_ref<const std::string&>());
        if (j.is_array()) {
            ordered_json out = ordered_json::array();
            for (const auto& e : j) out.push_back(shield(e));
            return out;
        }
        if (j.is_object()) {
            ordered_json out = ordered_json::object();
            for (auto it = j.begin(); it != j.end(); ++it) out[shield_text(it.key())] = shield(it.value());
            return out;
        }
        return j;
    }

    bool empty() const { return originals_.empty(); }

    ChatPrompt restore(std::string_view rendered) const {
        ChatPrompt p;
        p.text.reserve(rendered.size());
        for (size_t i = 0; i < rendered.size();) {
            if (rendered.substr(i).starts_with(kOpen)) {
                size_t j = i + kOpen.size();
                size_t index = 0, digits = 0;
                while (j < rendered.size() && digits < kMaxIndexDigits && rendered[j] >= '0' && rendered[j] <= '9') {
                    index = index * 10 + static_cast<size_t>(rendered[j] - '0');
                    ++j, ++digits;
                }
                if (digits > 0 && index < originals_.size() && rendered.substr(j).starts_with(kClose)) {
                    const size_t begin = p.text.size();
                    p.text += originals_[index];
                    p.literal.push_back({begin, p.text.size()});
                    i = j + kClose.size();
                    continue;
                }
            }
            // Not one of our markers (the template's own text, or a marker it cut apart): as is.
            p.text.push_back(rendered[i++]);
        }
        return p;
    }

private:
    std::array<std::vector<const std::string*>, 256> by_first_byte_;
    std::vector<std::string> originals_;
};

}  // namespace

std::vector<TokenId> tokenize_prompt(const Tokenizer& tokenizer, std::string_view text, bool add_special,
                                     bool parse_special) {
    std::vector<TokenId> tokens = tokenizer.encode(text, add_special, parse_special);
    // The text began with BOS's own text, parsed: that BOS stands, the added one goes.
    const TokenId bos = tokenizer.bos();
    if (add_special && tokenizer.vocab().add_bos && tokens.size() >= 2 && tokens[0] == bos && tokens[1] == bos)
        tokens.erase(tokens.begin());
    return tokens;
}

ChatPrompt render_chat_prompt(const chat::ChatTemplate& tmpl, const chat::ChatInputs& inputs,
                              const Tokenizer& tokenizer) {
    ContentShield shield(tokenizer);
    chat::ChatInputs shielded = inputs;
    shielded.messages = shield.shield(inputs.messages);
    shielded.tools = shield.shield(inputs.tools);
    shielded.kwargs = shield.shield(inputs.kwargs);
    std::string rendered;
    try {
        rendered = chat::render_chat(tmpl, shielded);
    } catch (const chat::TemplateError& e) {
        // raise_exception(message.content) must show the user's text, not markers.
        if (shield.empty()) throw;
        throw chat::TemplateError(e.kind(), shield.restore(e.message()).text, e.line(), e.column());
    }
    if (shield.empty()) return {rendered, {}};
    return shield.restore(rendered);
}

std::vector<TokenId> tokenize_chat_prompt(const Tokenizer& tokenizer, const ChatPrompt& prompt, bool add_bos) {
    std::vector<TokenId> tokens =
        tokenizer.encode(prompt.text, /*add_special=*/false, /*parse_special=*/true, prompt.literal);
    if (add_bos) put_first_bos(tokenizer, tokens);
    return tokens;
}

}  // namespace hearth
