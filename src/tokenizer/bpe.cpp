#include "tokenizer/bpe.h"

#include <algorithm>

#include "common/error.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace hearth {

namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // ▁ U+2581, SentencePiece's space

// GPT-2's bytes_to_unicode(): bytes that are printable Latin-1 ('!'..'~', '¡'..'¬', '®'..'ÿ')
// stand for themselves; the other 68 get U+0100.. in byte order.
struct ByteMap {
    std::array<uint32_t, 256> to_char{};
    std::array<int16_t, 256 + 68> to_byte{};  // indexed by character; -1 = not a byte

    ByteMap() {
        to_byte.fill(-1);
        uint32_t next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable =
                (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
            to_char[b] = printable ? static_cast<uint32_t>(b) : next++;
            to_byte[to_char[b]] = static_cast<int16_t>(b);
        }
    }
};

const ByteMap& byte_map() {
    static const ByteMap map;
    return map;
}

// A symbol of the word being merged: one token, linked to its neighbours.
struct Symbol {
    TokenId id;  // kDead once merged into its left neighbour; kNoToken for an unknown character
    int32_t prev;
    int32_t next;  // -1 at the ends
    uint32_t begin;  // bytes of the word it started as (what an unknown character falls back to)
    uint32_t size;
};
constexpr TokenId kDead = -2;

// A candidate merge of two adjacent symbols; stale when either symbol changed since.
struct Candidate {
    int32_t rank;
    int32_t left;
    int32_t right;
    TokenId left_id;
    TokenId right_id;
    TokenId result;
};
// Lowest rank first; leftmost on equal ranks.
struct CandidateOrder {
    bool operator()(const Candidate& a, const Candidate& b) const {
        return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
    }
};

}  // namespace

uint32_t BpeTokenizer::byte_to_char(uint8_t byte) { return byte_map().to_char[byte]; }

int BpeTokenizer::char_to_byte(uint32_t cp) {
    const auto& m = byte_map();
    return cp < m.to_byte.size() ? m.to_byte[cp] : -1;
}

void BpeTokenizer::init_byte_level() {
    // Pre-tokenizer.
    spec_ = find_pre_tokenizer(vocab_.pre);
    if (!spec_) {
        spec_ = find_pre_tokenizer("default");
        if (vocab_.pre.empty()) {
            vocab_.warnings.push_back(fmt::format(
                "{}: no tokenizer.ggml.pre; using llama.cpp's 'default' pre-tokenizer, which may "
                "split words differently from the model's own tokenizer",
                vocab_.source));
        } else {
            std::string known;
            for (std::string_view n : known_pre_tokenizers()) {
                if (!known.empty()) known += ", ";
                known += n;
            }
            vocab_.warnings.push_back(fmt::format(
                "{}: unknown tokenizer.ggml.pre '{}'; using llama.cpp's 'default' pre-tokenizer, "
                "which may split words differently from the model's own tokenizer (known: {})",
                vocab_.source, vocab_.pre, known));
        }
    }
    pre_ = std::make_unique<PreTokenizer>(spec_->patterns);

    // Byte characters.
    for (int b = 0; b < 256; ++b) {
        unicode::append_utf8(byte_chars_[b], byte_to_char(static_cast<uint8_t>(b)));
        byte_tokens_[b] = vocab_.find(byte_chars_[b]);
    }
}

BpeTokenizer::BpeTokenizer(Vocabulary vocab)
    : Tokenizer(std::move(vocab)), raw_utf8_(vocab_.model == "gemma4") {
    if (raw_utf8_) {
        for (int b = 0; b < 256; ++b) byte_tokens_[b] = vocab_.find(fmt::format("<0x{:02X}>", b));
    } else {
        init_byte_level();
    }

    // Merges: "left right", rank = position.
    if (vocab_.merges.empty())
        fail("{}: missing tokenizer.ggml.merges (BPE tokenizers need them)", vocab_.source);
    merges_.reserve(vocab_.merges.size());
    size_t unusable = 0;
    std::string joined;
    for (size_t rank = 0; rank < vocab_.merges.size(); ++rank) {
        const std::string& line = vocab_.merges[rank];
        const size_t space = line.size() > 1 ? line.find(' ', 1) : std::string::npos;
        if (space == std::string::npos) {
            ++unusable;
            continue;
        }
        const std::string_view left = std::string_view(line).substr(0, space);
        const std::string_view right = std::string_view(line).substr(space + 1);
        joined.assign(left);
        joined += right;
        const TokenId l = vocab_.find(left), r = vocab_.find(right), result = vocab_.find(joined);
        if (l == kNoToken || r == kNoToken || result == kNoToken) {
            ++unusable;
            continue;
        }
        merges_.emplace(pair_key(l, r), Merge{static_cast<int32_t>(rank), result});  // first wins
    }
    if (unusable > 0) {
        vocab_.warnings.push_back(fmt::format(
            "{}: {} of {} merges in tokenizer.ggml.merges are malformed or name pieces that are "
            "not tokens; they are ignored",
            vocab_.source, unusable, vocab_.merges.size()));
    }
    build_piece_cache();
}

void BpeTokenizer::encode_text(std::string_view text, bool, std::vector<TokenId>& out) const {
    if (raw_utf8_) {
        encode_gemma4(text, out);
        return;
    }
    std::string normalized;
    if (spec_->nfc && !unicode::is_nfc_quick(text)) {
        normalized = unicode::nfc(text);
        text = normalized;
    }
    for (std::string_view word : pre_->split(text)) encode_word(word, out);
}

