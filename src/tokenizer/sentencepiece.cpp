#include "tokenizer/sentencepiece.h"

#include <queue>

#include "common/error.h"
#include "tokenizer/utf8.h"

namespace hearth {

namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // ▁ U+2581

// One symbol of the text being merged: a contiguous byte range, linked to its neighbours.
struct Symbol {
    int prev;
    int next;  // -1 at the ends
    uint32_t start;
    uint32_t len;  // 0 once merged into the symbol on its left
};

// A candidate merge of two adjacent symbols into the piece `score` belongs to.
struct Bigram {
    float score;
    int left;
    int right;
    uint32_t size;  // len(left) + len(right) when queued; stale if that changed
};

// Highest score first; on equal scores the leftmost pair first.
struct BigramOrder {
    bool operator()(const Bigram& a, const Bigram& b) const {
        return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
};

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(Vocabulary vocab) : Tokenizer(std::move(vocab)) {
    if (vocab_.scores.empty())
        fail("{}: missing tokenizer.ggml.scores (SentencePiece merges need them)", vocab_.source);
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) {
        const char name[] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
        TokenId id = vocab_.find(std::string_view(name, sizeof(name)));
        if (id == kNoToken) id = vocab_.find(std::string_view(reinterpret_cast<const char*>(&b), 1));
        if (id == kNoToken) id = vocab_.special.unk;
        byte_tokens_[b] = id;
    }
    build_piece_cache();
}

void SentencePieceTokenizer::encode_text(std::string_view text, bool after_special,
                                         std::vector<TokenId>& out) const {
    // 1. Escape spaces, add the dummy prefix.
    std::string s;
    s.reserve(text.size() + 3 + text.size() / 2);
    if (vocab_.add_space_prefix && after_special) s += kSpaceMark;
    for (char c : text) {
        if (c == ' ') s += kSpaceMark;
        else s += c;
    }
    if (s.empty()) return;
    if (s.size() > 0x7FFFFFFFu) fail("{}: text of {} bytes is too long to tokenize", vocab_.source, s.size());

    // 2. One symbol per UTF-8 character. A lead byte without its continuation bytes is a
    //    symbol of its own (llama.cpp lets it swallow the next bytes, which can turn a
    //    following space into the bytes of ▁; for valid UTF-8 both agree).
    std::vector<Symbol> symbols;
    symbols.reserve(s.size());
    for (size_t offs = 0; offs < s.size();) {
        size_t len = utf8::sequence_length(static_cast<uint8_t>(s[offs]));
        if (len > s.size() - offs) len = 1;
        for (size_t k = 1; k < len; ++k) {
            if ((static_cast<uint8_t>(s[offs + k]) & 0xC0) != 0x80) {
                len = 1;
                break;
            }
        }
        const int index = static_cast<int>(symbols.size());
        symbols.push_back({index - 1, offs + len == s.size() ? -1 : index + 1,
                           static_cast<uint32_t>(offs), static_cast<uint32_t>(len)});
        offs += len;
    }

    // 3. Merge the best-scoring adjacent pair until no pair forms a piece.
    std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
    auto try_add = [&](int left, int right) {
        if (left < 0 || right < 0) return;
        const Symbol& l = symbols[left];
        const Symbol& r = symbols[right];
        const TokenId id = vocab_.find(std::string_view(s).substr(l.start, l.len + r.len));
        if (id == kNoToken) return;
        queue.push({vocab_.scores[id], left, right, l.len + r.len});
    };
    for (int i = 1; i < static_cast<int>(symbols.size()); ++i) try_add(i - 1, i);

    while (!queue.empty()) {
        const Bigram bigram = queue.top();
        queue.pop();
        Symbol& left = symbols[bigram.left];
        Symbol& right = symbols[bigram.right];
        // Skip pairs whose symbols changed since they were queued.
        if (left.len == 0 || right.len == 0 || left.len + right.len != bigram.size) continue;
        left.len += right.len;
        right.len = 0;
        left.next = right.next;
        if (right.next >= 0) symbols[right.next].prev = bigram.left;
        try_add(left.prev, bigram.left);
        try_add(bigram.left, left.next);
    }

    // 4. Emit pieces; characters that are not pieces fall back to byte tokens.
    for (int i = 0; i != -1; i = symbols[i].next) {
        const Symbol& sym = symbols[i];
        const std::string_view piece = std::string_view(s).substr(sym.start, sym.len);
        if (const TokenId id = vocab_.find(piece); id != kNoToken) {
            out.push_back(id);
            continue;
        }
        for (char c : piece) {
            const auto b = static_cast<uint8_t>(c);
            if (byte_tokens_[b] == kNoToken)
                fail("{}: byte 0x{:02X} has no token (no <0x{:02X}> piece and no unknown token)",
                     vocab_.source, b, b);
            out.push_back(byte_tokens_[b]);
        }
    }
}

std::string SentencePieceTokenizer::normal_piece_bytes(const std::string& piece) const {
    std::string out;
    out.reserve(piece.size());
    for (size_t i = 0; i < piece.size();) {
        if (piece.compare(i, kSpaceMark.size(), kSpaceMark) == 0) {
            out += ' ';
            i += kSpaceMark.size();
        } else {
            out += piece[i++];
        }
    }
    return out;
}

}  // namespace hearth
