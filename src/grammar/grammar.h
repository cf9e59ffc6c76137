#pragma once
// A context-free grammar over Unicode code points, in the shape the matcher walks: rules of
// alternatives, each a sequence of elements that are either a character set or a reference
// to another rule. Repetition and groups are already lowered into helper rules by the parser
// (gbnf.h), so the matcher knows nothing but sets and references.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::grammar {

struct CharRange {
    uint32_t first = 0;  // inclusive code points
    uint32_t last = 0;
};

struct Element {
    enum class Kind : uint8_t { Chars, Rule };
    Kind kind = Kind::Chars;
    bool negated = false;          // Chars: matches what is NOT in `ranges`
    uint32_t rule = 0;             // Rule: index into Grammar::rules
    std::vector<CharRange> ranges;  // Chars

    bool matches(uint32_t cp) const;
    // Whether some code point in [first, last] matches (a partial UTF-8 sequence's range).
    bool matches_any(uint32_t first, uint32_t last) const;
};

using Sequence = std::vector<Element>;

struct Rule {
    std::string name;
    std::vector<Sequence> alternatives;  // an empty sequence matches the empty string
};

struct Grammar {
    std::vector<Rule> rules;
    uint32_t root = 0;
};

// Parses GBNF text (llama.cpp's grammar format; see docs/grammar.md) and checks the result:
// every referenced rule defined, a `root` rule, no left recursion. Throws hearth::Error with
// "grammar: line L:C: ..." for anything wrong.
Grammar parse_gbnf(std::string_view text);

// The grammar of `prefix` followed by a sentence of `grammar` (a reply that must first close a
// thinking block the prompt opened, say).
Grammar with_prefix(Grammar grammar, std::string_view prefix);

// Throws hearth::Error naming a left-recursive rule, if any (the matcher would loop on it).
void check_no_left_recursion(const Grammar& grammar);

// UTF-8 helpers shared by the parser and the token constraint. decode_utf8 reads one code
// point at `pos` and advances it; returns false on invalid or truncated input.
bool decode_utf8(std::string_view text, size_t& pos, uint32_t& cp);
void append_utf8(std::string& out, uint32_t cp);

}  // namespace hearth::grammar
