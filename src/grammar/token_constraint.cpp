#include "grammar/token_constraint.h"

#include <algorithm>
#include <array>
#include <bit>
#include <numeric>

#include "common/error.h"

namespace hearth::grammar {

// Interned stack sets with cached transitions. State ids are indices; -1 is the dead state.
class StateTable {
public:
    static constexpr int32_t kDead = -1;

    explicit StateTable(const Grammar& grammar) : matcher_(grammar) {}

    int32_t intern(StackSet stacks) {
        std::string key = key_of(stacks);
        auto [it, inserted] = index_.try_emplace(std::move(key), int32_t(states_.size()));
        if (inserted) {
            State s;
            s.accepting = Matcher::accepting(stacks);
            s.stacks = std::move(stacks);
            s.ascii.fill(kUnknown);
            s.lead.fill(-1);
            states_.push_back(std::move(s));
        }
        return it->second;
    }

    int32_t initial() { return intern(matcher_.initial()); }

    int32_t next(int32_t state, uint32_t cp) {
        if (cp < 128) {
            int32_t cached = states_[size_t(state)].ascii[cp];
            if (cached != kUnknown) return cached;
            cached = compute(state, cp);
            states_[size_t(state)].ascii[cp] = cached;
            return cached;
        }
        auto& other = states_[size_t(state)].other;
        auto it = other.find(cp);
        if (it != other.end()) return it->second;
        const int32_t result = compute(state, cp);
        states_[size_t(state)].other.emplace(cp, result);
        return result;
    }

    // Whether a UTF-8 lead byte (0xC2..0xF4) can start a code point the state accepts.
    bool lead_ok(int32_t state, uint8_t lead, uint32_t first, uint32_t last) {
        int8_t& cached = states_[size_t(state)].lead[lead - 0xC0];
        if (cached < 0) cached = matcher_.may_accept(states_[size_t(state)].stacks, first, last) ? 1 : 0;
        return cached == 1;
    }

    // The ASCII bytes that lead from the state back to itself (inside a string: nearly all), as
    // a 128-bit set: a trie subtree made only of them is allowed whole, without a walk.
    const uint64_t* loop_bytes(int32_t state) {
        if (!states_[size_t(state)].loop_known) {
            uint64_t loop[2] = {0, 0};
            for (uint32_t b = 0; b < 128; ++b)
                if (next(state, b) == state) loop[b >> 6] |= uint64_t(1) << (b & 63);
            State& s = states_[size_t(state)];  // after next(), which may grow states_
            s.loop[0] = loop[0];
            s.loop[1] = loop[1];
            s.loop_known = true;
        }
        return states_[size_t(state)].loop;
    }

    bool accepting(int32_t state) const { return states_[size_t(state)].accepting; }
    const StackSet& stacks(int32_t state) const { return states_[size_t(state)].stacks; }
    size_t size() const { return states_.size(); }
    void clear() {
        states_.clear();
        index_.clear();
    }

private:
    static constexpr int32_t kUnknown = -2;

    struct State {
        StackSet stacks;
        bool accepting = false;
        std::array<int32_t, 128> ascii{};           // next state per ASCII code point
        std::array<int8_t, 64> lead{};               // lead_ok per byte 0xC0..0xFF; -1 unknown
        std::unordered_map<uint32_t, int32_t> other;  // next state per non-ASCII code point
        std::unordered_map<uint64_t, int32_t> next_by_stacks;  // by the set of accepting stacks
        uint64_t loop[2] = {0, 0};                     // loop_bytes(), once loop_known
        bool loop_known = false;
    };

