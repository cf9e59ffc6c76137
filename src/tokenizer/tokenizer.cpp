#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <array>

#include "common/error.h"
#include "gguf/gguf.h"
#include "tokenizer/bpe.h"
#include "tokenizer/sentencepiece.h"
#include "tokenizer/utf8.h"

namespace hearth {

namespace {

constexpr const char* kSupportedModels = "llama, gpt2, gemma4";

bool is_special_type(TokenType t) {
    return t == TokenType::Control || t == TokenType::Unknown || t == TokenType::UserDefined;
}

// A vocabulary without `tokenizer.ggml.model` whose pieces are exactly <0x00>..<0xFF>: one
// token per byte, nothing merged. Small synthetic test models use it.
class ByteTokenizer final : public Tokenizer {
public:
    explicit ByteTokenizer(Vocabulary vocab) : Tokenizer(std::move(vocab)) {
        byte_tokens_.fill(kNoToken);
        for (TokenId id = 0; id < vocab_.size(); ++id)
            byte_tokens_[byte_piece_value(vocab_.pieces[id])] = id;
        build_piece_cache();
    }

    // Every piece is <0xNN> and every byte has one (finalize() already refused duplicates).
    static bool accepts(const Vocabulary& vocab) {
        if (vocab.size() != 256) return false;
        return std::all_of(vocab.pieces.begin(), vocab.pieces.end(),
                           [](const std::string& p) { return byte_piece_value(p) >= 0; });
    }

    std::string_view kind() const override { return "bytes"; }

protected:
    void encode_text(std::string_view text, bool, std::vector<TokenId>& out) const override {
        for (char c : text) out.push_back(byte_tokens_[static_cast<uint8_t>(c)]);
    }
    std::string normal_piece_bytes(const std::string& piece) const override {
        const int b = byte_piece_value(piece);
        return b < 0 ? piece : std::string(1, static_cast<char>(b));
    }

private:
    std::array<TokenId, 256> byte_tokens_{};
};

}  // namespace

Tokenizer::Tokenizer(Vocabulary vocab) : vocab_(std::move(vocab)) {
    for (TokenId id = 0; id < vocab_.size(); ++id) {
        if (is_special_type(vocab_.types[id]) && !vocab_.pieces[id].empty())
            special_by_length_.push_back(id);
    }
    std::stable_sort(special_by_length_.begin(), special_by_length_.end(),
                     [&](TokenId a, TokenId b) {
                         return vocab_.pieces[a].size() > vocab_.pieces[b].size();
                     });
}

void Tokenizer::build_piece_cache() {
    piece_cache_.resize(vocab_.pieces.size());
    for (TokenId id = 0; id < vocab_.size(); ++id) {
        const std::string& piece = vocab_.pieces[id];
        switch (vocab_.types[id]) {
            case TokenType::Normal: piece_cache_[id] = normal_piece_bytes(piece); break;
            case TokenType::Byte: {
                const int b = byte_piece_value(piece);
                piece_cache_[id] = b < 0 ? piece : std::string(1, static_cast<char>(b));
                break;
            }
            case TokenType::Control:
            case TokenType::Unknown:
            case TokenType::UserDefined: piece_cache_[id] = piece; break;
            case TokenType::Unused:
            case TokenType::Undefined: piece_cache_[id].clear(); break;
        }
    }
}

namespace {

// Sorted, merged literal ranges; tells whether a span of the text touches one.
class LiteralRanges {
public:
    LiteralRanges(std::span<const TextRange> ranges, size_t text_size, const std::string& source) {
        for (const TextRange& r : ranges) {
            if (r.begin > r.end || r.end > text_size)
                fail("{}: literal range [{}, {}) is outside the {}-byte text", source, r.begin, r.end, text_size);
            if (r.begin < r.end) ranges_.push_back(r);
        }
        std::sort(ranges_.begin(), ranges_.end(), [](const TextRange& a, const TextRange& b) { return a.begin < b.begin; });
        size_t kept = 0;
        for (const TextRange& r : ranges_) {
            if (kept > 0 && r.begin <= ranges_[kept - 1].end) ranges_[kept - 1].end = std::max(ranges_[kept - 1].end, r.end);
            else ranges_[kept++] = r;
        }
        ranges_.resize(kept);
    }

