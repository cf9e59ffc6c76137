// Tool calls in replies (chat/tool_calls.h): the family of every template in
// ../shared/chat_templates, each family's parser on well-formed and broken model output, and the
// streaming reader giving the same result however the text is cut.
#include <map>
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat/template.h"
#include "chat/tool_calls.h"
#include "test_support.h"

namespace hearth::chat {
namespace {

using ordered_json = nlohmann::ordered_json;
using F = ToolCallFamily;

TEST(ToolCallFamily, EveryTemplateInShared) {
    HEARTH_SHARED_OR_SKIP(dir, "chat_templates");
    const std::map<std::string, F> expected = {
        {"chatml-openhermes", F::None},   {"deepseek-v3.1", F::DeepSeek},  {"deepseek-v3", F::DeepSeek},
        {"gemma-2", F::None},             {"gemma-4", F::Gemma4},          {"glm-4.7-flash", F::Glm},
        {"gpt-oss", F::Harmony},          {"granite-4.0", F::Hermes},      {"hermes-2-pro-tool-use", F::Hermes},
        {"kimi-k2", F::Kimi},             {"llama-3.1", F::Llama3},        {"llama-3.2", F::Llama3},
        {"llama-3", F::None},             {"llama-4", F::Llama3},          {"ministral-3-reasoning", F::Mistral},
        {"mistral-nemo", F::Mistral},     {"mistral-small-3.2", F::Mistral}, {"mistral-v0.1", F::None},
        {"mistral-v0.3", F::Mistral},     {"phi-3-mini", F::None},         {"phi-3.5-mini", F::None},
        {"phi-4-mini", F::Phi4Mini},      {"qwen2.5", F::Hermes},          {"qwen3.5", F::QwenXml},
        {"qwen3", F::Hermes},             {"smollm2", F::None},            {"tinyllama", F::None},
    };
    int seen = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".jinja") continue;
        const std::string name = entry.path().stem().string();
        auto it = expected.find(name);
        ASSERT_NE(it, expected.end()) << "a template this test does not know: " << name;
        EXPECT_EQ(detect_tool_call_family(test::read_file(entry.path())), it->second)
            << name << " detected as " << tool_call_family_name(detect_tool_call_family(test::read_file(entry.path())));
        ++seen;
    }
    EXPECT_EQ(seen, static_cast<int>(expected.size()));
}

const ordered_json kTools = ordered_json::parse(R"([
  {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {
      "location": {"type": "string"}, "days": {"type": "integer"}, "metric": {"type": "boolean"},
      "zip": {"type": "string"}, "extra": {"type": "object"}}}}}])");

struct Case {
    F family;
    std::string reply;
    std::string content;                 // expected content
    std::vector<std::string> calls;      // expected "name arguments"
};

void check(const Case& c) {
    SCOPED_TRACE(c.reply);
    const ToolCallReply r = parse_tool_calls(c.family, c.reply, kTools);
    EXPECT_EQ(r.content, c.content);
    std::vector<std::string> got;
    for (const ParsedToolCall& call : r.calls) got.push_back(call.name + " " + call.arguments);
    EXPECT_EQ(got, c.calls);

    // Streamed in pieces of every size from 1 to 7 bytes: the same content and calls.
    for (size_t step = 1; step <= 7; ++step) {
        ToolCallStream stream(c.family, kTools);
        std::string content;
        for (size_t i = 0; i < c.reply.size(); i += step) content += stream.push(std::string_view(c.reply).substr(i, step));
        const ToolCallReply end = stream.finish();
        content += end.content;
        EXPECT_EQ(content, c.content) << "step " << step;
        std::vector<std::string> streamed;
        for (const ParsedToolCall& call : end.calls) streamed.push_back(call.name + " " + call.arguments);
        EXPECT_EQ(streamed, c.calls) << "step " << step;
    }
}

TEST(ToolCallParse, Hermes) {
    check({F::Hermes, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Oslo\"}}\n</tool_call>", "",
           {R"(get_weather {"location":"Oslo"})"}});
    // Text before the call stays content; two calls; arguments given as a JSON string.
    check({F::Hermes,
           "Let me check.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n"
           "{\"name\": \"b\", \"arguments\": \"{\\\"x\\\": 1}\"}\n</tool_call>",
           "Let me check.\n", {"a {}", R"(b {"x":1})"}});
    // No call at all, and a "<" that is not a trigger.
    check({F::Hermes, "a < b and <tool maybe", "a < b and <tool maybe", {}});
}

