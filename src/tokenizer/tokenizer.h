#pragma once
// Text ⇄ token ids. One abstract Tokenizer; one implementation per `tokenizer.ggml.model`
// (SentencePiece "llama", byte-level BPE "gpt2", Gemma 4's SentencePiece-style BPE "gemma4"). What all kinds share lives here:
// splitting special-token text out of the input, adding BOS/EOS, rendering ids as bytes.
//
// Semantics follow llama.cpp's llama_tokenize / llama_token_to_piece so that ids and text match
// models converted by it (see tests/unit/tokenizer_*_test.cpp for the goldens checked).
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocabulary.h"

namespace hearth {

namespace gguf {
class File;
}

// Bytes [begin, end) of a text.
struct TextRange {
    size_t begin = 0;
    size_t end = 0;
};

class Tokenizer {
public:
    virtual ~Tokenizer() = default;
    Tokenizer(const Tokenizer&) = delete;
    Tokenizer& operator=(const Tokenizer&) = delete;

    // The `tokenizer.ggml.model` this implements ("llama", "gpt2", "gemma4"; "bytes" for byte-only
    // vocabularies without the key).
    virtual std::string_view kind() const = 0;

    // Text (UTF-8, or any bytes) → ids.
    // add_special: BOS first / EOS last when the vocabulary's add_bos / add_eos say so.
    // parse_special: text equal to a Control or Unknown token ("<s>", "<|im_end|>") becomes that
    //   token; off, it is tokenized as plain text. UserDefined tokens (added vocabulary) are
    //   always matched, as in llama.cpp and Hugging Face tokenizers.
    // literal: byte ranges of `text` where parse_special does not apply — a Control/Unknown text
    //   overlapping one of them is tokenized as plain text, together with its neighbours (so the
    //   ids are those of the same text without parse_special). Chat prompts use it to keep the
    //   special-token text of message content from becoming tokens. Ranges may overlap and come
    //   in any order; a range past the end of `text` throws hearth::Error.
    std::vector<TokenId> encode(std::string_view text, bool add_special, bool parse_special = false,
                                std::span<const TextRange> literal = {}) const;

    // The bytes a token stands for: byte tokens (<0x0A>) give that byte, ▁ in SentencePiece
    // pieces becomes a space. Control and Unknown tokens give "" unless render_special, then
    // their text (reply markup, Vocabulary::reply_markup, always gives its text); Unused/Undefined tokens always "". The view stays valid as long as the
    // Tokenizer. Throws hearth::Error for an id out of range.
    std::string_view token_to_piece(TokenId id, bool render_special = false) const;

    // Concatenated pieces. Keeps the leading space a SentencePiece dummy prefix produces
    // (decode(encode(t)) == " " + t); may split UTF-8 between calls, see StreamDecoder.
    std::string decode(std::span<const TokenId> ids, bool render_special = false) const;

    // The tokens whose text encode() can match: Control, Unknown and UserDefined tokens with
    // non-empty text, longest text first (ties in id order).
    const std::vector<TokenId>& special_tokens() const { return special_by_length_; }

    int32_t n_vocab() const { return vocab_.size(); }
    const Vocabulary& vocab() const { return vocab_; }
    TokenId bos() const { return vocab_.special.bos; }
    TokenId eos() const { return vocab_.special.eos; }
    // EOS, EOT, EOM and the other end-of-turn tokens the vocabulary knows.
    bool is_end_of_generation(TokenId id) const { return vocab_.is_end_of_generation(id); }

protected:
    explicit Tokenizer(Vocabulary vocab);

    // Appends the ids of `text`, which holds no special-token text. `after_special` is true at
    // the start of the input and right after a special token (SentencePiece adds its dummy
    // prefix there).
    virtual void encode_text(std::string_view text, bool after_special,
                             std::vector<TokenId>& out) const = 0;
    // The bytes of a Normal token's piece (SentencePiece: ▁ → space; GPT-2: byte-level
    // unicode → bytes).
    virtual std::string normal_piece_bytes(const std::string& piece) const = 0;
    // Derived constructors call this last: it fills the piece cache via normal_piece_bytes().
    void build_piece_cache();

    Vocabulary vocab_;

private:
    std::vector<std::string> piece_cache_;  // [n_vocab] token_to_piece(id, render_special=true)
    std::vector<TokenId> special_by_length_;  // Control/Unknown/UserDefined, longest text first
};

// Reads the vocabulary of `file` and returns the tokenizer its `tokenizer.ggml.model` names.
// Supported: "llama" (SentencePiece), "gpt2" (byte-level BPE) and "gemma4" (BPE on ▁-escaped
// UTF-8 with <0xXX> byte fallback). A file without the key whose
// tokens are exactly the 256 byte pieces <0x00>..<0xFF> gets a byte tokenizer (one token per
// byte, no BOS/EOS unless the file names them); any other file without the key, or an
// unsupported model, is an error whose message lists the supported models.
std::unique_ptr<Tokenizer> load_tokenizer(const gguf::File& file);
// The same from a vocabulary already read (tests, tools).
std::unique_ptr<Tokenizer> make_tokenizer(Vocabulary vocab);

// Turns ids into text one at a time for streaming output: returns only complete UTF-8
// sequences and holds back a multi-byte character whose bytes arrive in several tokens
// (an emoji as four byte tokens) until it is complete. Invalid bytes are passed on rather
// than held forever.
class StreamDecoder {
public:
    explicit StreamDecoder(const Tokenizer& tokenizer, bool render_special = false)
        : tokenizer_(tokenizer), render_special_(render_special) {}

    // Text that is ready after `id`; may be "" while a character is incomplete.
    std::string push(TokenId id);
    // Whatever is still held back (an incomplete sequence at the end of generation).
    std::string flush();
    bool has_pending() const { return !pending_.empty(); }

private:
    const Tokenizer& tokenizer_;
    bool render_special_;
    std::string pending_;
};

}  // namespace hearth
