// The chat-template API: how render_chat builds the context (as transformers does), strftime_now,
// the default template, errors (syntax errors with line and column, unknown filters and tests,
// unclosed blocks, raise_exception, runtime errors) and the limits that keep hostile templates
// from exhausting the stack or memory.
#include <regex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat/template.h"

namespace hearth {
namespace {

using chat::ChatInputs;
using chat::ChatTemplate;
using chat::TemplateError;
using nlohmann::ordered_json;

std::string render(const std::string& source, const ordered_json& context = ordered_json::object()) {
    return ChatTemplate::parse(source).render(context);
}

// The error a source fails with (at parse or render time).
TemplateError error_of(const std::string& source, const ordered_json& context = ordered_json::object()) {
    try {
        render(source, context);
    } catch (const TemplateError& e) {
        return e;
    }
    ADD_FAILURE() << "no error for " << source;
    return TemplateError(TemplateError::Kind::Runtime, "none");
}

ChatInputs user_says(const std::string& text) {
    ChatInputs in;
    in.messages = ordered_json::array({{{"role", "user"}, {"content", text}}});
    return in;
}

// -- render_chat --------------------------------------------------------------------------------

TEST(ChatTemplateApi, RenderChatPassesTheVariablesTransformersPasses) {
    const auto t = ChatTemplate::parse(
        "{{ messages | length }}|{{ tools is none }}|{{ documents is none }}|{{ add_generation_prompt }}|"
        "{{ bos_token is defined }}|{{ eos_token }}|{{ enable_thinking }}");
    ChatInputs in = user_says("hi");
    in.eos_token = "</s>";
    in.add_generation_prompt = false;
    in.kwargs = ordered_json{{"enable_thinking", false}};
    EXPECT_EQ(chat::render_chat(t, in), "1|True|True|False|False|</s>|False");
}

TEST(ChatTemplateApi, ObjectKeysKeepTheirOrderInTojson) {
    const auto t = ChatTemplate::parse("{{ tools[0] | tojson }}");
    ChatInputs in = user_says("hi");
    in.tools = ordered_json::parse(R"([{"zeta": 1, "alpha": {"b": "é", "a": [1, 2.5, null]}}])");
    EXPECT_EQ(chat::render_chat(t, in), R"({"zeta": 1, "alpha": {"b": "é", "a": [1, 2.5, null]}})");
}

TEST(ChatTemplateApi, ConversationObjectsAreRead) {
    const auto conv = ordered_json::parse(R"({
        "name": "x", "messages": [{"role": "user", "content": "Hi"}],
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "chat_template_kwargs": {"enable_thinking": true},
        "now": "2025-03-04T05:06:07"})");
    const ChatInputs in = chat::chat_inputs_from_conversation(conv);
    const auto t = ChatTemplate::parse(
        "{{ messages[0].content }} {{ tools[0].function.name }} {{ enable_thinking }} {{ strftime_now('%d %b %Y') }}");
    EXPECT_EQ(chat::render_chat(t, in), "Hi f True 04 Mar 2025");
    EXPECT_THROW(chat::chat_inputs_from_conversation(ordered_json::parse(R"({"messages": 1})")), Error);
    EXPECT_THROW(chat::chat_inputs_from_conversation(ordered_json::parse(R"({"messages": [], "now": "yesterday"})")),
                 Error);
}

TEST(ChatTemplateApi, StrftimeNowIsFixedSystemOrUndefined) {
    const auto t = ChatTemplate::parse(
        "{% if strftime_now is defined %}{{ strftime_now('%Y-%m-%d %H:%M:%S %a %B %j %f|%z') }}{% else %}none{% endif %}");
    chat::RenderOptions fixed;
    fixed.now = "2024-02-29T23:59:58.5";
    EXPECT_EQ(t.render(ordered_json::object(), fixed), "2024-02-29 23:59:58 Thu February 060 500000|");
    fixed.now = "2025-03-04T05:06:07+05:30";
    EXPECT_EQ(t.render(ordered_json::object(), fixed), "2025-03-04 05:06:07 Tue March 063 000000|+0530");
    EXPECT_EQ(t.render(ordered_json::object()), "none");
    chat::RenderOptions system;
    system.system_clock = true;
    EXPECT_TRUE(std::regex_match(t.render(ordered_json::object(), system),
                                 std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z][a-z]{2} [A-Z][a-z]+ \d{3} \d{6}\|)")));
}

TEST(ChatTemplateApi, DefaultTemplateIsChatMl) {
    const auto t = ChatTemplate::parse(chat::default_chat_template());
    ChatInputs in = user_says("Hello");
    EXPECT_EQ(chat::render_chat(t, in), "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n");
    in.add_generation_prompt = false;
    EXPECT_EQ(chat::render_chat(t, in), "<|im_start|>user\nHello<|im_end|>\n");
}

TEST(ChatTemplateApi, OneParsedTemplateRendersFromManyThreads) {
    const auto t = ChatTemplate::parse(
        "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + m.content | length %}{% endfor %}"
        "{{ ns.n }}");
    std::vector<std::thread> threads;
    std::vector<std::string> results(8);
    for (size_t i = 0; i < results.size(); ++i) {
        threads.emplace_back([&, i] {
            ChatInputs in = user_says(std::string(i + 1, 'x'));
            for (int k = 0; k < 200; ++k) results[i] = chat::render_chat(t, in);
        });
    }
    for (auto& th : threads) th.join();
    for (size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i], std::to_string(i + 1));
}

