#include "grammar/matcher.h"

#include <algorithm>

#include "common/error.h"

namespace hearth::grammar {
namespace {
// Rule references expanded in a row without matching a character. Only reached by grammars
// that nest empty-matching rules this deep; left recursion itself is rejected at parse time.
constexpr int kMaxExpansionDepth = 1000;
}  // namespace

void Matcher::normalize(StackSet& stacks) {
    std::sort(stacks.begin(), stacks.end());
    stacks.erase(std::unique(stacks.begin(), stacks.end()), stacks.end());
    if (stacks.size() > kMaxStacks)
        fail("grammar: more than {} parse stacks at once: the grammar is too ambiguous (simplify "
             "alternatives that can match the same text)",
             kMaxStacks);
}

// `stack`'s top may be a rule reference: replace it by its continuation and each alternative
// of the rule, recursively, until every top is a character set (or the stack is empty).
void Matcher::expand(Stack& stack, StackSet& out, int depth) const {
    if (depth > kMaxExpansionDepth)
        fail("grammar: rules nest more than {} deep without matching a character", kMaxExpansionDepth);
    if (out.size() > 4 * kMaxStacks)
        fail("grammar: more than {} parse stacks at once: the grammar is too ambiguous", kMaxStacks);
    if (stack.empty() || element(stack.back()).kind == Element::Kind::Chars) {
        out.push_back(stack);
        return;
    }
    const Position at = stack.back();
    const uint32_t rule = element(at).rule;
    stack.pop_back();
    // Positions past the end of an alternative are never kept, so a reference in tail
    // position (repetition loops) does not grow the stack.
    if (at.index + 1 < grammar_.rules[at.rule].alternatives[at.alternative].size())
        stack.push_back({at.rule, at.alternative, at.index + 1});
    const auto& alternatives = grammar_.rules[rule].alternatives;
    for (uint32_t a = 0; a < alternatives.size(); ++a) {
        Stack next = stack;
        if (!alternatives[a].empty()) next.push_back({rule, a, 0});
        expand(next, out, depth + 1);
    }
}

StackSet Matcher::initial() const {
    StackSet out;
    const auto& alternatives = grammar_.rules[grammar_.root].alternatives;
    for (uint32_t a = 0; a < alternatives.size(); ++a) {
        Stack stack;
        if (!alternatives[a].empty()) stack.push_back({grammar_.root, a, 0});
        expand(stack, out, 0);
    }
    normalize(out);
    return out;
}

StackSet Matcher::advance(const StackSet& stacks, uint32_t cp) const {
    StackSet out;
    for (const Stack& stack : stacks) {
        if (stack.empty()) continue;
        const Position at = stack.back();
        if (!element(at).matches(cp)) continue;
        Stack next(stack.begin(), stack.end() - 1);
        if (at.index + 1 < grammar_.rules[at.rule].alternatives[at.alternative].size())
            next.push_back({at.rule, at.alternative, at.index + 1});
        expand(next, out, 0);
    }
    normalize(out);
    return out;
}

bool Matcher::may_accept(const StackSet& stacks, uint32_t first, uint32_t last) const {
    for (const Stack& stack : stacks)
        if (!stack.empty() && element(stack.back()).matches_any(first, last)) return true;
    return false;
}

bool Matcher::matches(std::string_view text) const {
    StackSet stacks = initial();
    size_t pos = 0;
    while (pos < text.size()) {
        uint32_t cp = 0;
        if (!decode_utf8(text, pos, cp)) return false;
        stacks = advance(stacks, cp);
        if (stacks.empty()) return false;
    }
    return accepting(stacks);
}

}  // namespace hearth::grammar