TEST(ToolCallParse, HermesBroken) {
    // Unterminated JSON: all text.
    check({F::Hermes, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"loc",
           "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"loc", {}});
    // A missing </tool_call> at the end is forgiven.
    check({F::Hermes, "<tool_call>{\"name\": \"f\", \"arguments\": {}}", "", {"f {}"}});
    // No name, garbage, arguments that are not an object.
    check({F::Hermes, "<tool_call>{\"arguments\": {}}</tool_call>", "<tool_call>{\"arguments\": {}}</tool_call>", {}});
    check({F::Hermes, "<tool_call>}}{{ nonsense", "<tool_call>}}{{ nonsense", {}});
    check({F::Hermes, "<tool_call>{\"name\": \"f\", \"arguments\": [1]}</tool_call>",
           "<tool_call>{\"name\": \"f\", \"arguments\": [1]}</tool_call>", {}});
    // A good call, then a broken one: the good one stands, the rest is text.
    check({F::Hermes, "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call> then <tool_call>{bad",
           " then <tool_call>{bad", {"f {}"}});
}

TEST(ToolCallParse, QwenXml) {
    check({F::QwenXml,
           "<tool_call>\n<function=get_weather>\n<parameter=location>\nSan Francisco, CA\n</parameter>\n"
           "<parameter=days>\n3\n</parameter>\n<parameter=metric>\ntrue\n</parameter>\n<parameter=zip>\n02134\n"
           "</parameter>\n<parameter=extra>\n{\"a\": [1]}\n</parameter>\n<parameter=unknown>\n42\n</parameter>\n"
           "</function>\n</tool_call>",
           "",
           {R"(get_weather {"location":"San Francisco, CA","days":3,"metric":true,"zip":"02134","extra":{"a":[1]},"unknown":"42"})"}});
    // Without <tool_call> (Qwen3-Coder sometimes), with text before; a value typed integer that is not JSON stays text.
    check({F::QwenXml, "Sure.\n<function=get_weather>\n<parameter=days>\nthree\n</parameter>\n</function>", "Sure.\n",
           {R"(get_weather {"days":"three"})"}});
    check({F::QwenXml, "<tool_call>\n<function=f>\n<parameter=x>\nunterminated", "<tool_call>\n<function=f>\n<parameter=x>\nunterminated", {}});
    check({F::QwenXml, "<tool_call><function=></function></tool_call>", "<tool_call><function=></function></tool_call>", {}});
}

TEST(ToolCallParse, Llama3) {
    check({F::Llama3, R"({"name": "get_weather", "parameters": {"location": "Oslo"}})", "", {R"(get_weather {"location":"Oslo"})"}});
    check({F::Llama3, R"(<|python_tag|>{"name": "f", "parameters": {}}; {"name": "g", "parameters": {"n": 1}})", "",
           {"f {}", R"(g {"n":1})"}});
    check({F::Llama3, R"(I'll call it: { "name": "f", "parameters": {}})", "I'll call it: ", {"f {}"}});
    check({F::Llama3, R"({"name": "f", "parameters": {)", R"({"name": "f", "parameters": {)", {}});
    check({F::Llama3, R"(<|python_tag|>brave_search.call(query="x"))", R"(<|python_tag|>brave_search.call(query="x"))", {}});
    check({F::Llama3, "Plain {braces} and text", "Plain {braces} and text", {}});
}

TEST(ToolCallParse, Mistral) {
    check({F::Mistral, R"([TOOL_CALLS] [{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": {}}])", "",
           {R"(f {"a":1})", "g {}"}});
    check({F::Mistral, R"([TOOL_CALLS]get_weather[ARGS]{"location": "Oslo"}[TOOL_CALLS]g[CALL_ID]abc123XYZ[ARGS]{})", "",
           {R"(get_weather {"location":"Oslo"})", "g {}"}});
    check({F::Mistral, "Hmm [TOOL_CALLS]f[ARGS]{\"a\":", "Hmm [TOOL_CALLS]f[ARGS]{\"a\":", {}});
    check({F::Mistral, "[TOOL_CALLS] [{\"arguments\": {}}]", "[TOOL_CALLS] [{\"arguments\": {}}]", {}});
    check({F::Mistral, "[TOOL_CALLS]", "[TOOL_CALLS]", {}});
}

TEST(ToolCallParse, Phi4Mini) {
    check({F::Phi4Mini, R"(functools[{"name": "get_weather", "arguments": {"location": "Oslo"}}])", "",
           {R"(get_weather {"location":"Oslo"})"}});
    check({F::Phi4Mini, R"(<|tool_call|>{"name": "f", "arguments": {}}<|/tool_call|>)", "", {"f {}"}});
    check({F::Phi4Mini, R"(functools[{"name": "f")", R"(functools[{"name": "f")", {}});
}

