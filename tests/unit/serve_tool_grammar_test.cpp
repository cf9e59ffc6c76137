// Forced tool calls (serve/tool_grammar.h): the grammar of each family accepts the calls its
// parser reads, refuses calls of other tools and arguments outside the parameters schema, and
// every random sentence of it parses back into calls whose arguments fit the schema.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat/tool_calls.h"
#include "common/error.h"
#include "grammar/grammar.h"
#include "grammar/matcher.h"
#include "grammar/token_constraint.h"
#include "serve/tool_grammar.h"

namespace hearth::serve {
namespace {

using json = nlohmann::ordered_json;
using chat::ToolCallFamily;

const json kTools = json::parse(R"([
  {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
   "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12},
                  "days": {"type": "integer"}, "unit": {"type": "string", "enum": ["C", "F"]}},
                  "required": ["city"]}}},
  {"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}}
])");

bool accepts(const std::string& gbnf, const std::string& text) {
    const grammar::Grammar g = grammar::parse_gbnf(gbnf);
    return grammar::Matcher(g).matches(text);
}

// One canonical call of get_weather per family, as its model writes it.
std::string weather_call(ToolCallFamily family) {
    switch (family) {
        case ToolCallFamily::Hermes:
            return "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", \"days\": 2}}\n</tool_call>";
        case ToolCallFamily::QwenXml:
            return "<tool_call>\n<function=get_weather>\n<parameter=city>\nOslo\n</parameter>\n<parameter=days>\n2\n"
                   "</parameter>\n</function>\n</tool_call>";
        case ToolCallFamily::Llama3: return "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\", \"days\": 2}}";
        case ToolCallFamily::Phi4Mini:
            return "functools[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", \"days\": 2}}]";
        case ToolCallFamily::Glm:
            return "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Oslo</arg_value><arg_key>days</arg_key>"
                   "<arg_value>2</arg_value></tool_call>";
        case ToolCallFamily::DeepSeek:
            return "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"city\": \"Oslo\", \"days\": 2}"
                   "<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
        case ToolCallFamily::Mistral: return "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", \"days\": 2}}]";
        case ToolCallFamily::Kimi:
            return "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>"
                   "{\"city\": \"Oslo\", \"days\": 2}<|tool_call_end|><|tool_calls_section_end|>";
        default: return "";
    }
}

const ToolCallFamily kTextFamilies[] = {ToolCallFamily::Hermes,   ToolCallFamily::QwenXml, ToolCallFamily::Llama3,
                                        ToolCallFamily::Phi4Mini, ToolCallFamily::Glm,     ToolCallFamily::DeepSeek,
                                        ToolCallFamily::Kimi,     ToolCallFamily::Mistral};

TEST(ServeToolGrammar, AcceptsTheCallsTheParserReads) {
    for (ToolCallFamily family : kTextFamilies) {
        SCOPED_TRACE(chat::tool_call_family_name(family));
        const std::string gbnf = forced_tool_call_grammar(family, kTools, "", true);
        ASSERT_FALSE(gbnf.empty());
        const std::string call = weather_call(family);
        EXPECT_TRUE(accepts(gbnf, call)) << call << "\n" << gbnf;
        const chat::ToolCallReply reply = chat::parse_tool_calls(family, call, kTools);
        ASSERT_EQ(reply.calls.size(), 1u);
        EXPECT_EQ(reply.calls[0].name, "get_weather");
        EXPECT_EQ(json::parse(reply.calls[0].arguments), json::parse(R"({"city": "Oslo", "days": 2})"));
        EXPECT_FALSE(accepts(gbnf, ""));                        // a call is required
        EXPECT_FALSE(accepts(gbnf, "Sure! " + call));           // nothing but calls
    }
}

