#include "grammar/grammar.h"

#include "common/error.h"

namespace hearth::grammar {

bool Element::matches(uint32_t cp) const {
    bool inside = false;
    for (const CharRange& r : ranges) {
        if (cp >= r.first && cp <= r.last) {
            inside = true;
            break;
        }
    }
    return inside != negated;
}

bool Element::matches_any(uint32_t first, uint32_t last) const {
    if (!negated) {
        for (const CharRange& r : ranges)
            if (r.first <= last && first <= r.last) return true;
        return false;
    }
    // Negated: some code point of [first, last] lies outside every range. Walk up from
    // `first`, jumping past each range that covers the candidate.
    uint32_t candidate = first;
    for (bool moved = true; moved && candidate <= last;) {
        moved = false;
        for (const CharRange& r : ranges) {
            if (candidate >= r.first && candidate <= r.last) {
                if (r.last >= last) return false;
                candidate = r.last + 1;
                moved = true;
            }
        }
    }
    return candidate <= last;
}

namespace {

// Rules that can match the empty string (fixed point).
std::vector<bool> nullable_rules(const Grammar& g) {
    std::vector<bool> nullable(g.rules.size(), false);
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t r = 0; r < g.rules.size(); ++r) {
            if (nullable[r]) continue;
            for (const Sequence& seq : g.rules[r].alternatives) {
                bool all = true;
                for (const Element& e : seq) {
                    if (e.kind == Element::Kind::Chars || !nullable[e.rule]) {
                        all = false;
                        break;
                    }
                }
                if (all) {
                    nullable[r] = true;
                    changed = true;
                    break;
                }
            }
        }
    }
    return nullable;
}

}  // namespace

void check_no_left_recursion(const Grammar& g) {
    const std::vector<bool> nullable = nullable_rules(g);
    // left[r]: rules that r can start with (a reference preceded only by nullable rules).
    std::vector<std::vector<uint32_t>> left(g.rules.size());
    for (size_t r = 0; r < g.rules.size(); ++r) {
        for (const Sequence& seq : g.rules[r].alternatives) {
            for (const Element& e : seq) {
                if (e.kind == Element::Kind::Chars) break;
                left[r].push_back(e.rule);
                if (!nullable[e.rule]) break;
            }
        }
    }
    // Depth-first search for a cycle in `left`: 0 unvisited, 1 on the path, 2 done.
    std::vector<uint8_t> state(g.rules.size(), 0);
    std::vector<std::pair<uint32_t, size_t>> path;
    for (uint32_t start = 0; start < g.rules.size(); ++start) {
        if (state[start]) continue;
        path.push_back({start, 0});
        state[start] = 1;
        while (!path.empty()) {
            auto& [rule, next] = path.back();
            if (next < left[rule].size()) {
                const uint32_t child = left[rule][next++];
                if (state[child] == 1)
                    fail("grammar: rule '{}' is left-recursive (it can reach itself before matching any "
                         "character); rewrite it with repetition, e.g. list ::= item (\",\" item)*",
                         g.rules[child].name);
                if (state[child] == 0) {
                    state[child] = 1;
                    path.push_back({child, 0});
                }
            } else {
                state[rule] = 2;
                path.pop_back();
            }
        }
    }
}

bool decode_utf8(std::string_view text, size_t& pos, uint32_t& cp) {
    if (pos >= text.size()) return false;
    const auto b0 = static_cast<unsigned char>(text[pos]);
    size_t length = 0;
    uint32_t min = 0;
    if (b0 < 0x80) {
        cp = b0;
        ++pos;
        return true;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
        length = 2, cp = b0 & 0x1F, min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        length = 3, cp = b0 & 0x0F, min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        length = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
        return false;
    }
    if (pos + length > text.size()) return false;
    for (size_t i = 1; i < length; ++i) {
        const auto b = static_cast<unsigned char>(text[pos + i]);
        if ((b & 0xC0) != 0x80) return false;
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    pos += length;
    return true;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

Grammar with_prefix(Grammar grammar, std::string_view prefix) {
    Sequence sequence;
    size_t pos = 0;
    uint32_t cp = 0;
    while (pos < prefix.size()) {
        if (!decode_utf8(prefix, pos, cp)) fail("grammar: the prefix is not valid UTF-8");
        Element e;
        e.ranges.push_back({cp, cp});
        sequence.push_back(std::move(e));
    }
    Element old_root;
    old_root.kind = Element::Kind::Rule;
    old_root.rule = grammar.root;
    sequence.push_back(std::move(old_root));
    grammar.rules.push_back({"prefixed-root", {std::move(sequence)}});
    grammar.root = uint32_t(grammar.rules.size() - 1);
    return grammar;
}

}  // namespace hearth::grammar
