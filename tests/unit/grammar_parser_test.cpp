// GBNF parsing: the accepted syntax (checked through the matcher) and one-line errors with
// line:column for bad input.
#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "grammar/grammar.h"
#include "grammar/matcher.h"

namespace hearth::grammar {
namespace {

bool matches(const std::string& gbnf, const std::string& text) {
    const Grammar g = parse_gbnf(gbnf);
    return Matcher(g).matches(text);
}

std::string error_of(const std::string& gbnf) {
    try {
        parse_gbnf(gbnf);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(GrammarParser, AlternativesAndLiterals) {
    const std::string g = "root ::= \"yes\" | \"no\"\n";
    EXPECT_TRUE(matches(g, "yes"));
    EXPECT_TRUE(matches(g, "no"));
    EXPECT_FALSE(matches(g, "ye"));
    EXPECT_FALSE(matches(g, "yesno"));
    EXPECT_FALSE(matches(g, ""));
}

TEST(GrammarParser, RulesGroupsAndComments) {
    const std::string g =
        "# a greeting\n"
        "root ::= greeting \" \" name   # trailing comment\n"
        "greeting ::= (\"hi\" | \"hello\")\n"
        "name ::= [A-Z] [a-z]*\n";
    EXPECT_TRUE(matches(g, "hi Bob"));
    EXPECT_TRUE(matches(g, "hello X"));
    EXPECT_FALSE(matches(g, "hello bob"));
    EXPECT_FALSE(matches(g, "hey Bob"));
}

TEST(GrammarParser, MultiLineAlternativesInsideGroupsAndAfterBar) {
    const std::string g =
        "root ::=\n"
        "  \"a\" |\n"
        "  ( \"b\"\n"
        "    \"c\" )\n";
    EXPECT_TRUE(matches(g, "a"));
    EXPECT_TRUE(matches(g, "bc"));
    EXPECT_FALSE(matches(g, "b"));
}

TEST(GrammarParser, Escapes) {
    EXPECT_TRUE(matches("root ::= \"a\\nb\\t\\\\\\\"\"", "a\nb\t\\\""));
    EXPECT_TRUE(matches("root ::= \"\\x41\\u00e9\\U0001F600\"", "A\xC3\xA9\xF0\x9F\x98\x80"));
    EXPECT_TRUE(matches("root ::= [\\]\\[\\-]+", "][-"));
}

TEST(GrammarParser, CharacterClasses) {
    const std::string g = "root ::= [a-cx] [^0-9] .\n";
    EXPECT_TRUE(matches(g, "a!z"));
    EXPECT_TRUE(matches(g, "xy\xE2\x82\xAC"));  // . matches a multi-byte code point
    EXPECT_FALSE(matches(g, "d!z"));
    EXPECT_FALSE(matches(g, "a5z"));
    EXPECT_TRUE(matches("root ::= [-a]+", "-a-"));
    EXPECT_TRUE(matches("root ::= [a-]+", "a-"));
    EXPECT_TRUE(matches("root ::= [\xC3\xA0-\xC3\xBF]", "\xC3\xA9"));  // UTF-8 range bounds
}

TEST(GrammarParser, Repetitions) {
    EXPECT_TRUE(matches("root ::= \"a\"*", ""));
    EXPECT_TRUE(matches("root ::= \"a\"*", "aaaa"));
    EXPECT_FALSE(matches("root ::= \"a\"+", ""));
    EXPECT_TRUE(matches("root ::= \"a\"+", "aa"));
    EXPECT_TRUE(matches("root ::= \"a\"? \"b\"", "b"));
    EXPECT_TRUE(matches("root ::= \"a\"? \"b\"", "ab"));
    EXPECT_FALSE(matches("root ::= \"a\"? \"b\"", "aab"));
    EXPECT_TRUE(matches("root ::= \"ab\"{2}", "abab"));
    EXPECT_FALSE(matches("root ::= \"ab\"{2}", "ab"));
    EXPECT_FALSE(matches("root ::= [0-9]{2,}", "1"));
    EXPECT_TRUE(matches("root ::= [0-9]{2,}", "12345"));
    for (int n = 0; n <= 5; ++n) {
        const bool inside = n >= 1 && n <= 3;
        EXPECT_EQ(matches("root ::= \"x\"{1,3}", std::string(size_t(n), 'x')), inside) << n;
    }
    EXPECT_TRUE(matches("root ::= (\"a\" | \"b\"){0,2} \"c\"", "bac"));
    EXPECT_TRUE(matches("root ::= \"x\"{0}", ""));
}

TEST(GrammarParser, RightRecursionAndNesting) {
    const std::string g =
        "root ::= list\n"
        "list ::= \"[\" (item (\",\" item)*)? \"]\"\n"
        "item ::= [0-9]+ | list\n";
    EXPECT_TRUE(matches(g, "[]"));
    EXPECT_TRUE(matches(g, "[1,[2,[3]],[]]"));
    EXPECT_FALSE(matches(g, "[1,]"));
    EXPECT_FALSE(matches(g, "[[1]"));
}

TEST(GrammarParser, ErrorsNameLineAndColumn) {
    EXPECT_NE(error_of("").find("empty"), std::string::npos);
    EXPECT_NE(error_of("   # only a comment\n").find("empty"), std::string::npos);
    EXPECT_NE(error_of("root ::= thing\n").find("line 1:10: rule 'thing' is used but never defined"),
              std::string::npos)
        << error_of("root ::= thing\n");
    EXPECT_NE(error_of("item ::= \"a\"\n").find("no 'root' rule"), std::string::npos);
    EXPECT_NE(error_of("root ::= \"a\\q\"").find("line 1:12: unknown escape '\\q'"), std::string::npos)
        << error_of("root ::= \"a\\q\"");
    EXPECT_NE(error_of("root ::= \"\\x4\"").find("2 hex digits"), std::string::npos);
    EXPECT_NE(error_of("root ::= \"\\uD800\"").find("not a Unicode scalar value"), std::string::npos);
    EXPECT_NE(error_of("root ::= \"abc").find("unterminated string literal"), std::string::npos);
    EXPECT_NE(error_of("root ::= [abc\n").find("line 1:10: unbalanced '['"), std::string::npos)
        << error_of("root ::= [abc\n");
    EXPECT_NE(error_of("root ::= (\"a\"\n").find("unbalanced '('"), std::string::npos);
    EXPECT_NE(error_of("root ::= \"a\")\n").find("unbalanced ')'"), std::string::npos);
    EXPECT_NE(error_of("root ::= \"a\" ]\n").find("unbalanced ']'"), std::string::npos);
    EXPECT_NE(error_of("\n\nroot \"a\"\n").find("line 3:6: expected '::='"), std::string::npos)
        << error_of("\n\nroot \"a\"\n");
    EXPECT_NE(error_of("root ::= * \"a\"").find("must follow something"), std::string::npos);
    EXPECT_NE(error_of("root ::= \"a\"{3,1}").find("below the minimum"), std::string::npos);
    EXPECT_NE(error_of("root ::= \"a\"{2").find("expected '}'"), std::string::npos);
    EXPECT_NE(error_of("root ::= \"a\"{99999999}").find("over"), std::string::npos);
    EXPECT_NE(error_of("root ::= [z-a]").find("end below its start"), std::string::npos);
    EXPECT_NE(error_of("root ::= \"a\"\nroot ::= \"b\"\n").find("line 2:1: rule 'root' is defined twice"),
              std::string::npos);
    EXPECT_NE(error_of("root ::= \"\xFF\"").find("invalid UTF-8"), std::string::npos);
    EXPECT_NE(error_of("root ::= \"a\" @").find("unexpected '@'"), std::string::npos);
}

TEST(GrammarParser, RejectsLeftRecursion) {
    EXPECT_NE(error_of("root ::= root \"a\" | \"a\"\n").find("rule 'root' is left-recursive"), std::string::npos);
    EXPECT_NE(error_of("root ::= x\nx ::= y \"a\"\ny ::= \"b\"? x\n").find("left-recursive"), std::string::npos);
    // A nullable item repeated would loop forever too.
    EXPECT_NE(error_of("root ::= (\"a\"?)*\n").find("left-recursive"), std::string::npos);
    // Recursion after a character is fine.
    EXPECT_NO_THROW(parse_gbnf("root ::= \"(\" root \")\" | \"\"\n"));
}

TEST(GrammarParser, HugeRepetitionIsRejectedNotExpanded) {
    // Groups become one rule each, so nesting repetitions stays small...
    EXPECT_NO_THROW(parse_gbnf("root ::= (\"a\"{1000}){1000}\n"));
    // ...but copies of a long literal add up.
    std::string big = "root ::= r0\n";
    for (int i = 0; i < 12; ++i) big += fmt::format("r{} ::= \"abcdefghij\"{{10000}}\n", i);
    try {
        parse_gbnf(big);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("too large"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace hearth::grammar
