#pragma once
// Token-level grammar constraint: which tokens of a vocabulary keep the generated text inside
// the grammar, and the state after a token is appended.
//
// Speed comes from three things, none of which scans the vocabulary token by token:
//  - the vocabulary is a byte trie, walked once per step; a rejected prefix prunes its whole
//    subtree;
//  - parse states (stack sets) are interned, and transitions (state, code point) → state are
//    cached, so walking a token inside a string or a number loop is table lookups;
//  - the allowed-token mask of a state is cached, and generation keeps returning to the same
//    few states (inside a string value, between array items).
// A code point split across tokens is carried in the state as pending UTF-8 bytes.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "grammar/grammar.h"
#include "grammar/matcher.h"

namespace hearth::grammar {

class StateTable;

// The vocabulary as a byte trie (preorder array). Built once per model and shared, read-only, by
// every constraint over that vocabulary: a server builds it once, not per request.
class VocabTrie {
public:
    // token_bytes[id]: the bytes token `id` stands for; "" for special/control tokens, which
    // are never allowed. end_tokens: ids that end generation (EOS, EOT).
    VocabTrie(const std::vector<std::string>& token_bytes, const std::vector<int32_t>& end_tokens);
    int32_t n_vocab() const { return n_vocab_; }

private:
    friend class TokenConstraint;
    struct Node {
        uint32_t end = 0;          // first node after this subtree (preorder layout)
        uint32_t token_begin = 0;  // tokens ending exactly here: tokens_[begin, end)
        uint32_t token_end = 0;
        uint32_t subtree_begin = 0;  // tokens ending anywhere in the subtree: tokens_[begin, end)
        uint32_t subtree_end = 0;
        uint64_t ascii[2] = {0, 0};  // the ASCII bytes of the subtree (this node included)
        bool non_ascii = false;      // the subtree holds a byte >= 0x80
        uint8_t byte = 0;
    };
    void build();

    int32_t n_vocab_ = 0;
    std::vector<std::string> token_bytes_;
    std::vector<int32_t> end_tokens_;
    std::vector<bool> is_end_;
    std::vector<Node> nodes_;
    std::vector<int32_t> tokens_;
};

class TokenConstraint {
public:
    // A constraint over a shared vocabulary. The grammar is moved in.
    TokenConstraint(Grammar grammar, std::shared_ptr<const VocabTrie> vocab);
    // The same, building its own trie (see VocabTrie for the arguments).
    TokenConstraint(Grammar grammar, const std::vector<std::string>& token_bytes,
                    const std::vector<int32_t>& end_tokens);
    ~TokenConstraint();
    TokenConstraint(const TokenConstraint&) = delete;
    TokenConstraint& operator=(const TokenConstraint&) = delete;

    struct Mask {
        std::vector<uint64_t> bits;  // bit id set: token id allowed; n_vocab bits
        size_t n_text_allowed = 0;   // allowed tokens that are not end tokens
        bool end_allowed = false;    // the grammar is complete: end tokens allowed
        bool allowed(int32_t id) const { return (bits[size_t(id) >> 6] >> (size_t(id) & 63)) & 1; }
    };

    // The tokens allowed now. The reference stays valid until the next call to any method.
    const Mask& allowed();
    // Appends a token; throws hearth::Error when the grammar does not allow it.
    void accept(int32_t token);
    // Back to the start of the grammar (a new generation).
    void reset();

    // Generation is over: the grammar is complete and no text token can continue it, or an
    // end token was accepted.
    bool finished();
    // The text so far is a complete sentence (and no UTF-8 sequence is pending).
    bool complete() const;
    int32_t n_vocab() const { return n_vocab_; }

private:
    struct Cursor;  // a parse state plus pending UTF-8 bytes
    bool step(Cursor& cursor, uint8_t byte);
    void walk(uint32_t first, uint32_t last, const Cursor& cursor, Mask& mask);
    uint64_t cursor_key() const;

    Grammar grammar_;
    std::unique_ptr<StateTable> states_;
    std::shared_ptr<const VocabTrie> vocab_;
    int32_t n_vocab_ = 0;

    int32_t state_ = 0;       // interned stack set
    uint32_t pending_ = 0;    // code point bits of an unfinished UTF-8 sequence
    uint8_t need_ = 0;        // continuation bytes still expected
    uint8_t length_ = 0;      // length of the unfinished sequence
    bool ended_ = false;      // an end token was accepted

    std::unordered_map<uint64_t, Mask> mask_cache_;
    Mask scratch_;
};

}  // namespace hearth::grammar
