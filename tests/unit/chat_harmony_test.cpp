// Splitting gpt-oss "harmony" replies into thinking / content / tool calls, and feeding the
// result back through the real gpt-oss template (which refuses channel markup in content).
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat/harmony.h"
#include "chat/reply_stream.h"
#include "chat/template.h"
#include "test_support.h"

namespace hearth {
namespace {

using nlohmann::ordered_json;

TEST(ChatHarmony, AnalysisThenFinal) {
    const auto r = chat::parse_harmony_reply(
        "<|channel|>analysis<|message|>User says hi.<|end|><|start|>assistant<|channel|>final<|message|>Hello!");
    EXPECT_EQ(r.thinking, "User says hi.");
    EXPECT_EQ(r.content, "Hello!");
    EXPECT_TRUE(r.tool_calls.empty());
}

TEST(ChatHarmony, TerminatorsAndSeveralAnalysisMessages) {
    const auto r = chat::parse_harmony_reply(
        "<|channel|>analysis<|message|>one<|end|><|start|>assistant<|channel|>analysis<|message|>two<|end|>"
        "<|start|>assistant<|channel|>commentary<|message|>Let me think.<|end|>"
        "<|start|>assistant<|channel|>final<|message|>Done.<|return|>");
    EXPECT_EQ(r.thinking, "one\ntwo");
    EXPECT_EQ(r.content, "Let me think.\nDone.");  // a preamble (commentary, no recipient) is shown
}

TEST(ChatHarmony, ToolCallWithRecipientBeforeOrAfterChannel) {
    const auto r = chat::parse_harmony_reply(
        "<|channel|>analysis<|message|>Need weather.<|end|>"
        "<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>"
        "{\"location\": \"Oslo\"}<|call|>");
    EXPECT_EQ(r.thinking, "Need weather.");
    EXPECT_EQ(r.content, "");
    ASSERT_EQ(r.tool_calls.size(), 1u);
    EXPECT_EQ(r.tool_calls[0].name, "get_weather");
    EXPECT_EQ(r.tool_calls[0].arguments, "{\"location\": \"Oslo\"}");

    const auto r2 = chat::parse_harmony_reply("<|channel|>commentary to=functions.f json<|message|>{}");
    ASSERT_EQ(r2.tool_calls.size(), 1u);
    EXPECT_EQ(r2.tool_calls[0].name, "f");
}

// Generation stopped by length or by the user: keep what is there, never throw.
TEST(ChatHarmony, CutShortAndMalformed) {
    EXPECT_EQ(chat::parse_harmony_reply("<|channel|>analysis<|message|>half a thou").thinking, "half a thou");
    const auto header_only =
        chat::parse_harmony_reply("<|channel|>analysis<|message|>x<|end|><|start|>assistant<|chan");
    EXPECT_EQ(header_only.thinking, "x");
    EXPECT_EQ(header_only.content, "");
    EXPECT_EQ(chat::parse_harmony_reply("").content, "");
    EXPECT_EQ(chat::parse_harmony_reply("<|channel|>").content, "");
    EXPECT_EQ(chat::parse_harmony_reply("<|start|><|start|><|message|>").content, "");
    EXPECT_EQ(chat::parse_harmony_reply("plain text, no markup").content, "plain text, no markup");
    // A recipient that is not a function (a built-in tool) is not a tool call here.
    EXPECT_TRUE(chat::parse_harmony_reply("<|channel|>commentary to=browser.search<|message|>q").tool_calls.empty());
}

TEST(ChatHarmony, AssistantMessage) {
    EXPECT_EQ(chat::assistant_message("Hi <b>there</b>"),
              ordered_json({{"role", "assistant"}, {"content", "Hi <b>there</b>"}}));
    const auto m = chat::assistant_message(
        "<|channel|>analysis<|message|>r<|end|><|start|>assistant to=functions.get_weather<|channel|>commentary json"
        "<|message|>{\"location\": \"Oslo\"}<|start|>assistant to=functions.g<|channel|>commentary<|message|>not json");
    EXPECT_EQ(m.at("content"), "");
    EXPECT_EQ(m.at("thinking"), "r");
    ASSERT_EQ(m.at("tool_calls").size(), 2u);
    EXPECT_EQ(m["tool_calls"][0]["function"]["arguments"], ordered_json({{"location", "Oslo"}}));
    EXPECT_EQ(m["tool_calls"][1]["function"]["arguments"], "not json");
    EXPECT_FALSE(chat::assistant_message("<|channel|>final<|message|>ok").contains("thinking"));
}

// The reply of one turn, stored with assistant_message, renders in the next turn; stored as
// raw text it makes the template raise.
TEST(ChatHarmony, ReplyRoundTripsThroughGptOssTemplate) {
    HEARTH_SHARED_OR_SKIP(path, "chat_templates/gpt-oss.jinja");
    const auto tmpl = chat::ChatTemplate::parse(test::read_file(path));
    const std::string reply =
        "<|channel|>analysis<|message|>Greet back.<|end|><|start|>assistant<|channel|>final<|message|>Hello!";
    chat::ChatInputs in;
    in.options.now = "2025-03-04T05:06:07";
    in.messages = ordered_json::array({{{"role", "user"}, {"content", "Hi"}}, chat::assistant_message(reply),
                                       {{"role", "user"}, {"content", "Again"}}});
    const std::string prompt = chat::render_chat(tmpl, in);
    EXPECT_NE(prompt.find("<|start|>assistant<|channel|>final<|message|>Hello!<|end|><|start|>user<|message|>Again"),
              std::string::npos)
        << prompt;
    EXPECT_EQ(prompt.find("Greet back."), std::string::npos);  // earlier turns' reasoning is dropped

    in.messages[1] = {{"role", "assistant"}, {"content", reply}};
    try {
        chat::render_chat(tmpl, in);
        ADD_FAILURE() << "raw harmony text in content rendered";
    } catch (const chat::TemplateError& e) {
        EXPECT_EQ(e.kind(), chat::TemplateError::Kind::Raised);
    }
}

// ---- streaming (what `chat` and `run --chat` print): chat::ReplyStream ----

using Pieces = std::vector<chat::ReplyStream::Piece>;

// All pieces of `text` pushed in chunks of `step` bytes, runs of one part merged.
Pieces stream_in_steps(std::string_view text, size_t step, bool in_thinking = false) {
    chat::ReplyStream s(in_thinking);
    Pieces all;
    auto add = [&all](const Pieces& ps) {
        for (const auto& p : ps) {
            if (!all.empty() && all.back().part == p.part && all.back().tool == p.tool) all.back().text += p.text;
            else all.push_back(p);
        }
    };
    for (size_t i = 0; i < text.size(); i += step) add(s.push(text.substr(i, step)));
    add(s.flush());
    return all;
}

TEST(ChatHarmonyStream, LabelsEachPartAndDropsTheMarkupAtAnySplit) {
    const std::string reply =
        "<|channel|>analysis<|message|>Need weather.<|end|>"
        "<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{\"city\":\"Oslo\"}<|call|>"
        "<|start|>assistant<|channel|>final<|message|>It is 3 °C in Oslo.<|return|>";
    for (size_t step : {size_t{1}, size_t{2}, size_t{5}, size_t{7}, reply.size()}) {
        const Pieces p = stream_in_steps(reply, step);
        ASSERT_EQ(p.size(), 3u) << "step " << step;
        EXPECT_EQ(p[0].part, chat::ReplyPart::Thinking);
        EXPECT_EQ(p[0].text, "Need weather.");
        EXPECT_EQ(p[1].part, chat::ReplyPart::ToolCall);
        EXPECT_EQ(p[1].tool, "get_weather");
        EXPECT_EQ(p[1].text, "{\"city\":\"Oslo\"}");
        EXPECT_EQ(p[2].part, chat::ReplyPart::Content);
        EXPECT_EQ(p[2].text, "It is 3 °C in Oslo.");
    }
    // The stream and the whole-reply parser agree on what is what.
    const auto r = chat::parse_harmony_reply(reply);
    EXPECT_EQ(r.thinking, "Need weather.");
    ASSERT_EQ(r.tool_calls.size(), 1u);
    EXPECT_EQ(r.tool_calls[0].name, "get_weather");
}

TEST(ChatHarmonyStream, TextWithoutMarkupPassesThroughUnchanged) {
    for (std::string_view text : {std::string_view("Hello there, <b>world</b>!"), std::string_view("<"),
                                  std::string_view("a <| not a marker")}) {
        std::string got;
        for (const auto& p : stream_in_steps(text, 1)) {
            EXPECT_EQ(p.part, chat::ReplyPart::Content);
            got += p.text;
        }
        EXPECT_EQ(got, text);
    }
}

TEST(ChatHarmonyStream, AnAnswerCutOffMidMarkerKeepsItsText) {
    // Generation stopped inside a marker (n_predict): nothing is lost, nothing half-parsed.
    const Pieces p = stream_in_steps("<|channel|>final<|message|>Partial answer <|en", 3);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].part, chat::ReplyPart::Content);
    EXPECT_EQ(p[0].text, "Partial answer <|en");
    // A header that never reached <|message|> shows nothing.
    EXPECT_TRUE(stream_in_steps("<|channel|>analy", 4).empty());
}