TEST(ToolCallParse, Gemma4) {
    check({F::Gemma4, "<|tool_call>call:get_weather{location:<|\"|>Oslo, \"NO\"<|\"|>,days:3}<tool_call|>", "",
           {R"(get_weather {"location":"Oslo, \"NO\"","days":3})"}});
    // Text before, two calls, nested values and an empty argument list.
    check({F::Gemma4,
           "Checking.\n<|tool_call>call:get_weather{extra:{tags:[<|\"|>a<|\"|>,1.5,null],on:true},metric:false}<tool_call|>"
           "<|tool_call>call:now{}<tool_call|>",
           "Checking.\n", {R"(get_weather {"extra":{"tags":["a",1.5,null],"on":true},"metric":false})", "now {}"}});
    // A missing end at the very end is forgiven.
    check({F::Gemma4, "<|tool_call>call:f{n:1}", "", {R"(f {"n":1})"}});
    // Unterminated, no name, a bare word that is not a value, garbage: text.
    for (const char* broken : {"<|tool_call>call:f{location:<|\"|>Oslo", "<|tool_call>call:{n:1}<tool_call|>",
                               "<|tool_call>call:f{city:Oslo}<tool_call|>", "<|tool_call>}{", "<|tool_call>call:f[1]"})
        check({F::Gemma4, broken, broken, {}});
}

TEST(ToolCallParse, Gemma4ValueSyntax) {
    auto json_of = [](std::string_view gemma) {
        std::optional<ordered_json> v = gemma4_value_to_json(gemma);
        return v ? v->dump() : std::string("nullopt");
    };
    EXPECT_EQ(json_of("<|\"|>plain<|\"|>"), R"("plain")");
    // Strings are taken as written: quotes, backslashes, braces and newlines need no escape.
    EXPECT_EQ(json_of("<|\"|>a \"b\" \\n {c}\n<|\"|>"), R"("a \"b\" \\n {c}\n")");
    EXPECT_EQ(json_of("-12.5e2"), "-1250.0");
    EXPECT_EQ(json_of("7"), "7");
    EXPECT_EQ(json_of("[true,false,null,None]"), "[true,false,null,null]");
    EXPECT_EQ(json_of("{a:{b:[1,[2,{c:<|\"|>d<|\"|>}]]}}"), R"({"a":{"b":[1,[2,{"c":"d"}]]}})");
    EXPECT_EQ(json_of("{<|\"|>quoted key<|\"|>:1, \"json\": \"x\\u00e9\"}"), R"({"quoted key":1,"json":"xé"})");
    EXPECT_EQ(json_of(" { } "), "{}");
    EXPECT_EQ(json_of("[]"), "[]");
    for (const char* bad : {"", "{", "{a:1", "{a 1}", "{a:1,}", "[1 2]", "word", "<|\"|>open", "{:1}", "1 2", "{a:b}",
                            "{a,b:1}"})
        EXPECT_EQ(json_of(bad), "nullopt") << bad;
    // Deep nesting is refused, not a stack overflow.
    EXPECT_EQ(json_of(std::string(100000, '[') + std::string(100000, ']')), "nullopt");
}

TEST(ToolCallParse, Glm) {
    check({F::Glm,
           "<tool_call>get_weather<arg_key>location</arg_key><arg_value>Oslo</arg_value><arg_key>days</arg_key>"
           "<arg_value>3</arg_value><arg_key>extra</arg_key><arg_value>{\"a\": [1]}</arg_value><arg_key>zip</arg_key>"
           "<arg_value>02134</arg_value></tool_call>",
           "", {R"(get_weather {"location":"Oslo","days":3,"extra":{"a":[1]},"zip":"02134"})"}});
    // Text before, two calls (newlines between, as GLM 4.5 writes them), one without arguments.
    check({F::Glm, "Sure.\n<tool_call>now</tool_call>\n<tool_call>get_weather\n<arg_key>location</arg_key>\n"
                   "<arg_value>Bergen</arg_value>\n</tool_call>",
           "Sure.\n", {"now {}", R"(get_weather {"location":"Bergen"})"}});
    for (const char* broken : {"<tool_call>get_weather<arg_key>location</arg_key><arg_value>Os",
                               "<tool_call><arg_key>a</arg_key><arg_value>1</arg_value></tool_call>",
                               "<tool_call>f<arg_value>1</arg_value></tool_call>", "<tool_call>"})
        check({F::Glm, broken, broken, {}});
}

TEST(ToolCallParse, DeepSeek) {
    const std::string calls_begin = "<｜tool▁calls▁begin｜>", calls_end = "<｜tool▁calls▁end｜>";
    const std::string begin = "<｜tool▁call▁begin｜>", sep = "<｜tool▁sep｜>", end = "<｜tool▁call▁end｜>";
    // V3.1: name, separator, JSON.
    check({F::DeepSeek, calls_begin + begin + "get_weather" + sep + "{\"location\": \"Oslo\"}" + end + calls_end, "",
           {R"(get_weather {"location":"Oslo"})"}});
    // V3 / R1: "function", separator, name, fenced JSON; two calls; text before.
    check({F::DeepSeek,
           "Let me look.\n" + calls_begin + begin + "function" + sep + "get_weather\n```json\n{\"days\": 2}\n```" + end +
               "\n" + begin + "function" + sep + "now\n```json\n{}\n```" + end + calls_end,
           "Let me look.\n", {R"(get_weather {"days":2})", "now {}"}});
    // A good call then a broken one: the good one stands, the rest is text.
    check({F::DeepSeek, calls_begin + begin + "f" + sep + "{}" + end + begin + "g" + sep + "{\"x\":",
           begin + "g" + sep + "{\"x\":", {"f {}"}});
    for (const std::string& broken : {calls_begin + begin + "f" + sep + "{\"a\":", calls_begin + begin + sep + "{}" + end,
                                      calls_begin + begin + "f" + sep + "[1]" + end, calls_begin})
        check({F::DeepSeek, broken, broken, {}});
}

TEST(ToolCallParse, Kimi) {
    const std::string section = "<|tool_calls_section_begin|>", section_end = "<|tool_calls_section_end|>";
    const std::string begin = "<|tool_call_begin|>", args = "<|tool_call_argument_begin|>", end = "<|tool_call_end|>";
    check({F::Kimi, section + begin + "functions.get_weather:0" + args + "{\"location\": \"Oslo\"}" + end + section_end, "",
           {R"(get_weather {"location":"Oslo"})"}});
    check({F::Kimi,
           "Two lookups.\n" + section + " " + begin + " functions.get_weather:0 " + args + "{\"days\": 1}" + end + "\n" +
               begin + "now:1" + args + "{}" + end + section_end,
           "Two lookups.\n", {R"(get_weather {"days":1})", "now {}"}});
    // The singular spelling of the section marker some versions write.
    check({F::Kimi, "<|tool_call_section_begin|>" + begin + "functions.f:0" + args + "{}" + end + "<|tool_call_section_end|>",
           "", {"f {}"}});
    for (const std::string& broken : {section + begin + "functions.f:0" + args + "{\"a\"", section + begin + args + "{}" + end,
                                      section + begin + "functions.f:0" + "{}" + end, section})
        check({F::Kimi, broken, broken, {}});
}

// The parser reads what the family's template writes: an assistant message with two calls,
// rendered by the template, parses back into the same names and arguments.
TEST(ToolCallParse, ReadsWhatEachTemplateWrites) {
    HEARTH_SHARED_OR_SKIP(dir, "chat_templates");
    const ordered_json tools = ordered_json::parse(R"([
      {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object",
       "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                      "days": {"type": "integer"}, "options": {"type": "object"}}, "required": ["location"]}}},
      {"type": "function", "function": {"name": "now", "description": "Time", "parameters": {"type": "object", "properties": {}}}}])");
    const ordered_json weather = ordered_json::parse(
        R"({"location": "Paris, \"Île\" {1}", "unit": "celsius", "days": 3, "options": {"hourly": true, "fields": ["temp", "wind"]}})");
    struct Row {
        const char* name;
        F family;
        bool arguments_as_text;  // the DeepSeek templates concatenate the arguments as a string
    };
    for (const Row& row : {Row{"gemma-4", F::Gemma4, false}, Row{"glm-4.7-flash", F::Glm, false},
                           Row{"kimi-k2", F::Kimi, false}, Row{"deepseek-v3", F::DeepSeek, true},
                           Row{"deepseek-v3.1", F::DeepSeek, true}, Row{"qwen3", F::Hermes, false},
                           Row{"qwen3.5", F::QwenXml, false}}) {
        SCOPED_TRACE(row.name);
        const std::string source = test::read_file(dir + "/" + row.name + ".jinja");
        ASSERT_EQ(detect_tool_call_family(source), row.family);
        auto call = [&](const char* name, const ordered_json& args) {
            return ordered_json{{"id", std::string("call_") + name},
                                {"type", "function"},
                                {"function", {{"name", name}, {"arguments", row.arguments_as_text ? ordered_json(args.dump()) : args}}}};
        };
        ordered_json assistant = {{"role", "assistant"},
                                  {"content", row.arguments_as_text ? ordered_json(nullptr) : ordered_json("")},
                                  {"tool_calls", {call("get_weather", weather), call("now", ordered_json::object())}}};
        const ordered_json conversation = {
            {"messages", {{{"role", "user"}, {"content", "USER-ASKS"}}, assistant}}, {"tools", tools}};
        ChatInputs in = chat_inputs_from_conversation(conversation);
        in.add_generation_prompt = false;
        const std::string rendered = render_chat(ChatTemplate::parse(source), in);
        const size_t asked = rendered.find("USER-ASKS");
        ASSERT_NE(asked, std::string::npos) << rendered;
        const std::string reply = rendered.substr(asked + 9);
        const ToolCallReply r = parse_tool_calls(row.family, reply, tools);
        ASSERT_EQ(r.calls.size(), 2u) << reply;
        EXPECT_EQ(r.calls[0].name, "get_weather");
        EXPECT_EQ(nlohmann::json::parse(r.calls[0].arguments), nlohmann::json::parse(weather.dump())) << reply;
        EXPECT_EQ(r.calls[1].name, "now");
        EXPECT_EQ(r.calls[1].arguments, "{}");
    }
}

