#pragma once
// SentencePiece BPE (`tokenizer.ggml.model = "llama"`: Llama 1/2, Mistral v0.1, Phi-3, …), with
// llama.cpp's semantics:
//   1. spaces become ▁ (U+2581); with add_space_prefix a ▁ is put in front of the text at its
//      start and after every special token;
//   2. the text is split into UTF-8 characters; a byte that is not part of a complete
//      sequence (stray continuation, lead byte without its continuations) is a symbol of its
//      own. llama.cpp instead lets a bad lead byte swallow the next bytes; the two agree on
//      valid UTF-8, and this way decode(encode(t)) == " " + t holds for any bytes;
//   3. repeatedly the adjacent pair whose concatenation is a vocabulary piece with the highest
//      score is merged (leftmost on equal scores), using a priority queue: O(n log n);
//   4. a final symbol that is not a piece (only single characters can be) becomes one byte
//      token <0xNN> per byte, or the unknown token when the vocabulary has no byte tokens.
#include "tokenizer/tokenizer.h"

#include <array>

namespace hearth {

class SentencePieceTokenizer final : public Tokenizer {
public:
    // Throws hearth::Error when the vocabulary has no scores.
    explicit SentencePieceTokenizer(Vocabulary vocab);

    std::string_view kind() const override { return "llama"; }

protected:
    void encode_text(std::string_view text, bool after_special,
                     std::vector<TokenId>& out) const override;
    std::string normal_piece_bytes(const std::string& piece) const override;

private:
    std::array<TokenId, 256> byte_tokens_{};  // byte → <0xNN> token (or the 1-byte piece, or unk)
};

}  // namespace hearth