TEST(ChatReplyStream, ThinkTagsSplitThinkingFromTheAnswerAtAnySplit) {
    const std::string reply = "<think>\nThe user greets me.\n</think>\n\nHello! How can I help?";
    for (size_t step : {size_t{1}, size_t{3}, size_t{8}, reply.size()}) {
        const Pieces p = stream_in_steps(reply, step);
        ASSERT_EQ(p.size(), 2u) << "step " << step;
        EXPECT_EQ(p[0].part, chat::ReplyPart::Thinking);
        EXPECT_EQ(p[0].text, "\nThe user greets me.\n");
        EXPECT_EQ(p[1].part, chat::ReplyPart::Content);
        EXPECT_EQ(p[1].text, "Hello! How can I help?");  // the blank lines after </think> go
    }
    // Thinking cut off before </think> (n_predict) keeps all its text, a lookalike included.
    const Pieces cut = stream_in_steps("<think>I wonder </thi", 2);
    ASSERT_EQ(cut.size(), 1u);
    EXPECT_EQ(cut[0].part, chat::ReplyPart::Thinking);
    EXPECT_EQ(cut[0].text, "I wonder </thi");
    // <think> only counts at the start of the reply; elsewhere it is the model's text.
    const Pieces later = stream_in_steps("Use <think> tags.", 1);
    ASSERT_EQ(later.size(), 1u);
    EXPECT_EQ(later[0].part, chat::ReplyPart::Content);
    EXPECT_EQ(later[0].text, "Use <think> tags.");
}