// -- whitespace and the template source ------------------------------------------------------

TEST(ChatTemplateApi, TrimBlocksLstripBlocksAndOneTrailingNewline) {
    EXPECT_EQ(render("  {% if true %}\n  yes\n  {% endif %}\nend\n"), "  yes\nend");
    EXPECT_EQ(render("a\r\nb\r\n\r\n"), "a\nb\n");
    EXPECT_EQ(render("{{- ' x ' -}}  \n {{ 'y' }}  {%- if true %} z{% endif %}"), " x y z");
}

// -- errors -----------------------------------------------------------------------------------

TEST(ChatTemplateErrors, SyntaxErrorsNameLineAndColumn) {
    const TemplateError e = error_of("line one\n{{ messages[0] }}\n  {{ foo( }}");
    EXPECT_EQ(e.kind(), TemplateError::Kind::Syntax);
    EXPECT_EQ(e.line(), 3);
    EXPECT_EQ(e.column(), 11);
    EXPECT_STREQ(e.what(), "chat template syntax error at line 3, column 11: unexpected '}', expected ')'");

    const TemplateError bad_char = error_of("é{{ a ! b }}");
    EXPECT_EQ(bad_char.line(), 1);
    EXPECT_EQ(bad_char.column(), 7);  // columns count characters, not bytes
    EXPECT_EQ(bad_char.message(), "unexpected char '!'");

    EXPECT_EQ(error_of("{{ 'abc }}").message(), "unterminated string literal");
    EXPECT_EQ(error_of("{% for x in %}{% endfor %}").message(), "expected an expression, got end of statement block");
    EXPECT_EQ(error_of("{% set 1 = 2 %}").message(), "can't assign to this expression");
    EXPECT_EQ(error_of("{% macro m(a=1, b) %}{% endmacro %}").message(),
              "non-default argument follows default argument");
    EXPECT_EQ(error_of("{% break %}").message(), "'break' outside loop");
    EXPECT_EQ(error_of("{% do x %}").message(), "unknown tag 'do'");
    EXPECT_EQ(error_of("{% include 'x' %}").message(), "the 'include' tag is not supported in chat templates");
}

