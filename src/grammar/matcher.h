#pragma once
// The pushdown matcher: the parse state after some text is a set of stacks. Each stack lists
// positions in rule alternatives, innermost (the next element to match, always a character
// set) last; an empty stack means the text so far is a complete sentence of the grammar.
// Advancing by a code point keeps the stacks whose top accepts it, moves past it and expands
// rule references until every top is a character set again.
#include <cstdint>
#include <string_view>
#include <vector>

#include "grammar/grammar.h"

namespace hearth::grammar {

struct Position {
    uint32_t rule = 0;
    uint32_t alternative = 0;
    uint32_t index = 0;  // element within the alternative

    friend bool operator==(const Position&, const Position&) = default;
    friend auto operator<=>(const Position&, const Position&) = default;
};

using Stack = std::vector<Position>;
using StackSet = std::vector<Stack>;  // sorted, no duplicates

// Over this many stacks at once the grammar is ambiguous beyond use; advance() throws rather
// than growing without bound.
inline constexpr size_t kMaxStacks = 4096;

class Matcher {
public:
    // The grammar must outlive the matcher and have passed check_no_left_recursion (parse_gbnf
    // does it).
    explicit Matcher(const Grammar& grammar) : grammar_(grammar) {}

    const Grammar& grammar() const { return grammar_; }

    StackSet initial() const;
    // The stacks after `cp`; empty when the text can no longer be part of a sentence.
    StackSet advance(const StackSet& stacks, uint32_t cp) const;
    // Whether some stack's next element accepts a code point in [first, last].
    bool may_accept(const StackSet& stacks, uint32_t first, uint32_t last) const;
    static bool accepting(const StackSet& stacks) { return !stacks.empty() && stacks.front().empty(); }
    // Whether the stack's next element accepts `cp`. advance() depends on `cp` only through
    // which stacks accept it, so callers may cache its result by that set.
    bool top_accepts(const Stack& stack, uint32_t cp) const {
        return !stack.empty() && element(stack.back()).matches(cp);
    }

    // Whole-text helpers (tests, validation): does `text` (UTF-8) match the grammar exactly?
    bool matches(std::string_view text) const;

private:
    const Element& element(const Position& p) const {
        return grammar_.rules[p.rule].alternatives[p.alternative][p.index];
    }
    void expand(Stack& stack, StackSet& out, int depth) const;
    static void normalize(StackSet& stacks);

    const Grammar& grammar_;
};

}  // namespace hearth::grammar
