// hearth serve: a chat reply read as it streams (serve/reply.h) and sent as OpenAI chunks and
// Ollama pieces reassembles into the same message as the whole (non-streamed) answer, with tool
// calls in each family's markup, reasoning, and broken calls.
#include <cctype>
#include <cctype>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "serve/format.h"
#include "serve/reply.h"

namespace hearth::serve {
namespace {

using ordered_json = nlohmann::ordered_json;
using chat::ToolCallFamily;

const ordered_json kTools = ordered_json::parse(
    R"([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}}])");
const ResponseMeta kMeta{"chatcmpl-1", "tiny", 1700000000};

ReplyOptions options(ToolCallFamily family, bool with_tools = true) {
    ReplyOptions o;
    o.family = family;
    if (with_tools) o.tools = kTools;
    return o;
}

// The whole answer's OpenAI message.
ordered_json whole(const ReplyOptions& o, const std::string& text) {
    ReplyReader r(o);
    ChatReply reply = r.push(text);
    ChatReply end = r.finish();
    reply.thinking += end.thinking;
    reply.content += end.content;
    reply.tool_calls = end.tool_calls;
    return chat_completion(kMeta, reply, reply.tool_calls.empty() ? "stop" : "tool_calls", {})["choices"][0]["message"];
}

// The same reply streamed `step` bytes at a time as chunks, reassembled the way OpenAI's client
// libraries do (content appended; tool calls by index, arguments appended).
ordered_json streamed(const ReplyOptions& o, const std::string& text, size_t step) {
    ReplyReader r(o);
    std::vector<ordered_json> chunks;
    auto send = [&](const ChatReply& part) {
        if (!part.thinking.empty()) chunks.push_back(chat_chunk(kMeta, nullptr, nullptr, nullptr, false, &part.thinking));
        if (!part.content.empty()) chunks.push_back(chat_chunk(kMeta, nullptr, &part.content, nullptr, false));
        if (!part.tool_calls.empty())
            chunks.push_back(chat_chunk(kMeta, nullptr, nullptr, nullptr, false, nullptr, &part.tool_calls, 0));
    };
    for (size_t i = 0; i < text.size(); i += step) send(r.push(std::string_view(text).substr(i, step)));
    send(r.finish());

    ordered_json message = {{"role", "assistant"}, {"content", ""}};
    for (const ordered_json& c : chunks) {
        const ordered_json& d = c["choices"][0]["delta"];
        if (d.contains("content")) message["content"] = message["content"].get<std::string>() + d["content"].get<std::string>();
        if (d.contains("reasoning_content"))
            message["reasoning_content"] = message.value("reasoning_content", "") + d["reasoning_content"].get<std::string>();
        if (!d.contains("tool_calls")) continue;
        if (!message.contains("tool_calls")) message["tool_calls"] = ordered_json::array();
        for (const ordered_json& t : d["tool_calls"]) {
            const size_t index = t["index"].get<size_t>();
            ordered_json& calls = message["tool_calls"];
            while (calls.size() <= index)
                calls.push_back({{"id", ""}, {"type", "function"}, {"function", {{"name", ""}, {"arguments", ""}}}});
            ordered_json& call = calls[index];
            if (t.contains("id")) call["id"] = t["id"];
            if (t.contains("function")) {
                const ordered_json& f = t["function"];
                if (f.contains("name")) call["function"]["name"] = f["name"];
                if (f.contains("arguments"))
                    call["function"]["arguments"] = call["function"]["arguments"].get<std::string>() + f["arguments"].get<std::string>();
            }
        }
    }
    return message;
}

// Ids are random: compare everything else, and check their shape.
ordered_json without_ids(ordered_json message) {
    if (message.contains("tool_calls"))
        for (ordered_json& c : message["tool_calls"]) c.erase("id");
    return message;
}

void expect_same_when_streamed(const ReplyOptions& o, const std::string& text) {
    SCOPED_TRACE(text);
    const ordered_json w = whole(o, text);
    for (size_t step : {1, 2, 3, 5, 8, 1000}) EXPECT_EQ(without_ids(streamed(o, text, step)), without_ids(w)) << "step " << step;
}

// Gemma 4: the thought channel is reasoning_content, the call a tool call, nothing left as content.
TEST(ServeReply, Gemma4ThoughtAndCall) {
    const ordered_json m = whole(options(ToolCallFamily::Gemma4),
                                 "<|channel>thought\nNeed Oslo.\n<channel|><|tool_call>call:get_weather{city:<|\"|>Oslo<|\"|>}"
                                 "<tool_call|>");
    EXPECT_EQ(m["reasoning_content"], "Need Oslo.");
    ASSERT_EQ(m["tool_calls"].size(), 1u);
    EXPECT_EQ(m["tool_calls"][0]["function"]["arguments"], R"({"city":"Oslo"})");
    EXPECT_TRUE(m["content"].is_null() || m["content"] == "") << m.dump();
}

TEST(ServeReply, HermesCallsAreHeldBackAndReassemble) {
    const std::string text =
        "Checking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>\n"
        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Bergen\", \"days\": 2}}\n</tool_call>";
    const ordered_json m = whole(options(ToolCallFamily::Hermes), text);
    EXPECT_EQ(m["content"], "Checking.\n");
    ASSERT_EQ(m["tool_calls"].size(), 2u);
    EXPECT_EQ(m["tool_calls"][0]["function"]["name"], "get_weather");
    EXPECT_EQ(m["tool_calls"][0]["function"]["arguments"], R"({"city":"Oslo"})");
    EXPECT_EQ(m["tool_calls"][1]["function"]["arguments"], R"({"city":"Bergen","days":2})");
    const std::string id = m["tool_calls"][0]["id"];
    EXPECT_TRUE(id.starts_with("call_") && id.size() == 21) << id;
    EXPECT_NE(m["tool_calls"][0]["id"], m["tool_calls"][1]["id"]);
    expect_same_when_streamed(options(ToolCallFamily::Hermes), text);

    // No content delta ever carries the markup.
    ReplyReader r(options(ToolCallFamily::Hermes));
    std::string shown;
    for (char c : text) shown += r.push(std::string(1, c)).content;
    EXPECT_EQ(shown, "Checking.\n");
}

TEST(ServeReply, EveryFamilyStreamsLikeTheWholeAnswer) {
    expect_same_when_streamed(options(ToolCallFamily::QwenXml),
                              "<think>\nweather?\n</think>\n\n<tool_call>\n<function=get_weather>\n<parameter=city>\nOslo\n"
                              "</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>");
    expect_same_when_streamed(options(ToolCallFamily::Llama3), R"(<|python_tag|>{"name": "get_weather", "parameters": {"city": "Oslo"}})");
    expect_same_when_streamed(options(ToolCallFamily::Mistral), R"([TOOL_CALLS]get_weather[ARGS]{"city": "Oslo"})");
    expect_same_when_streamed(options(ToolCallFamily::Phi4Mini), R"(functools[{"name": "get_weather", "arguments": {}}])");
    expect_same_when_streamed(options(ToolCallFamily::Harmony),
                              "<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant to=functions.get_weather"
                              "<|channel|>commentary json<|message|>{\"city\": \"Oslo\"}<|call|>");
    expect_same_when_streamed(options(ToolCallFamily::Gemma4),
                              "<|channel>thought\nweather?\n<channel|><|tool_call>call:get_weather{city:<|\"|>Oslo<|\"|>,days:2}"
                              "<tool_call|>");
    expect_same_when_streamed(options(ToolCallFamily::Glm),
                              "<think>weather?</think><tool_call>get_weather<arg_key>city</arg_key><arg_value>Oslo</arg_value>"
                              "</tool_call>");
    expect_same_when_streamed(options(ToolCallFamily::DeepSeek),
                              "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"city\": \"Oslo\"}"
                              "<｜tool▁call▁end｜><｜tool▁calls▁end｜>");
    expect_same_when_streamed(options(ToolCallFamily::Kimi),
                              "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0"
                              "<|tool_call_argument_begin|>{\"city\": \"Oslo\"}<|tool_call_end|><|tool_calls_section_end|>");
    // Broken calls come back as text, streamed or not.
    expect_same_when_streamed(options(ToolCallFamily::Hermes), "<tool_call>\n{\"name\": \"get_weather\", \"argu");
    expect_same_when_streamed(options(ToolCallFamily::Mistral), "[TOOL_CALLS] nonsense");
    // Without tools (or with tool_choice none) the markup is just text.
    expect_same_when_streamed(options(ToolCallFamily::Hermes, false), "<tool_call>{\"name\": \"f\"}</tool_call>");
    EXPECT_EQ(whole(options(ToolCallFamily::Hermes, false), "<tool_call>{\"name\": \"f\"}</tool_call>")["content"],
              "<tool_call>{\"name\": \"f\"}</tool_call>");
}

TEST(ServeReply, ParallelToolCallsFalseKeepsTheFirst) {
    ReplyOptions o = options(ToolCallFamily::Hermes);
    o.parallel_tool_calls = false;
    const ordered_json m = whole(o, R"(<tool_call>{"name": "a", "arguments": {}}</tool_call><tool_call>{"name": "b", "arguments": {}}</tool_call>)");
    ASSERT_EQ(m["tool_calls"].size(), 1u);
    EXPECT_EQ(m["tool_calls"][0]["function"]["name"], "a");
}

TEST(ServeReply, MistralIdsAreNineLettersAndDigits) {
    const std::string id = new_tool_call_id(ToolCallFamily::Mistral);
    ASSERT_EQ(id.size(), 9u);
    for (char c : id) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << id;
}

TEST(ServeReply, OllamaGetsArgumentsAsAnObject) {
    ReplyReader r(options(ToolCallFamily::Hermes));
    r.push(R"(<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}</tool_call>)");
    const ordered_json o = ollama_final(Api::OllamaChat, "tiny", "t", r.finish(), "stop", {}, {});
    EXPECT_EQ(o["message"]["tool_calls"][0]["function"]["name"], "get_weather");
    EXPECT_EQ(o["message"]["tool_calls"][0]["function"]["arguments"]["days"], 2);
    EXPECT_EQ(o["message"]["content"], "");
}

}  // namespace
}  // namespace hearth::serve