// Gemma 4 thinks in a thought channel: "<|channel>thought\n" … "\n<channel|>", then the answer
// (or a call). The newline before the closing marker is markup, as the template writes it.
TEST(ChatReplyStream, Gemma4ThoughtChannelIsThinkingAtAnySplit) {
    const std::string reply = "<|channel>thought\nThe user wants Oslo.\nCheck it.\n<channel|><|tool_call>call:f{}<tool_call|>";
    for (size_t step : {size_t{1}, size_t{2}, size_t{3}, size_t{8}, reply.size()}) {
        const Pieces p = stream_in_steps(reply, step);
        ASSERT_EQ(p.size(), 2u) << "step " << step;
        EXPECT_EQ(p[0].part, chat::ReplyPart::Thinking);
        EXPECT_EQ(p[0].text, "The user wants Oslo.\nCheck it.");
        EXPECT_EQ(p[1].part, chat::ReplyPart::Content);
        EXPECT_EQ(p[1].text, "<|tool_call>call:f{}<tool_call|>");  // for the tool-call reader
    }
    // An empty thought (the template's own when thinking is off) and an unfinished one.
    const Pieces empty = stream_in_steps("<|channel>thought\n<channel|>Hi.", 1);
    ASSERT_EQ(empty.size(), 1u);
    EXPECT_EQ(empty[0].part, chat::ReplyPart::Content);
    EXPECT_EQ(empty[0].text, "Hi.");
    const Pieces cut = stream_in_steps("<|channel>thought\nHmm\n<chan", 2);
    ASSERT_EQ(cut.size(), 1u);
    EXPECT_EQ(cut[0].part, chat::ReplyPart::Thinking);
    EXPECT_EQ(cut[0].text, "Hmm\n<chan");
    // Not at the start, or another channel name: the model's text.
    for (std::string_view text : {"Say <|channel>thought\nx<channel|>", "<|channel>other\nx<channel|>"}) {
        const Pieces p = stream_in_steps(text, 1);
        ASSERT_EQ(p.size(), 1u) << text;
        EXPECT_EQ(p[0].part, chat::ReplyPart::Content);
        EXPECT_EQ(p[0].text, text);
    }
}

// Templates such as Qwen3.5's end the generation prompt with "<think>\n": the reply starts as
// thinking and only closes the tag.
TEST(ChatReplyStream, APromptThatOpensThinkingStartsTheReplyInside) {
    EXPECT_TRUE(chat::prompt_opens_thinking("<|im_start|>assistant\n<think>\n"));
    EXPECT_TRUE(chat::prompt_opens_thinking("x<think>"));
    EXPECT_FALSE(chat::prompt_opens_thinking("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
    EXPECT_FALSE(chat::prompt_opens_thinking("<|im_start|>assistant\n"));
    EXPECT_FALSE(chat::prompt_opens_thinking(""));
    for (size_t step : {size_t{1}, size_t{5}, size_t{64}}) {
        const Pieces p = stream_in_steps("Let me see.\n</think>\n\nIt is 4.", step, /*in_thinking=*/true);
        ASSERT_EQ(p.size(), 2u) << "step " << step;
        EXPECT_EQ(p[0].part, chat::ReplyPart::Thinking);
        EXPECT_EQ(p[0].text, "Let me see.\n");
        EXPECT_EQ(p[1].part, chat::ReplyPart::Content);
        EXPECT_EQ(p[1].text, "It is 4.");
    }
}

}  // namespace
}  // namespace hearth