TEST(ChatTemplateErrors, UnclosedBlocksSayWhichBlock) {
    const TemplateError e = error_of("{% for m in messages %}\n  {% if m %}x{% endfor %}");
    EXPECT_EQ(e.kind(), TemplateError::Kind::Syntax);
    EXPECT_EQ(e.line(), 2);
    EXPECT_EQ(e.message(),
              "unexpected 'endfor': the innermost open block is 'if' (line 2, column 6), expecting 'elif', 'else' or "
              "'endif'");

    const TemplateError eof = error_of("{% if a %}\n{% for x in y %}\n");
    EXPECT_EQ(eof.message(),
              "unexpected end of template: the 'for' block opened at line 2, column 4 is not closed (expected 'endfor' "
              "or 'else')");
    EXPECT_EQ(error_of("{% macro m() %}x").message(),
              "unexpected end of template: the 'macro' block opened at line 1, column 4 is not closed (expected "
              "'endmacro')");
    EXPECT_EQ(error_of("{{ x ").message(), "unexpected end of template");
    EXPECT_EQ(error_of("{# never closed").message(), "missing end of comment tag");
    EXPECT_EQ(error_of("{% raw %} never closed").message(), "missing end of raw directive");
}

TEST(ChatTemplateErrors, UnknownFiltersAndTests) {
    const TemplateError f = error_of("\n{{ messages | shout }}");
    EXPECT_EQ(f.kind(), TemplateError::Kind::Syntax);
    EXPECT_EQ(f.line(), 2);
    EXPECT_EQ(f.message(), "no filter named 'shout'");
    EXPECT_EQ(error_of("{{ x is shouting }}").message(), "no test named 'shouting'");
    // Inside an if, jinja2 reports an unknown filter only when it runs.
    EXPECT_EQ(render("{% if false %}{{ x | shout }}{% endif %}ok"), "ok");
    const TemplateError late = error_of("{% if true %}{{ x | shout }}{% endif %}");
    EXPECT_EQ(late.kind(), TemplateError::Kind::Runtime);
    EXPECT_EQ(late.message(), "no filter named 'shout'");
}

TEST(ChatTemplateErrors, RaiseExceptionMessageIsExact) {
    const TemplateError e = error_of("{{ raise_exception('Roles must alternate user/assistant/' ~ 1) }}");
    EXPECT_EQ(e.kind(), TemplateError::Kind::Raised);
    EXPECT_STREQ(e.what(), "Roles must alternate user/assistant/1");
}

TEST(ChatTemplateErrors, RuntimeErrorsNameTheExpression) {
    const TemplateError e = error_of("{% for m in messages %}\n{{ m.content.upper() + 1 }}{% endfor %}",
                                     ordered_json::parse(R"({"messages": [{"content": "x"}]})"));
    EXPECT_EQ(e.kind(), TemplateError::Kind::Runtime);
    EXPECT_EQ(e.line(), 2);
    EXPECT_EQ(e.message(), "can only concatenate str (not \"int\") to str");
    EXPECT_EQ(error_of("{{ nothing.attr }}").message(), "'nothing' is undefined");
    EXPECT_EQ(error_of("{{ '</think>' in content }}", ordered_json::parse(R"({"content": null})")).message(),
              "argument of type 'NoneType' is not iterable");
}

TEST(ChatTemplateErrors, HostileTemplatesHitLimits) {
    EXPECT_EQ(error_of("{{ " + std::string(2000, '(') + "1" + std::string(2000, ')') + " }}").message(),
              "template nested too deeply");
    std::string chain = "{{ x";
    for (int i = 0; i < 2000; ++i) chain += ".a";
    EXPECT_EQ(error_of(chain + " }}").message(), "template nested too deeply");
    std::string ifs;
    for (int i = 0; i < 2000; ++i) ifs += "{% if true %}";
    EXPECT_EQ(error_of(ifs).message(), "template nested too deeply");
    EXPECT_EQ(error_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").message(),
              "maximum recursion depth exceeded");
    EXPECT_EQ(error_of("{{ range(200000) | length }}").message(),
              "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    EXPECT_EQ(error_of("{{ 'abc' * 1000000000 }}").message(), "result too large");
    EXPECT_EQ(error_of("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns | tojson }}").message(),
              "Object of type Namespace is not JSON serializable");
}

}  // namespace
}  // namespace hearth