    // Code points that the same stacks accept lead to the same state (a CJK character and an
    // accented letter inside a string, say): the result is cached by that set of stacks, so a
    // new state costs one advance per distinct set rather than one per code point.
    int32_t compute(int32_t state, uint32_t cp) {
        const StackSet& stacks = states_[size_t(state)].stacks;
        if (stacks.size() > 64) return advance(state, cp);
        uint64_t accepting_stacks = 0;
        for (size_t i = 0; i < stacks.size(); ++i)
            if (matcher_.top_accepts(stacks[i], cp)) accepting_stacks |= uint64_t(1) << i;
        if (accepting_stacks == 0) return kDead;
        auto& by_set = states_[size_t(state)].next_by_stacks;
        if (auto it = by_set.find(accepting_stacks); it != by_set.end()) return it->second;
        const int32_t result = advance(state, cp);
        states_[size_t(state)].next_by_stacks.emplace(accepting_stacks, result);  // advance may grow states_
        return result;
    }

    int32_t advance(int32_t state, uint32_t cp) {
        StackSet next = matcher_.advance(states_[size_t(state)].stacks, cp);
        if (next.empty()) return kDead;
        return intern(std::move(next));
    }

    static std::string key_of(const StackSet& stacks) {
        std::string key;
        for (const Stack& stack : stacks) {
            const uint32_t n = uint32_t(stack.size());
            key.append(reinterpret_cast<const char*>(&n), sizeof n);
            key.append(reinterpret_cast<const char*>(stack.data()), stack.size() * sizeof(Position));
        }
        return key;
    }

    Matcher matcher_;
    std::vector<State> states_;
    std::unordered_map<std::string, int32_t> index_;
};

namespace {
// Past this many interned states (about 1 KiB each) the caches start over; only the current
// state is kept. Masks: a few states recur in practice (inside strings, between items).
constexpr size_t kMaxStates = 20000;
constexpr size_t kMaxCachedMasks = 256;  // 16 KiB each at a 128k vocabulary
}  // namespace

struct TokenConstraint::Cursor {
    int32_t state = 0;
    uint32_t pending = 0;
    uint8_t need = 0;
    uint8_t length = 0;
};

VocabTrie::VocabTrie(const std::vector<std::string>& token_bytes, const std::vector<int32_t>& end_tokens)
    : n_vocab_(int32_t(token_bytes.size())),
      token_bytes_(token_bytes),
      end_tokens_(end_tokens),
      is_end_(token_bytes.size(), false) {
    if (token_bytes.empty()) fail("grammar: the vocabulary is empty");
    for (int32_t id : end_tokens) {
        if (id < 0 || id >= n_vocab_) fail("grammar: end token {} is outside the vocabulary (n_vocab {})", id, n_vocab_);
        is_end_[size_t(id)] = true;
    }
    build();
}

TokenConstraint::TokenConstraint(Grammar grammar, std::shared_ptr<const VocabTrie> vocab)
    : grammar_(std::move(grammar)), vocab_(std::move(vocab)) {
    if (!vocab_) fail("grammar: no vocabulary");
    n_vocab_ = vocab_->n_vocab();
    states_ = std::make_unique<StateTable>(grammar_);
    reset();
}

TokenConstraint::TokenConstraint(Grammar grammar, const std::vector<std::string>& token_bytes,
                                 const std::vector<int32_t>& end_tokens)
    : TokenConstraint(std::move(grammar), std::make_shared<const VocabTrie>(token_bytes, end_tokens)) {}

TokenConstraint::~TokenConstraint() = default;

void VocabTrie::build() {
    const std::vector<std::string>& token_bytes = token_bytes_;
    std::vector<int32_t> order;
    for (int32_t id = 0; id < n_vocab_; ++id)
        if (!is_end_[size_t(id)] && !token_bytes[size_t(id)].empty()) order.push_back(id);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        return token_bytes[size_t(a)] < token_bytes[size_t(b)] || (token_bytes[size_t(a)] == token_bytes[size_t(b)] && a < b);
    });
    // Sorted order is the trie's preorder: each token adds nodes for the bytes after its
    // common prefix with the previous one; nodes deeper than that prefix are complete.
    std::vector<uint32_t> open;  // node at each depth of the current path
    // A node is complete when the path leaves it: its subtree's extent and byte summary are
    // known, and the summary joins its parent's.
    auto close_node = [&] {
        Node& node = nodes_[open.back()];
        node.end = uint32_t(nodes_.size());
        node.subtree_end = uint32_t(tokens_.size());
        open.pop_back();
        if (open.empty()) return;
        Node& parent = nodes_[open.back()];
        parent.ascii[0] |= node.ascii[0];
        parent.ascii[1] |= node.ascii[1];
        parent.non_ascii = parent.non_ascii || node.non_ascii;
    };
    const std::string* previous = nullptr;
    for (int32_t id : order) {
        const std::string& bytes = token_bytes[size_t(id)];
        size_t common = 0;
        if (previous)
            while (common < previous->size() && common < bytes.size() && (*previous)[common] == bytes[common]) ++common;
        while (open.size() > common) close_node();
        for (size_t d = common; d < bytes.size(); ++d) {
            open.push_back(uint32_t(nodes_.size()));
            Node node;
            node.byte = static_cast<uint8_t>(bytes[d]);
            node.subtree_begin = uint32_t(tokens_.size());
            if (node.byte < 0x80) node.ascii[node.byte >> 6] |= uint64_t(1) << (node.byte & 63);
            else node.non_ascii = true;
            nodes_.push_back(node);
        }
        Node& node = nodes_[open.back()];
        if (node.token_begin == node.token_end) node.token_begin = node.token_end = uint32_t(tokens_.size());
        tokens_.push_back(id);
        node.token_end = uint32_t(tokens_.size());
        previous = &bytes;
    }
    while (!open.empty()) close_node();
}

