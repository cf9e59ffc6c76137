#pragma once
// Byte-level BPE (`tokenizer.ggml.model = "gpt2"`: GPT-2, Llama 3, Qwen2/3, DeepSeek, Falcon,
// StarCoder, SmolLM, Phi-2, …), with the semantics of Hugging Face tokenizers (which llama.cpp
// follows):
//   1. (Qwen2 only) the text is NFC-normalized, as its tokenizer.json asks;
//   2. the pre-tokenizer named by `tokenizer.ggml.pre` cuts it into words (pretokenize.h);
//   3. each word's bytes become GPT-2's byte-level characters (printable bytes stand for
//      themselves, the others for U+0100…), one symbol per byte;
//   4. with ignore_merges (Llama 3, Tekken) a word that is itself a token is emitted whole;
//   5. otherwise adjacent symbols are merged by `tokenizer.ggml.merges` ("a b" lines, rank =
//      line number): lowest rank first, leftmost on equal ranks (priority queue, O(n log n));
//   6. a symbol that is no token (a vocabulary without some byte character, e.g. Falcon has none
//      for 0x14) is dropped, as in llama.cpp.
// Decoding maps the byte-level characters of a Normal token back to bytes; characters outside
// that alphabet are kept as their UTF-8. Control and user-defined tokens render as their text
// (Tokenizer::token_to_piece). So decode(encode(t)) == t for any bytes when the vocabulary has
// all 256 byte characters as Normal tokens (GPT-2, Llama 3, Qwen2 on NFC text); DeepSeek's
// vocabularies have the characters of 0xC0, 0xC1, 0xF5..0xFF, bytes that valid UTF-8 never
// contains, only as user-defined tokens, which render as UTF-8 text.
//
// A missing `tokenizer.ggml.pre` (old conversions such as gpt-neox) or an unknown one falls back
// to llama.cpp's "default" patterns and records a warning in vocab().warnings, since the words
// may then differ from the model's own tokenizer.
//
// The same class also runs Gemma 4's SentencePiece-style BPE (`tokenizer.ggml.model = "gemma4"`),
// which differs in steps 2, 3 and 6: spaces become "▁" (U+2581) and the text is only cut into runs
// of newlines and runs of other characters (a run of newlines that is itself a token is emitted
// whole); merging starts from UTF-8 characters, not bytes; and a character or merged piece that is
// no token falls back to the byte tokens <0xXX> of its bytes. Decoding turns ▁ back into spaces.
// Merges are matched by token id here, by text in llama.cpp: the same whenever both halves and
// the result of a merge are tokens, as in every real vocabulary.
#include <array>
#include <memory>
#include <unordered_map>

#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer.h"

namespace hearth {

class BpeTokenizer final : public Tokenizer {
public:
    // Throws hearth::Error when the vocabulary has no merges or a merge names unknown tokens
    // in a way that cannot be used.
    // vocab.model selects the flavour: "gemma4" or byte-level ("gpt2").
    explicit BpeTokenizer(Vocabulary vocab);

    std::string_view kind() const override { return raw_utf8_ ? "gemma4" : "gpt2"; }
    // The pre-tokenizer family in use ("llama3", "qwen2", "gpt-2", …, "default"; "gemma4").
    std::string_view pre_tokenizer() const { return spec_ ? spec_->name : "gemma4"; }
    bool ignore_merges() const { return spec_ && spec_->ignore_merges; }

    // GPT-2's byte → character mapping (and back; -1 for a character that is no byte).
    static uint32_t byte_to_char(uint8_t byte);
    static int char_to_byte(uint32_t cp);

protected:
    void encode_text(std::string_view text, bool after_special,
                     std::vector<TokenId>& out) const override;
    std::string normal_piece_bytes(const std::string& piece) const override;

private:
    void init_byte_level();  // pre-tokenizer and byte characters of the "gpt2" flavour
    void encode_word(std::string_view word, std::vector<TokenId>& out) const;
    void encode_gemma4(std::string_view text, std::vector<TokenId>& out) const;

    struct Merge {
        int32_t rank;
        TokenId result;
    };
    static uint64_t pair_key(TokenId a, TokenId b) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    }

    // Gemma 4: symbols start as UTF-8 characters and ▁ stands for a space; no `spec_`/`pre_`.
    bool raw_utf8_ = false;
    const PreTokenizerSpec* spec_ = nullptr;
    std::unique_ptr<PreTokenizer> pre_;
    // byte → token of its byte-level character (gpt2) or of its <0xXX> piece (gemma4)
    std::array<TokenId, 256> byte_tokens_{};
    std::array<std::string, 256> byte_chars_;     // byte → UTF-8 of its byte-level character
    std::unordered_map<uint64_t, Merge> merges_;  // (left id, right id) → rank, merged id
};

}  // namespace hearth
