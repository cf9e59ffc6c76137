#pragma once
// The vocabulary of a model as GGUF stores it (`tokenizer.ggml.*`): pieces, scores, token types,
// special token ids and the flags that say which special tokens encoding adds. Shared by every
// tokenizer kind; what the pieces mean (SentencePiece "▁" text, GPT-2 byte-level text) is up to
// the tokenizer that uses them.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hearth {

namespace gguf {
class File;
}

using TokenId = int32_t;
inline constexpr TokenId kNoToken = -1;  // "no such token" (GGUF writes 0xFFFFFFFF or -1)

// GGUF `tokenizer.ggml.token_type` values (SentencePiece's piece types). Values outside 1..6
// load as Undefined: never rendered, never matched as special text.
enum class TokenType : uint8_t {
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
};
const char* token_type_name(TokenType type);

// The byte a SentencePiece byte piece "<0xNN>" stands for (hex in either case), or -1.
int byte_piece_value(std::string_view piece);

struct SpecialTokens {
    TokenId bos = kNoToken;  // tokenizer.ggml.bos_token_id
    TokenId eos = kNoToken;  // tokenizer.ggml.eos_token_id
    TokenId unk = kNoToken;  // tokenizer.ggml.unknown_token_id
    TokenId pad = kNoToken;  // tokenizer.ggml.padding_token_id
    TokenId sep = kNoToken;  // tokenizer.ggml.seperator_token_id (sic)
    TokenId eot = kNoToken;  // tokenizer.ggml.eot_token_id, else found by text (<|eot_id|>, <|end|> …)
    TokenId eom = kNoToken;  // tokenizer.ggml.eom_token_id, else <|eom_id|> when present
};

struct Vocabulary {
    // Filled by from_gguf() or by hand (tests); call finalize() after filling by hand.
    std::string source;           // the file the vocabulary came from; names it in errors
    std::string model;            // tokenizer.ggml.model ("llama", "gpt2", …); "" when absent
    std::string pre;              // tokenizer.ggml.pre (pre-tokenizer name of BPE models)
    std::vector<std::string> pieces;  // [n_vocab] token text as stored (SentencePiece uses ▁)
    std::vector<float> scores;        // [n_vocab] or empty when the file has none
    std::vector<TokenType> types;     // [n_vocab]; finalize() fills Normal when the file has none
    std::vector<std::string> merges;  // tokenizer.ggml.merges ("a b" per line); BPE only
    SpecialTokens special;
    bool add_bos = false;           // tokenizer.ggml.add_bos_token
    bool add_eos = false;           // tokenizer.ggml.add_eos_token
    bool add_space_prefix = false;  // tokenizer.ggml.add_space_prefix (SentencePiece dummy prefix)
    // Things a front-end should tell the user about this vocabulary (e.g. a BPE pre-tokenizer
    // that is not known and was replaced by a fallback). Filled by the tokenizer.
    std::vector<std::string> warnings;
    // Set by finalize(): every id that ends generation (eos, eot, eom and end-of-turn tokens
    // recognized by their text, as llama.cpp does), sorted.
    std::vector<TokenId> end_of_generation;
    // Set by finalize(): reply markup (harmony channels, tool-call and thought markers, Mistral's
    // [TOOL_CALLS]) as a flag per id. These stay Control, so the text of a message's content never
    // becomes them (encode() matches them only with parse_special, outside literal ranges), but
    // the decoder renders their text: the reply and tool-call readers must see them.
    std::vector<bool> reply_markup;

    // Reads `tokenizer.ggml.*` from a GGUF file and finalizes. Defaults for keys the file lacks
    // follow llama.cpp: for model "llama" bos=1, eos=2, unk=0, add_bos=true, add_eos=false,
    // add_space_prefix=true; for "gemma4" add_bos=true even when the file says false; for other
    // models no special ids and all flags false.
    // Throws hearth::Error "<path>: <problem>" naming the key.
    static Vocabulary from_gguf(const gguf::File& file);

    // Checks array lengths and special ids, fills in missing token types, finds the
    // end-of-generation tokens (marking end-of-turn tokens found by their text as Control, as
    // llama.cpp does) and builds the piece → id index. Throws hearth::Error naming `source`.
    void finalize();

    int32_t size() const { return static_cast<int32_t>(pieces.size()); }
    bool contains(TokenId id) const { return id >= 0 && id < size(); }
    // The id of a piece, or kNoToken. Valid after finalize().
    TokenId find(std::string_view piece) const;
    // Checked accessors: throw hearth::Error when `id` is out of range.
    const std::string& piece(TokenId id) const;
    TokenType type(TokenId id) const;
    float score(TokenId id) const;  // 0 when the vocabulary has no scores
    bool is_end_of_generation(TokenId id) const;
    bool is_reply_markup(TokenId id) const { return contains(id) && id < static_cast<TokenId>(reply_markup.size()) && reply_markup[static_cast<size_t>(id)]; }

private:
    void check_id(TokenId id) const;

    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, TokenId, Hash, std::equal_to<>> index_;
};

}  // namespace hearth