void TokenConstraint::reset() {
    states_->clear();
    mask_cache_.clear();
    state_ = states_->initial();
    pending_ = 0;
    need_ = 0;
    length_ = 0;
    ended_ = false;
}

bool TokenConstraint::step(Cursor& c, uint8_t byte) {
    if (c.need == 0) {
        if (byte < 0x80) {
            const int32_t next = states_->next(c.state, byte);
            if (next == StateTable::kDead) return false;
            c.state = next;
            return true;
        }
        uint8_t length = 0;
        uint32_t bits = 0, min = 0;
        if (byte >= 0xC2 && byte <= 0xDF) length = 2, bits = byte & 0x1Fu, min = 0x80;
        else if (byte >= 0xE0 && byte <= 0xEF) length = 3, bits = byte & 0x0Fu, min = 0x800;
        else if (byte >= 0xF0 && byte <= 0xF4) length = 4, bits = byte & 0x07u, min = 0x10000;
        else return false;  // a continuation byte or an invalid lead
        const unsigned shift = 6u * (length - 1u);
        const uint32_t first = std::max(bits << shift, min);
        const uint32_t last = std::min((bits << shift) | ((1u << shift) - 1u), 0x10FFFFu);
        if (!states_->lead_ok(c.state, byte, first, last)) return false;
        c.pending = bits;
        c.need = uint8_t(length - 1);
        c.length = length;
        return true;
    }
    if ((byte & 0xC0) != 0x80) return false;
    c.pending = (c.pending << 6) | (byte & 0x3Fu);
    if (--c.need > 0) return true;
    const uint32_t cp = c.pending;
    const uint32_t min = c.length == 2 ? 0x80 : c.length == 3 ? 0x800 : 0x10000;
    c.pending = 0;
    c.length = 0;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    const int32_t next = states_->next(c.state, cp);
    if (next == StateTable::kDead) return false;
    c.state = next;
    return true;
}