void BpeTokenizer::encode_gemma4(std::string_view text, std::vector<TokenId>& out) const {
    std::string escaped;
    escaped.reserve(text.size() + text.size() / 4);
    for (char c : text) {
        if (c == ' ') escaped += kSpaceMarker;
        else escaped += c;
    }
    const std::string_view rest = escaped;
    for (size_t begin = 0; begin < rest.size();) {
        const bool newlines = rest[begin] == '\n';
        size_t end = begin;
        while (end < rest.size() && (rest[end] == '\n') == newlines) ++end;
        const std::string_view run = rest.substr(begin, end - begin);
        begin = end;
        // llama.cpp emits a run of newlines that is a token as that token rather than merging it.
        if (newlines) {
            if (const TokenId id = vocab_.find(run); id != kNoToken) {
                out.push_back(id);
                continue;
            }
        }
        encode_word(run, out);
    }
}

void BpeTokenizer::encode_word(std::string_view word, std::vector<TokenId>& out) const {
    if (word.size() == 1 && !raw_utf8_) {
        const TokenId id = byte_tokens_[static_cast<uint8_t>(word[0])];
        if (id != kNoToken) out.push_back(id);
        return;
    }
    if (ignore_merges()) {
        std::string chars;
        chars.reserve(word.size() * 2);
        for (char c : word) chars += byte_chars_[static_cast<uint8_t>(c)];
        if (const TokenId id = vocab_.find(chars); id != kNoToken) {
            out.push_back(id);
            return;
        }
    }

    thread_local std::vector<Symbol> symbols;
    thread_local std::vector<Candidate> heap;  // a min-heap by CandidateOrder
    symbols.clear();
    heap.clear();
    if (raw_utf8_) {
        // One symbol per UTF-8 character (a stray byte counts as one); kNoToken when the
        // character is no token, to fall back to byte tokens at the end.
        for (size_t at = 0; at < word.size();) {
            const size_t len =
                std::min(word.size() - at, utf8::sequence_length(static_cast<uint8_t>(word[at])));
            const auto index = static_cast<int32_t>(symbols.size());
            symbols.push_back({vocab_.find(word.substr(at, len)), index - 1, index + 1,
                               static_cast<uint32_t>(at), static_cast<uint32_t>(len)});
            at += len;
        }
        symbols.back().next = -1;
    } else {
        const auto count = static_cast<int32_t>(word.size());
        for (int32_t i = 0; i < count; ++i)
            symbols.push_back({byte_tokens_[static_cast<uint8_t>(word[static_cast<size_t>(i)])],
                               i - 1, i + 1 < count ? i + 1 : -1, static_cast<uint32_t>(i), 1});
    }
    const auto n = static_cast<int32_t>(symbols.size());

    auto consider = [&](int32_t left, int32_t right) {
        if (left < 0 || right < 0) return;
        const TokenId a = symbols[static_cast<size_t>(left)].id;
        const TokenId b = symbols[static_cast<size_t>(right)].id;
        if (a < 0 || b < 0) return;
        const auto it = merges_.find(pair_key(a, b));
        if (it == merges_.end()) return;
        heap.push_back({it->second.rank, left, right, a, b, it->second.result});
        std::push_heap(heap.begin(), heap.end(), CandidateOrder{});
    };
    for (int32_t i = 0; i + 1 < n; ++i) consider(i, i + 1);

    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), CandidateOrder{});
        const Candidate c = heap.back();
        heap.pop_back();
        Symbol& left = symbols[static_cast<size_t>(c.left)];
        if (left.id != c.left_id || left.next != c.right) continue;
        Symbol& right = symbols[static_cast<size_t>(c.right)];
        if (right.id != c.right_id) continue;
        left.id = c.result;
        left.next = right.next;
        if (right.next >= 0) symbols[static_cast<size_t>(right.next)].prev = c.left;
        right.id = kDead;
        consider(left.prev, c.left);
        consider(c.left, left.next);
    }

    for (int32_t i = 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) {
        const Symbol& symbol = symbols[static_cast<size_t>(i)];
        if (symbol.id >= 0) {
            out.push_back(symbol.id);
        } else if (raw_utf8_) {  // a character without a token: its bytes' <0xXX> tokens
            for (char c : word.substr(symbol.begin, symbol.size))
                if (const TokenId b = byte_tokens_[static_cast<uint8_t>(c)]; b != kNoToken) out.push_back(b);
        }
        // byte-level: a byte without a token is dropped (llama.cpp)
    }
}

std::string BpeTokenizer::normal_piece_bytes(const std::string& piece) const {
    if (raw_utf8_) {
        std::string out;
        for (size_t at = 0; at < piece.size();) {
            if (piece.compare(at, kSpaceMarker.size(), kSpaceMarker) == 0) {
                out += ' ';
                at += kSpaceMarker.size();
            } else {
                out += piece[at++];
            }
        }
        return out;
    }
    std::string out;
    out.reserve(piece.size());
    for (uint32_t cp : unicode::decode(piece)) {
        const int b = char_to_byte(cp);
        if (b >= 0)
            out += static_cast<char>(b);
        else
            unicode::append_utf8(out, cp);
    }
    return out;
}

}  // namespace hearth