TEST(ToolCallParse, UnknownFamilyIsText) {
    for (F f : {F::None, F::Harmony})
        check({f, "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>",
               "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>", {}});
}

TEST(ToolCallParse, OddToolsNeverThrow) {
    const std::string reply = "<function=f>\n<parameter=x>\n1\n</parameter>\n</function>";
    for (const char* tools : {"null", "[]", "[1]", R"([{"function": 3}])", R"([{"function": {"name": "f", "parameters": 5}}])",
                              R"([{"function": {"name": "f", "parameters": {"properties": []}}}])",
                              R"([{"function": {"name": "f", "parameters": {"properties": {"x": 7}}}}])"}) {
        SCOPED_TRACE(tools);
        const ToolCallReply r = parse_tool_calls(F::QwenXml, reply, ordered_json::parse(tools));
        EXPECT_EQ(r.content.size() + r.calls.size() > 0, true);
    }
}


// Bounded random replies stitched from the markup of every family: parsing never throws, and the
// streamed reading (random cuts) always equals the whole one.
TEST(ToolCallParse, RandomMarkupNeverThrowsAndStreamsAlike) {
    const std::vector<std::string> pieces = {
        "<tool_call>", "</tool_call>", "<function=", "</function>", "<parameter=", "</parameter>", ">", "get_weather",
        "days", "{", "}", "[", "]", "\"", "\\", ":", ",", "\"name\"", "\"arguments\"", "\"parameters\"", "{\"name\"",
        "<|python_tag|>", "[TOOL_CALLS]", "[ARGS]", "[CALL_ID]", "functools[", "<|tool_call|>", "<|/tool_call|>", ";",
        "\n", " ", "text", "42", "true", "null", "\xff", "<", "<|", "<|tool_call>", "call:", "<tool_call|>", "<|\"|>",
        "<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>", "<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>",
        "<｜tool▁sep｜>", "<｜tool▁call▁end｜>", "function", "```json", "<|tool_calls_section_begin|>",
        "<|tool_call_begin|>", "functions.now:0", "<|tool_call_argument_begin|>", "<|tool_call_end|>"};
    std::mt19937 rng(1234);
    for (int round = 0; round < 3000; ++round) {
        std::string reply;
        const int n = 1 + static_cast<int>(rng() % 24);
        for (int i = 0; i < n; ++i) reply += pieces[rng() % pieces.size()];
        for (F family : {F::Hermes, F::QwenXml, F::Llama3, F::Mistral, F::Phi4Mini, F::Gemma4, F::Glm, F::DeepSeek, F::Kimi}) {
            SCOPED_TRACE(reply);
            ToolCallReply whole;
            ASSERT_NO_THROW(whole = parse_tool_calls(family, reply, kTools));
            for (const ParsedToolCall& c : whole.calls) {
                EXPECT_FALSE(c.name.empty());
                EXPECT_TRUE(nlohmann::json::parse(c.arguments, nullptr, false).is_object()) << c.arguments;
            }
            ToolCallStream stream(family, kTools);
            std::string content;
            for (size_t i = 0; i < reply.size();) {
                const size_t step = 1 + rng() % 6;
                content += stream.push(std::string_view(reply).substr(i, step));
                i += step;
            }
            const ToolCallReply end = stream.finish();
            EXPECT_EQ(content + end.content, whole.content);
            EXPECT_EQ(end.calls.size(), whole.calls.size());
        }
    }
}

}  // namespace
}  // namespace hearth::chat