void TokenConstraint::walk(uint32_t first, uint32_t last, const Cursor& cursor, Mask& mask) {
    // A copy: stepping below may intern states and move the table.
    uint64_t loop[2] = {0, 0};
    const bool has_loop = cursor.need == 0;
    if (has_loop) {
        const uint64_t* bytes = states_->loop_bytes(cursor.state);
        loop[0] = bytes[0];
        loop[1] = bytes[1];
    }
    for (uint32_t n = first; n < last; n = vocab_->nodes_[n].end) {
        const VocabTrie::Node& node = vocab_->nodes_[n];
        if (has_loop && !node.non_ascii && (node.ascii[0] & ~loop[0]) == 0 && (node.ascii[1] & ~loop[1]) == 0) {
            // Every byte below leads back to this state: the whole subtree is allowed.
            for (uint32_t t = node.subtree_begin; t < node.subtree_end; ++t) {
                const auto id = size_t(vocab_->tokens_[t]);
                mask.bits[id >> 6] |= uint64_t(1) << (id & 63);
            }
            mask.n_text_allowed += node.subtree_end - node.subtree_begin;
            continue;
        }
        Cursor next = cursor;
        if (!step(next, vocab_->nodes_[n].byte)) continue;  // the whole subtree is rejected
        for (uint32_t t = vocab_->nodes_[n].token_begin; t < vocab_->nodes_[n].token_end; ++t) {
            const auto id = size_t(vocab_->tokens_[t]);
            mask.bits[id >> 6] |= uint64_t(1) << (id & 63);
            ++mask.n_text_allowed;
        }
        if (n + 1 < vocab_->nodes_[n].end) walk(n + 1, vocab_->nodes_[n].end, next, mask);
    }
}

uint64_t TokenConstraint::cursor_key() const {
    return (uint64_t(uint32_t(state_)) << 32) | (uint64_t(pending_) << 8) | (uint64_t(length_) << 4) | need_;
}

const TokenConstraint::Mask& TokenConstraint::allowed() {
    if (ended_) {
        scratch_.bits.assign((size_t(n_vocab_) + 63) / 64, 0);
        scratch_.n_text_allowed = 0;
        scratch_.end_allowed = false;
        return scratch_;
    }
    if (states_->size() > kMaxStates) {
        StackSet current = states_->stacks(state_);
        states_->clear();
        mask_cache_.clear();
        state_ = states_->intern(std::move(current));
    }
    const uint64_t key = cursor_key();
    if (auto it = mask_cache_.find(key); it != mask_cache_.end()) return it->second;
    if (mask_cache_.size() >= kMaxCachedMasks) mask_cache_.clear();

    Mask mask;
    mask.bits.assign((size_t(n_vocab_) + 63) / 64, 0);
    const Cursor start{state_, pending_, need_, length_};
    walk(0, uint32_t(vocab_->nodes_.size()), start, mask);
    mask.end_allowed = complete();
    if (mask.end_allowed)
        for (int32_t id : vocab_->end_tokens_) mask.bits[size_t(id) >> 6] |= uint64_t(1) << (size_t(id) & 63);
    return mask_cache_.emplace(key, std::move(mask)).first->second;
}

bool TokenConstraint::complete() const {
    return need_ == 0 && states_->accepting(state_);
}

bool TokenConstraint::finished() {
    if (ended_) return true;
    const Mask& mask = allowed();
    return mask.end_allowed && mask.n_text_allowed == 0;
}

void TokenConstraint::accept(int32_t token) {
    if (token < 0 || token >= n_vocab_) fail("grammar: token {} is outside the vocabulary (n_vocab {})", token, n_vocab_);
    if (ended_) fail("grammar: token {} after the end of generation", token);
    if (vocab_->is_end_[size_t(token)]) {
        if (!complete()) fail("grammar: end token {} before the grammar is complete", token);
        ended_ = true;
        return;
    }
    const std::string& bytes = vocab_->token_bytes_[size_t(token)];
    if (bytes.empty()) fail("grammar: special token {} is not allowed by a grammar", token);
    Cursor c{state_, pending_, need_, length_};
    for (char b : bytes)
        if (!step(c, static_cast<uint8_t>(b))) fail("grammar: token {} does not fit the grammar here", token);
    state_ = c.state;
    pending_ = c.pending;
    need_ = c.need;
    length_ = c.length;
}

}  // namespace hearth::grammar
