// Python str semantics the interpreter is built on: UTF-8 handling, float and string repr,
// JSON encoding as json.dumps does it, and printing values the way Python prints them.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat/text.h"
#include "chat/value.h"

namespace hearth {
namespace {

using namespace chat;

TEST(ChatText, InvalidUtf8RoundTrips) {
    const std::string bytes = std::string("ok \xff\xc3 \xe2\x82 é 😀", 16);
    const std::u32string cps = text::decode(bytes);
    EXPECT_EQ(text::encode(cps), bytes);
    EXPECT_EQ(text::length("é😀a"), 3u);
    EXPECT_EQ(text::char_at("é😀a", 1), "😀");
}

TEST(ChatText, FloatReprIsPythons) {
    EXPECT_EQ(text::float_repr(1.0), "1.0");
    EXPECT_EQ(text::float_repr(0.1 + 0.2), "0.30000000000000004");
    EXPECT_EQ(text::float_repr(1e16), "1e+16");
    EXPECT_EQ(text::float_repr(123456789012345678.0), "1.2345678901234568e+17");
    EXPECT_EQ(text::float_repr(1e-5), "1e-05");
    EXPECT_EQ(text::float_repr(0.0001), "0.0001");
    EXPECT_EQ(text::float_repr(-0.0), "-0.0");
    EXPECT_EQ(text::float_repr(2.5e-7), "2.5e-07");
    EXPECT_EQ(text::float_repr(1e22), "1e+22");
    EXPECT_EQ(text::float_repr(9999999999999998.0), "9999999999999998.0");
}

TEST(ChatText, StringReprChoosesQuotesAndEscapes) {
    EXPECT_EQ(text::repr("plain"), "'plain'");
    EXPECT_EQ(text::repr("it's"), "\"it's\"");
    EXPECT_EQ(text::repr("both ' \""), "'both \\' \"'");
    EXPECT_EQ(text::repr("tab\tnl\n\\ \x01 \x7f"), "'tab\\tnl\\n\\\\ \\x01 \\x7f'");
    EXPECT_EQ(text::repr("é\u00a0\u200d😀"), "'é\\xa0\\u200d😀'");
}

TEST(ChatText, JsonStringsAsJsonDumps) {
    std::string out;
    text::json_quote(out, "é\"\\\n\x01/😀", false);
    EXPECT_EQ(out, "\"é\\\"\\\\\\n\\u0001/😀\"");
    out.clear();
    text::json_quote(out, "é😀\x7f", true);
    EXPECT_EQ(out, "\"\\u00e9\\ud83d\\ude00\\u007f\"");
}

TEST(ChatText, CaseMappingStripAndSplit) {
    EXPECT_EQ(text::upper("straße ǆ ﬁ"), "STRASSE Ǆ FI");
    EXPECT_EQ(text::lower("ΟΔΥΣΣΕΥΣ ÀÉ"), "οδυσσευς àé");
    EXPECT_EQ(text::title("they're bill's"), "They'Re Bill'S");
    EXPECT_EQ(text::capitalize("hELLO wORLD"), "Hello world");
    EXPECT_EQ(text::strip("\u3000 x\u00a0\n", std::nullopt, true, true), "x");
    EXPECT_EQ(text::strip("xxhixx", std::string("x"), true, false), "hixx");
    EXPECT_EQ(text::split(" a  b ", std::nullopt, -1), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(text::split(" a b c ", std::nullopt, 1), (std::vector<std::string>{"a", "b c "}));
    EXPECT_EQ(text::split("a,,b", std::string(","), -1), (std::vector<std::string>{"a", "", "b"}));
    EXPECT_EQ(text::rsplit("a b c", std::nullopt, 1), (std::vector<std::string>{"a b", "c"}));
    EXPECT_EQ(text::splitlines("a\r\nb\rc\n", false), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(text::replace("ab", "", "-", -1), "-a-b-");
}

TEST(ChatValue, PrintsLikePython) {
    const Value v = from_json(nlohmann::ordered_json::parse(
        R"({"s": "it's", "n": null, "b": true, "f": 1.0, "l": [1, "x", {"k": []}]})"));
    EXPECT_EQ(to_str(v), R"({'s': "it's", 'n': None, 'b': True, 'f': 1.0, 'l': [1, 'x', {'k': []}]})");
    EXPECT_EQ(to_str(Value::tuple({Value(1)})), "(1,)");
    EXPECT_EQ(to_str(Value::undefined("x")), "");
    EXPECT_EQ(to_str(Value::none()), "None");
}

TEST(ChatValue, JsonLikeJsonDumps) {
    const Value v = from_json(nlohmann::ordered_json::parse(R"({"b": [1, 2.5, {}], "a": {"x": "é"}})"));
    EXPECT_EQ(to_json(v, {}), R"({"b": [1, 2.5, {}], "a": {"x": "é"}})");
    JsonStyle indented;
    indented.indent = "  ";
    EXPECT_EQ(to_json(v, indented), "{\n  \"b\": [\n    1,\n    2.5,\n    {}\n  ],\n  \"a\": {\n    \"x\": \"é\"\n  }\n}");
    JsonStyle sorted;
    sorted.sort_keys = true;
    sorted.ensure_ascii = true;
    EXPECT_EQ(to_json(v, sorted), R"({"a": {"x": "\u00e9"}, "b": [1, 2.5, {}]})");
}

TEST(ChatValue, EqualityFollowsPython) {
    EXPECT_TRUE(equals(Value(1), Value(1.0)));
    EXPECT_TRUE(equals(Value(true), Value(1)));
    EXPECT_FALSE(equals(Value::tuple({Value(1)}), Value::list({Value(1)})));
    const Value a = from_json(nlohmann::ordered_json::parse(R"({"x": 1, "y": [2]})"));
    const Value b = from_json(nlohmann::ordered_json::parse(R"({"y": [2], "x": 1.0})"));
    EXPECT_TRUE(equals(a, b));
    EXPECT_TRUE(equals(Value::undefined(), Value::undefined()));
    EXPECT_FALSE(equals(Value::undefined(), Value::none()));
}

}  // namespace
}  // namespace hearth
