// The matcher's stack sets and the token-level constraint over a small hand-built vocabulary,
// including a code point whose bytes come in two tokens.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "grammar/grammar.h"
#include "grammar/matcher.h"
#include "grammar/token_constraint.h"

namespace hearth::grammar {
namespace {

TEST(GrammarMatcher, AcceptingWhenAStackIsEmpty) {
    const Grammar g = parse_gbnf("root ::= \"ab\" | \"a\"\n");
    Matcher m(g);
    StackSet s = m.initial();
    EXPECT_FALSE(Matcher::accepting(s));
    s = m.advance(s, 'a');
    EXPECT_TRUE(Matcher::accepting(s));  // "a" is complete, "ab" still possible
    EXPECT_EQ(s.size(), 2u);
    s = m.advance(s, 'b');
    EXPECT_TRUE(Matcher::accepting(s));
    EXPECT_EQ(s.size(), 1u);
    EXPECT_TRUE(m.advance(s, 'b').empty());
}

TEST(GrammarMatcher, RepetitionLoopsDoNotGrowTheStack) {
    const Grammar g = parse_gbnf("root ::= \"<\" [a-z]* \">\"\n");
    Matcher m(g);
    StackSet s = m.advance(m.initial(), '<');
    const StackSet after_one = m.advance(s, 'x');
    StackSet t = after_one;
    for (int i = 0; i < 1000; ++i) t = m.advance(t, 'y');
    EXPECT_EQ(t, after_one);  // the same stack set: tail references are not pushed
}

TEST(GrammarMatcher, TooAmbiguousIsAClearError) {
    // Each 'a' doubles the ways to split the text.
    const Grammar g = parse_gbnf("root ::= x*\nx ::= \"a\" | \"a\" \"a\" | y\ny ::= \"a\" z\nz ::= \"\" | \"a\"\n");
    Matcher m(g);
    StackSet s = m.initial();
    try {
        for (int i = 0; i < 200; ++i) s = m.advance(s, 'a');
        SUCCEED() << "stayed within bounds: " << s.size();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("parse stacks"), std::string::npos);
    }
}

TEST(GrammarMatcher, PartialRanges) {
    const Grammar g = parse_gbnf("root ::= [^a-z\\u0100-\\uFFFF]\n");
    Matcher m(g);
    const StackSet s = m.initial();
    EXPECT_FALSE(m.may_accept(s, 'a', 'z'));
    EXPECT_TRUE(m.may_accept(s, 'a', '{'));
    EXPECT_FALSE(m.may_accept(s, 0x100, 0xFFFF));
    EXPECT_TRUE(m.may_accept(s, 0x80, 0x100));
}

// A vocabulary: single characters, words, a two-token split of "é" (0xC3 0xA9), a whole "é"
// token, a control token (no bytes) and EOS.
struct Vocab {
    std::vector<std::string> bytes = {
        "",        // 0: <s> (control)
        "",        // 1: </s> (EOS)
        "a", "b", "ab", "abc", "{", "}", "\"", "\xC3", "\xA9", "\xC3\xA9", "caf", "caf\xC3", " ", "x\xA9",
    };
    int32_t id(const std::string& s) const {
        for (size_t i = 2; i < bytes.size(); ++i)
            if (bytes[i] == s) return int32_t(i);
        return -1;
    }
};

std::vector<std::string> allowed_texts(TokenConstraint& c, const Vocab& v) {
    std::vector<std::string> out;
    const auto& mask = c.allowed();
    for (int32_t i = 0; i < int32_t(v.bytes.size()); ++i) {
        if (!mask.allowed(i)) continue;
        out.push_back(i == 0 ? "<s>" : i == 1 ? "</s>" : v.bytes[size_t(i)]);
    }
    return out;
}

TEST(GrammarTokens, AllowsExactlyTheTokensThatFit) {
    Vocab v;
    TokenConstraint c(parse_gbnf("root ::= \"ab\" \"c\"?\n"), v.bytes, {1});
    EXPECT_EQ(allowed_texts(c, v), (std::vector<std::string>{"a", "ab", "abc"}));
    c.accept(v.id("a"));
    EXPECT_EQ(allowed_texts(c, v), (std::vector<std::string>{"b"}));
    c.accept(v.id("b"));
    // Complete, and "c" could still come, but no token is exactly "c": only EOS.
    EXPECT_EQ(allowed_texts(c, v), (std::vector<std::string>{"</s>"}));
    EXPECT_TRUE(c.finished());
    c.accept(1);
    EXPECT_TRUE(c.finished());
    EXPECT_EQ(c.allowed().n_text_allowed, 0u);
}

TEST(GrammarTokens, MultiByteCodePointAcrossTokens) {
    Vocab v;
    TokenConstraint c(parse_gbnf("root ::= \"caf\" [\\u00e9\\u00e8] \" \"?\n"), v.bytes, {1});
    EXPECT_EQ(allowed_texts(c, v), (std::vector<std::string>{"caf", "caf\xC3"}));
    c.accept(v.id("caf"));
    // 0xC3 alone can start é or è; 0xA9 alone cannot start anything; "x\xA9" is no UTF-8.
    EXPECT_EQ(allowed_texts(c, v), (std::vector<std::string>{"\xC3", "\xC3\xA9"}));
    c.accept(v.id("\xC3"));
    EXPECT_FALSE(c.complete());  // a code point is pending
    EXPECT_EQ(allowed_texts(c, v), (std::vector<std::string>{"\xA9"}));
    c.accept(v.id("\xA9"));
    EXPECT_TRUE(c.complete());
    EXPECT_EQ(allowed_texts(c, v), (std::vector<std::string>{"</s>", " "}));
    EXPECT_FALSE(c.finished());

    // The same text with the split inside one token.
    c.reset();
    c.accept(v.id("caf\xC3"));
    EXPECT_EQ(allowed_texts(c, v), (std::vector<std::string>{"\xA9"}));
}

TEST(GrammarTokens, LeadByteOfAnUnacceptedRangeIsPruned) {
    Vocab v;
    TokenConstraint c(parse_gbnf("root ::= \"caf\" [a-z]\n"), v.bytes, {1});
    c.accept(v.id("caf"));
    // One letter: neither the multi-letter tokens nor anything starting with 0xC3.
    EXPECT_EQ(allowed_texts(c, v), (std::vector<std::string>{"a", "b"}));
}

TEST(GrammarTokens, RejectsTokensThatDoNotFit) {
    Vocab v;
    TokenConstraint c(parse_gbnf("root ::= \"a\"\n"), v.bytes, {1});
    EXPECT_THROW(c.accept(v.id("b")), Error);
    EXPECT_THROW(c.accept(0), Error);  // control token
    EXPECT_THROW(c.accept(1), Error);  // EOS before the grammar is complete
    EXPECT_THROW(c.accept(99), Error);
    c.accept(v.id("a"));
    EXPECT_NO_THROW(c.accept(1));
    EXPECT_THROW(c.accept(v.id("a")), Error);  // after the end
}

TEST(GrammarTokens, MaskAgreesWithPerTokenMatchingOnRandomVocabulary) {
    // Brute force as the reference: a token is allowed iff its bytes keep the text a prefix
    // of some sentence (checked with the matcher on whole code points, pending bytes aside).
    std::mt19937 rng(7);
    const std::string alphabet = "{}\":, ab1\xC3\xA9";
    std::vector<std::string> vocab = {""};
    for (int i = 0; i < 400; ++i) {
        std::string t;
        const int len = 1 + int(rng() % 4);
        for (int j = 0; j < len; ++j) t += alphabet[rng() % alphabet.size()];
        vocab.push_back(t);
    }
    const std::string gbnf =
        "root ::= \"{\" (pair (\",\" pair)*)? \"}\"\n"
        "pair ::= str \":\" (str | [0-9]+)\n"
        "str ::= \"\\\"\" [a-z\\u00e9 ]* \"\\\"\"\n";
    const Grammar g = parse_gbnf(gbnf);
    Matcher m(g);
    TokenConstraint c(g, vocab, {0});
    std::string text;
    for (int step = 0; step < 30; ++step) {
        const auto& mask = c.allowed();
        std::vector<int32_t> expected_allowed;
        for (int32_t id = 1; id < int32_t(vocab.size()); ++id) {
            const std::string candidate = text + vocab[size_t(id)];
            // Decode whole code points; a truncated tail is checked by its lead byte range.
            StackSet s = m.initial();
            size_t pos = 0;
            bool ok = true;
            while (ok && pos < candidate.size()) {
                uint32_t cp = 0;
                size_t p = pos;
                if (decode_utf8(candidate, p, cp)) {
                    s = m.advance(s, cp);
                    ok = !s.empty();
                    pos = p;
                } else {
                    const auto lead = static_cast<unsigned char>(candidate[pos]);
                    ok = candidate.size() - pos == 1 && lead == 0xC3 && m.may_accept(s, 0xC0, 0xFF);
                    break;
                }
            }
            if (ok) expected_allowed.push_back(id);
        }
        std::vector<int32_t> got;
        for (int32_t id = 1; id < int32_t(vocab.size()); ++id)
            if (mask.allowed(id)) got.push_back(id);
        ASSERT_EQ(got, expected_allowed) << "after \"" << text << "\"";
        if (got.empty()) break;
        const int32_t pick = got[rng() % got.size()];
        c.accept(pick);
        text += vocab[size_t(pick)];
    }
}

TEST(GrammarTokens, VocabularyErrors) {
    EXPECT_THROW(TokenConstraint(parse_gbnf("root ::= \"a\""), {}, {}), Error);
    EXPECT_THROW(TokenConstraint(parse_gbnf("root ::= \"a\""), {"a"}, {5}), Error);
}

}  // namespace
}  // namespace hearth::grammar
