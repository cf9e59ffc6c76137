#pragma once
// Pre-tokenization for byte-level BPE: the text is cut into words by a list of regular
// expressions chosen by `tokenizer.ggml.pre`, and BPE merges never cross a word boundary.
//
// Each pattern is applied in turn to every piece the previous one produced; a piece is split
// into the matches of the pattern and the text between them (Hugging Face's Split pre-tokenizer
// with behavior "Isolated", and llama.cpp's unicode_regex_split). The patterns are those of the
// models' tokenizer.json files (or llama.cpp's translation of a Sequence of pre-tokenizers into
// such a list); they run on a small backtracking matcher over Unicode code points written for
// this (pretokenize.cpp), because std::regex knows no \p{L}.
//
// The matcher implements what these patterns use, with Perl/Oniguruma semantics (leftmost
// alternative first, greedy quantifiers, backtracking):
//   literals (UTF-8), `.`, classes `[...]` / `[^...]` with ranges, escapes \s \S \d \D \w \W
//   \r \n \t \f \v \xHH \x{H…} \uHHHH and \p{..} / \P{..} for general categories (L, Lu, Ll, Lt,
//   Lm, Lo, M, Mn, Mc, Me, N, Nd, Nl, No, P, P*, S, S*, Z, Z*, C, C*), groups (…) (?:…),
//   case-insensitive groups (?i:…), lookahead (?=…) (?!…), atomic groups (?>…), anchors ^ $
//   (start/end of the piece), quantifiers * + ? {m} {m,} {m,n} (lazy with a trailing ?,
//   possessive with a trailing +).
// \s is the Unicode White_Space property; \d is \p{Nd}; \w is [\p{L}\p{M}\p{Nd}\p{Pc}];
// (?i:) folds ASCII letters plus ſ/s and K (Kelvin)/k, as Unicode simple case folding does.
// Anything else (lookbehind, backreferences, \p{Script}) is a syntax error, reported with the
// position in the pattern. On long pieces the search remembers the (instruction, position)
// states that failed, so the work stays linear in the length of the piece (a pattern like
// `\s+$` is quadratic with plain backtracking, as in llama.cpp's std::regex).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hearth {

// One compiled pattern.
class PreTokenizerRegex {
public:
    // Throws hearth::Error "pre-tokenizer pattern '<p>': <problem> at offset N".
    explicit PreTokenizerRegex(std::string_view pattern);
    ~PreTokenizerRegex();
    PreTokenizerRegex(PreTokenizerRegex&&) noexcept;
    PreTokenizerRegex& operator=(PreTokenizerRegex&&) noexcept;

    const std::string& pattern() const { return pattern_; }

    // The code points being split, with their properties precomputed.
    struct Text {
        std::vector<uint32_t> cps;
        std::vector<uint8_t> props;  // unicode::Category | 0x80 when White_Space
        void assign(std::vector<uint32_t> code_points);
    };
    // A piece [begin, end) of a Text, in code points.
    struct Span {
        uint32_t begin;
        uint32_t end;
    };

    // The end of the match that starts exactly at `pos` inside `piece` (lookaheads and `$` see
    // only the piece), or -1 when there is none. An empty match counts as none.
    int64_t match_at(const Text& text, Span piece, uint32_t pos) const;
    // Appends the matches of the pattern in `piece` and the unmatched text between them, in
    // order, to `out`.
    void split(const Text& text, Span piece, std::vector<Span>& out) const;

private:
    struct Program;
    std::string pattern_;
    std::unique_ptr<Program> program_;
};

// A named pre-tokenizer: the patterns, plus what else differs per model family.
struct PreTokenizerSpec {
    std::string_view name;                   // the family, as named in messages
    std::vector<std::string_view> patterns;  // applied in order
    bool ignore_merges = false;  // a word that is itself a token is emitted whole (Llama 3)
    bool nfc = false;            // NFC-normalize the text first (Qwen2's tokenizer.json)
    bool add_bos = false;        // llama.cpp's default for add_bos_token when the file has none
};

// The spec for a `tokenizer.ggml.pre` value, or nullptr when the name is not known. The names
// follow llama.cpp (llama-bpe, qwen2, gpt-2, …); "default" is llama.cpp's fallback list.
const PreTokenizerSpec* find_pre_tokenizer(std::string_view pre);
// Every known `tokenizer.ggml.pre` name, sorted.
std::vector<std::string_view> known_pre_tokenizers();

// Splits text into words with the patterns of a spec (NFC is up to the caller).
class PreTokenizer {
public:
    // Throws hearth::Error when a pattern does not compile.
    explicit PreTokenizer(const std::vector<std::string_view>& patterns);

    // The words of `text`, as views into it; together they are exactly `text`.
    std::vector<std::string_view> split(std::string_view text) const;

private:
    std::vector<PreTokenizerRegex> regexes_;
};

}  // namespace hearth