TEST(ServeToolGrammar, RefusesArgumentsOutsideTheSchema) {
    const std::string hermes = forced_tool_call_grammar(ToolCallFamily::Hermes, kTools, "", false);
    auto call = [](const std::string& args) {
        return "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " + args + "}\n</tool_call>";
    };
    EXPECT_TRUE(accepts(hermes, call(R"({"city": "Oslo", "unit": "C"})")));
    EXPECT_FALSE(accepts(hermes, call(R"({"days": 2})")));                        // city is required
    EXPECT_FALSE(accepts(hermes, call(R"({"city": "Oslo", "days": "two"})")));    // days is an integer
    EXPECT_FALSE(accepts(hermes, call(R"({"city": "Oslo", "unit": "K"})")));      // not in the enum
    EXPECT_FALSE(accepts(hermes, call(R"({"city": "Llanfairpwllgwyngyll"})")));   // maxLength 12
    EXPECT_FALSE(accepts(hermes, "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>"));
    // Not parallel: one call only.
    EXPECT_FALSE(accepts(hermes, call(R"({"city": "A"})") + "\n" + call(R"({"city": "B"})")));
    const std::string parallel = forced_tool_call_grammar(ToolCallFamily::Hermes, kTools, "", true);
    EXPECT_TRUE(accepts(parallel, call(R"({"city": "A"})") + "\n" + call(R"({"city": "B"})")));
    // QwenXml: string values are text, enum values one of the strings, the required parameter present.
    const std::string xml = forced_tool_call_grammar(ToolCallFamily::QwenXml, kTools, "", false);
    EXPECT_TRUE(accepts(xml, "<tool_call>\n<function=get_weather>\n<parameter=city>\nSan <Jose>\n</parameter>\n"
                             "<parameter=unit>\nF\n</parameter>\n</function>\n</tool_call>"));
    EXPECT_FALSE(accepts(xml, "<tool_call>\n<function=get_weather>\n<parameter=days>\n2\n</parameter>\n</function>\n</tool_call>"));
    EXPECT_FALSE(accepts(xml, "<tool_call>\n<function=get_weather>\n<parameter=city>\nOslo\n</parameter>\n"
                              "<parameter=unit>\nK\n</parameter>\n</function>\n</tool_call>"));
}

// DeepSeek V3 / R1 write the older form (function<｜tool▁sep｜>name, fenced JSON); the grammar allows
// both, and GLM's and Kimi's refuse what their parsers would not read as the schema says.
TEST(ServeToolGrammar, DeepSeekGlmAndKimiForms) {
    const std::string deepseek = forced_tool_call_grammar(ToolCallFamily::DeepSeek, kTools, "", true);
    const std::string v3 = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"A\"}"
                           "\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>now\n```json\n{}\n```"
                           "<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
    EXPECT_TRUE(accepts(deepseek, v3));
    EXPECT_EQ(chat::parse_tool_calls(ToolCallFamily::DeepSeek, v3, kTools).calls.size(), 2u);
    EXPECT_FALSE(accepts(deepseek, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"days\": 2}"
                                   "<｜tool▁call▁end｜><｜tool▁calls▁end｜>"));  // city is required
    const std::string glm = forced_tool_call_grammar(ToolCallFamily::Glm, kTools, "", false);
    EXPECT_TRUE(accepts(glm, "<tool_call>get_weather<arg_key>city</arg_key><arg_value>San <Jose></arg_value>"
                             "<arg_key>unit</arg_key><arg_value>F</arg_value></tool_call>"));
    EXPECT_FALSE(accepts(glm, "<tool_call>get_weather<arg_key>days</arg_key><arg_value>2</arg_value></tool_call>"));
    EXPECT_FALSE(accepts(glm, "<tool_call>get_weather<arg_key>city</arg_key><arg_value>A</arg_value>"
                              "<arg_key>days</arg_key><arg_value>two</arg_value></tool_call>"));
    const std::string kimi = forced_tool_call_grammar(ToolCallFamily::Kimi, kTools, "now", true);
    EXPECT_TRUE(accepts(kimi, "<|tool_calls_section_begin|><|tool_call_begin|>functions.now:0<|tool_call_argument_begin|>{}"
                              "<|tool_call_end|><|tool_calls_section_end|>"));
    EXPECT_FALSE(accepts(kimi, weather_call(ToolCallFamily::Kimi)));  // only the named function
}

// Mistral's two forms: the JSON list (v0.3, Nemo) and name[ARGS]{...} per call (Small 3.2).
TEST(ServeToolGrammar, MistralForms) {
    const std::string parallel = forced_tool_call_grammar(ToolCallFamily::Mistral, kTools, "", true);
    const std::string named = "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"A\"}[TOOL_CALLS]now[ARGS]{}";
    EXPECT_TRUE(accepts(parallel, named));
    EXPECT_EQ(chat::parse_tool_calls(ToolCallFamily::Mistral, named, kTools).calls.size(), 2u);
    EXPECT_TRUE(accepts(parallel, "[TOOL_CALLS][{\"name\": \"now\", \"arguments\": {}}, "
                                  "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"B\"}}]"));
    EXPECT_FALSE(accepts(parallel, "[TOOL_CALLS]get_weather[ARGS]{\"days\": 2}"));  // city is required
    const std::string one = forced_tool_call_grammar(ToolCallFamily::Mistral, kTools, "now", true);
    EXPECT_TRUE(accepts(one, "[TOOL_CALLS]now[ARGS]{}"));
    EXPECT_FALSE(accepts(one, "[TOOL_CALLS]now[ARGS]{}[TOOL_CALLS]now[ARGS]{}"));
    EXPECT_FALSE(accepts(one, "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"A\"}"));
}