    bool overlaps(size_t begin, size_t length) const {
        // The first range ending after `begin` is the only one that can overlap.
        auto it = std::upper_bound(ranges_.begin(), ranges_.end(), begin,
                                   [](size_t b, const TextRange& r) { return b < r.end; });
        return it != ranges_.end() && it->begin < begin + length;
    }

private:
    std::vector<TextRange> ranges_;
};

}  // namespace

std::vector<TokenId> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special,
                                       std::span<const TextRange> literal) const {
    const LiteralRanges literal_ranges(literal, text.size(), vocab_.source);
    std::vector<TokenId> out;
    out.reserve(text.size() / 3 + 2);
    if (add_special && vocab_.add_bos) {
        if (vocab_.special.bos == kNoToken)
            fail("{}: the vocabulary asks for a BOS token but has none", vocab_.source);
        out.push_back(vocab_.special.bos);
    }

    if (!text.empty()) {
        // Split special-token text out of the input, longest special token first, every
        // occurrence left to right (llama.cpp's tokenizer_st_partition).
        struct Fragment {
            size_t offset;
            size_t length;
            TokenId token;  // kNoToken: plain text
        };
        std::vector<Fragment> fragments{{0, text.size(), kNoToken}};
        std::vector<Fragment> next;
        for (TokenId sid : special_by_length_) {
            const TokenType type = vocab_.types[sid];
            if (!parse_special && type != TokenType::UserDefined) continue;
            const std::string& st = vocab_.pieces[sid];
            if (text.find(st) == std::string_view::npos) continue;
            next.clear();
            for (const Fragment& f : fragments) {
                if (f.token != kNoToken) {
                    next.push_back(f);
                    continue;
                }
                const std::string_view span = text.substr(f.offset, f.length);
                size_t pos = 0;   // start of the text not yet split off
                size_t from = 0;  // where to look for the next match
                for (size_t m; (m = span.find(st, from)) != std::string_view::npos;) {
                    if (type != TokenType::UserDefined && literal_ranges.overlaps(f.offset + m, st.size())) {
                        from = m + 1;
                        continue;
                    }
                    if (m > pos) next.push_back({f.offset + pos, m - pos, kNoToken});
                    next.push_back({f.offset + m, st.size(), sid});
                    pos = from = m + st.size();
                }
                if (pos < span.size()) next.push_back({f.offset + pos, span.size() - pos, kNoToken});
            }
            fragments.swap(next);
        }

        bool after_special = true;  // the start counts as "after a special token"
        for (const Fragment& f : fragments) {
            if (f.token == kNoToken) {
                encode_text(text.substr(f.offset, f.length), after_special, out);
                after_special = false;
            } else {
                out.push_back(f.token);
                after_special = true;
            }
        }
    }

    if (add_special && vocab_.add_eos) {
        if (vocab_.special.eos == kNoToken)
            fail("{}: the vocabulary asks for an EOS token but has none", vocab_.source);
        out.push_back(vocab_.special.eos);
    }
    return out;
}

std::string_view Tokenizer::token_to_piece(TokenId id, bool render_special) const {
    const TokenType type = vocab_.type(id);  // throws when out of range
    if (!render_special && (type == TokenType::Control || type == TokenType::Unknown) && !vocab_.is_reply_markup(id))
        return {};
    return piece_cache_[id];
}

std::string Tokenizer::decode(std::span<const TokenId> ids, bool render_special) const {
    std::string out;
    for (TokenId id : ids) out += token_to_piece(id, render_special);
    return out;
}

std::unique_ptr<Tokenizer> make_tokenizer(Vocabulary vocab) {
    if (vocab.model == "llama") return std::make_unique<SentencePieceTokenizer>(std::move(vocab));
    if (vocab.model == "gpt2" || vocab.model == "gemma4")
        return std::make_unique<BpeTokenizer>(std::move(vocab));
    if (vocab.model.empty()) {
        if (ByteTokenizer::accepts(vocab)) return std::make_unique<ByteTokenizer>(std::move(vocab));
        fail("{}: missing tokenizer.ggml.model, and the vocabulary is not the 256 byte tokens "
             "<0x00>..<0xFF> (supported models: {})",
             vocab.source, kSupportedModels);
    }
    fail("{}: unsupported tokenizer.ggml.model '{}' (supported: {})", vocab.source, vocab.model,
         kSupportedModels);
}

std::unique_ptr<Tokenizer> load_tokenizer(const gguf::File& file) {
    return make_tokenizer(Vocabulary::from_gguf(file));
}

std::string StreamDecoder::push(TokenId id) {
    pending_ += tokenizer_.token_to_piece(id, render_special_);
    const size_t ready = utf8::complete_prefix(pending_);
    std::string out = pending_.substr(0, ready);
    pending_.erase(0, ready);
    return out;
}

std::string StreamDecoder::flush() {
    std::string out;
    out.swap(pending_);
    return out;
}

}  // namespace hearth