TEST(ServeToolGrammar, ANamedFunctionIsTheOnlyChoice) {
    const std::string gbnf = forced_tool_call_grammar(ToolCallFamily::Llama3, kTools, "now", true);
    EXPECT_TRUE(accepts(gbnf, R"({"name": "now", "parameters": {}})"));
    EXPECT_FALSE(accepts(gbnf, weather_call(ToolCallFamily::Llama3)));
    EXPECT_FALSE(accepts(gbnf, R"({"name": "now", "parameters": {}}; {"name": "now", "parameters": {}})"));
}

TEST(ServeToolGrammar, FamiliesWithoutATextCallSyntaxHaveNone) {
    EXPECT_EQ(forced_tool_call_grammar(ToolCallFamily::Harmony, kTools, "", true), "");
    EXPECT_EQ(forced_tool_call_grammar(ToolCallFamily::Gemma4, kTools, "", true), "");  // its own value syntax
    EXPECT_EQ(forced_tool_call_grammar(ToolCallFamily::None, kTools, "", true), "");
    EXPECT_EQ(forced_tool_call_grammar(ToolCallFamily::Hermes, nullptr, "", true), "");
}

TEST(ServeToolGrammar, ABadParametersSchemaIsAnErrorNamingIt) {
    const json tools = json::parse(R"([{"type": "function", "function": {"name": "f",
        "parameters": {"type": "object", "properties": {"x": {"type": "string", "pattern": "a+"}}}}}])");
    try {
        forced_tool_call_grammar(ToolCallFamily::Hermes, tools, "", true);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("pattern"), std::string::npos) << e.what();
    }
}

// Printable ASCII and newline, one character per token; id 0 ends generation.
std::vector<std::string> char_vocab() {
    std::vector<std::string> v = {""};
    for (char c = 0x20; c < 0x7F; ++c) v.push_back(std::string(1, c));
    v.push_back("\n");
    // DeepSeek's markers are not ASCII: whole tokens, as in its vocabulary, and their characters.
    for (const char* marker : {"｜", "▁", "<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>", "<｜tool▁call▁begin｜>",
                               "<｜tool▁call▁end｜>", "<｜tool▁sep｜>"})
        v.push_back(marker);
    return v;
}

TEST(ServeToolGrammar, RandomSentencesParseIntoValidCalls) {
    const std::vector<std::string> vocab = char_vocab();
    std::mt19937 rng(7);
    for (ToolCallFamily family : kTextFamilies) {
        SCOPED_TRACE(chat::tool_call_family_name(family));
        grammar::TokenConstraint c(grammar::parse_gbnf(forced_tool_call_grammar(family, kTools, "", true)), vocab, {0});
        for (int n = 0; n < 25; ++n) {
            c.reset();
            std::string text;
            for (int step = 0; step < 4000 && !c.finished(); ++step) {
                const auto& mask = c.allowed();
                if (mask.end_allowed && rng() % 2) break;
                std::vector<int32_t> ids, closers;
                for (int32_t id = 1; id < int32_t(vocab.size()); ++id) {
                    if (!mask.allowed(id)) continue;
                    ids.push_back(id);
                    if (std::string("\"}]\n</>").find(vocab[size_t(id)]) != std::string::npos) closers.push_back(id);
                }
                ASSERT_FALSE(ids.empty()) << "dead end after: " << text;
                // Past a while, characters that close strings and blocks, so that the text ends.
                const std::vector<int32_t>& from = step > 40 && !closers.empty() ? closers : ids;
                const int32_t pick = from[rng() % from.size()];
                c.accept(pick);
                text += vocab[size_t(pick)];
            }
            ASSERT_TRUE(c.complete()) << text;
            const chat::ToolCallReply reply = chat::parse_tool_calls(family, text, kTools);
            ASSERT_FALSE(reply.calls.empty()) << text;
            EXPECT_EQ(reply.content.find_first_not_of(" \n"), std::string::npos) << text;
            for (const auto& call : reply.calls) {
                const json args = json::parse(call.arguments);
                ASSERT_TRUE(args.is_object()) << text;
                if (call.name == "get_weather") {
                    ASSERT_TRUE(args.contains("city")) << text;
                    EXPECT_TRUE(args["city"].is_string()) << text;
                    EXPECT_TRUE(!args.contains("days") || args["days"].is_number_integer()) << text;
                    EXPECT_TRUE(!args.contains("unit") || args["unit"] == "C" || args["unit"] == "F") << text;
                } else {
                    EXPECT_EQ(call.name, "now") << text;
                }
            }
        }
    }
}

}  // namespace
}  // namespace hearth::serve
