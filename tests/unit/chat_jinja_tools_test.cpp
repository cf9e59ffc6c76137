// Template snippets for what the tool-calling and reasoning templates of 2026 use (gpt-oss,
// Qwen3.5, Gemma 4, DeepSeek V3.1, GLM 4.7, Kimi K2, Granite 4.0, Llama 4, Phi-4-mini, Ministral
// reasoning): macros calling themselves or a macro defined further down, keyword arguments with
// defaults, macro output through filters, macro-local set, None/True literals, loop.previtem /
// nextitem, reassigning the loop variable, range with a negative step, multi-line namespace(),
// raw newlines in string literals, strftime_now, and the Python runtime errors those templates
// hit on some conversations. Expected outputs and error messages come from Python jinja2 3.1.6
// configured as transformers configures it, with strftime_now fixed at 2025-03-04T05:06:07.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat/template.h"

namespace hearth {
namespace {

struct ToolTemplateCase {
    const char* source;
    const char* output;  // nullptr: rendering fails
    const char* error;   // for failures: jinja2's exact message, where ours words it alike
};

// clang-format off
const std::vector<ToolTemplateCase> kCases = {
    {R"J({% macro a(x) %}[{{ b(x) }}]{% endmacro %}{% macro b(x) %}<{{ x }}>{% endmacro %}{{ a(1) }})J",
     R"J([<1>])J", nullptr},
    {R"J({{ b(1) }}{% macro b(x) %}<{{ x }}>{% endmacro %})J",
     nullptr, R"J('b' is undefined)J"},
    {R"J({% macro f(v, escape_keys=True) %}{{ v }}{{ escape_keys }}{% endmacro %}{{ f(1, escape_keys=False) }}{{ f(2) }})J",
     R"J(1False2True)J", nullptr},
    {R"J({% macro f(v, escape_keys=True) %}{% endmacro %}{{ f(1, nosuch=False) }})J",
     nullptr, R"J(macro 'f' takes no keyword argument 'nosuch')J"},
    {R"J({% macro r(c) %}  {{ c }}  {% endmacro %}[{{ r('x')|trim }}]{{ r('y') | length }})J",
     R"J([x]5)J", nullptr},
    {R"J({% set e = 'high' %}{% macro m() %}{% set e = 'low' %}{{ e }}{% endmacro %}{{ m() }}{{ e }})J",
     R"J(lowhigh)J", nullptr},
    {R"J({% set ns = namespace(prev_message_type=None, x=True, y=False) %}{{ ns.prev_message_type }}{{ ns.x }}{{ ns.y }}{{ None is none }}{{ True is true }}{{ False }})J",
     R"J(NoneTrueFalseTrueTrueFalse)J", nullptr},
    {R"J({% macro ts(spec) -%}
{%- if spec.type == "array" -%}{{ ts(spec['items']) }}[]{%- elif spec.type == "string" -%}string{%- elif spec.enum -%}{{ spec.enum | map('tojson') | join(' | ') }}{%- else -%}any{%- endif -%}
{%- endmacro %}{{ ts({'type': 'array', 'items': {'type': 'array', 'items': {'type': 'string'}}}) }}|{{ ts({'enum': ['c', 'f']}) }})J",
     R"J(string[][]|"c" | "f")J", nullptr},
    {R"J({{ {'b': 1, 'a': 2} | dictsort }}{{ ['a','b'] | map('upper') | join }}{{ 'x' | upper }})J",
     R"J([('a', 2), ('b', 1)]ABX)J", nullptr},
    {R"J({% for k, v in 'abc' | items %}{{ k }}{% endfor %})J",
     nullptr, R"J(Can only get item pairs from a mapping.)J"},
    {R"J({% for k, v in n | items %}{{ k }}{% endfor %})J",
     nullptr, R"J(Can only get item pairs from a mapping.)J"},
    {R"J({% for k, v in undef | items %}{{ k }}{% endfor %}[])J",
     R"J([])J", nullptr},
    {R"J({{ ['a', 'b', 'c'] | reject("in", ['b']) | list }}{{ [1, 2, 3] | select("in", [2, 3]) | list }})J",
     R"J(['a', 'c'][2, 3])J", nullptr},
    {R"J({{ {'a': 'é'} | tojson(ensure_ascii=False) }}{{ {'a': 'é'} | tojson(ensure_ascii=True) }}{{ {'a': [1, 'x']} | tojson(indent=4) }})J",
     R"J({"a": "é"}{"a": "\u00e9"}{
    "a": [
        1,
        "x"
    ]
})J", nullptr},
    {R"J({{ [1] is sequence }}{{ {} is sequence }}{{ true is boolean }}{{ 1 is boolean }}{{ x is undefined }}{{ n is undefined }}{{ 'a' is iterable }}{{ {} is iterable }}{{ 3 is iterable }})J",
     R"J(TrueTrueTrueFalseTrueFalseTrueTrueFalse)J", nullptr},
    {R"J({% set d = {'a': 1} %}{{ d.get('a') }}{{ d.get('b') }}|{{ d.get('b', 2) }}{{ d.keys() | list }}{{ 'a-b-c'.replace('-', '+', 1) }}{{ 'a:b:c'.split(':', 1) }})J",
     R"J(1None|2['a']a+b-c['a', 'b:c'])J", nullptr},
    {R"J({{ {'a': 1}.get() }})J",
     nullptr, nullptr},
    {R"J({% for i in range(5, 0, -1) %}{{ i }}{% endfor %}|{% for i in range(3, -3, -2) %}{{ i }}{% endfor %}|{{ range(0, 5, 2) | list }}{{ range(0) | list }}{{ range(2, 0) | list }})J",
     R"J(54321|31-1|[0, 2, 4][][])J", nullptr},
    {R"J({{ range(1, 2, 0) }})J",
     nullptr, R"J(range() arg 3 must not be zero)J"},
    {R"J({{ range('a') }})J",
     nullptr, R"J('str' object cannot be interpreted as an integer)J"},
    {R"J({% for m in [1, 2, 3] %}{{ [1, 2, 3][loop.index:] }};{% endfor %})J",
     R"J([2, 3];[3];[];)J", nullptr},
    {R"J({% for k, v in {'a': 1, 's': 'x', 'l': ['y']}.items() %}{{ v | tojson if v is not string else v }};{% endfor %})J",
     R"J(1;x;["y"];)J", nullptr},
    {R"J({% for x in [1, 2, 3] %}{{ loop.previtem }}-{{ loop.nextitem }}{{ loop.previtem is defined }}{{ loop.nextitem is defined }};{% endfor %})J",
     R"J(-2FalseTrue;1-3TrueTrue;2-TrueFalse;)J", nullptr},
    {R"J({% for x in ['a', 'b'] %}{{ 'functions.f:' + loop.index0|string }} {% endfor %})J",
     R"J(functions.f:0 functions.f:1 )J", nullptr},
    {R"J({% for tool in [{'function': {'name': 'f'}}, {'name': 'g'}] %}{% if tool.function is defined %}{% set tool = tool.function %}{% endif %}{{ tool.name }}{% endfor %})J",
     R"J(fg)J", nullptr},
    {R"J({% set ns = namespace(
    a=1,
    b='x',
    c=[]
) %}{{ ns.a }}{{ ns.b }}{{ ns.c }})J",
     R"J(1x[])J", nullptr},
    {R"J({% set ns = namespace(a=1,
    b=) %})J",
     nullptr, R"J(unexpected ')')J"},
    {R"J({% set d = "line1
line2" %}[{{ d }}])J",
     R"J([line1
line2])J", nullptr},
    {R"J({{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %A %B %j %p %I %y %a') }})J",
     R"J(04 Mar 2025|2025-03-04 05:06:07 Tuesday March 063 AM 05 25 Tue)J", nullptr},
    {R"J({{ strftime_now(5) }})J",
     nullptr, R"J(strftime() argument 1 must be str, not int)J"},
    {R"J({{ 'a' in n }})J",
     nullptr, R"J(argument of type 'NoneType' is not iterable)J"},
    {R"J({% for x in n %}{% endfor %})J",
     nullptr, R"J('NoneType' object is not iterable)J"},
    {R"J({{ 'a' + {} }})J",
     nullptr, R"J(can only concatenate str (not "dict") to str)J"},
    {R"J({{ 'a' + n }})J",
     nullptr, R"J(can only concatenate str (not "NoneType") to str)J"},
    {R"J({{ n | length }})J",
     nullptr, R"J(object of type 'NoneType' has no len())J"},
    {R"J({{ 'x' ~ undef }}{{ undef ~ 'x' }}{{ undef is undefined }})J",
     R"J(xxTrue)J", nullptr},
    {R"J({{ undef + 'x' }})J",
     nullptr, R"J('undef' is undefined)J"},
    {R"J({{ msgs[0].nokey }}|{{ msgs[0].nokey is defined }})J",
     R"J(|False)J", nullptr},
    {R"J({{ msgs[0].nokey.x }})J",
     nullptr, R"J('dict object' has no attribute 'nokey')J"},
    {R"J({{ '<|tool|>' + msgs[0].nokey + '<|/tool|>' }})J",
     nullptr, R"J('dict object' has no attribute 'nokey')J"},
    {R"J({{ [{'t': 'b'}, {'t': 'a'}] | sort(attribute='t') | map(attribute='t') | list }}{{ [{'t': 'b'}, {'t': 'a'}] | sort(attribute='t', reverse=true) | first }})J",
     R"J(['a', 'b']{'t': 'b'})J", nullptr},
    {R"J({{ 'Ab Cd'.istitle() }}{{ 'AB'.istitle() }}{{ 'Ab cd'.istitle() }}{{ ''.istitle() }}{{ '1 A'.istitle() }}{{ 'Éa Ñb'.istitle() }}{{ 'aB'.istitle() }})J",
     R"J(TrueFalseFalseFalseTrueTrueFalse)J", nullptr},
    {R"J([{{ 'a\tb\n\tc'.expandtabs(4) }}|{{ 'ab\tc'.expandtabs() }}|{{ '\t'.expandtabs(0) }}|{{ 'é\tx'.expandtabs(tabsize=3) }}])J",
     R"J([a   b
    c|ab      c||é  x])J", nullptr},
    {R"J({{ 'a'.expandtabs('x') }})J",
     nullptr, nullptr},
    {R"J({{ 'a'.expandtabs(1, 2) }})J",
     nullptr, nullptr},
    {R"J({{ 'a'.istitle(1) }})J",
     nullptr, nullptr},
    {R"J({{ '1'.isdigit(5) }})J",
     nullptr, nullptr},
    {R"J({{ ('<\t'|safe).expandtabs(2) ~ '<' }})J",
     R"J(< <)J", nullptr},
};
// clang-format on

const char* const kContext = R"({"msgs": [{"role": "user", "content": "hi"}], "n": null, "s": "  Hello World  "})";

chat::RenderOptions fixed_clock() {
    chat::RenderOptions options;
    options.now = "2025-03-04T05:06:07";
    return options;
}

TEST(ChatJinjaToolTemplates, MatchesJinja2OnEverySnippet) {
    const auto context = nlohmann::ordered_json::parse(kContext);
    int matched = 0;
    for (const ToolTemplateCase& c : kCases) {
        SCOPED_TRACE(c.source);
        try {
            const std::string got = chat::ChatTemplate::parse(c.source).render(context, fixed_clock());
            if (!c.output) {
                ADD_FAILURE() << "expected a failure, rendered " << nlohmann::ordered_json(got);
                continue;
            }
            EXPECT_EQ(got, c.output);
            matched += got == c.output;
        } catch (const chat::TemplateError& e) {
            if (c.output) {
                ADD_FAILURE() << "unexpected error: " << e.what();
                continue;
            }
            // None of these is the template's own raise_exception.
            EXPECT_NE(e.kind(), chat::TemplateError::Kind::Raised);
            if (c.error) {
                EXPECT_EQ(e.message(), c.error);
            }
            ++matched;
        }
    }
    EXPECT_EQ(matched, static_cast<int>(kCases.size()));
}

// gpt-oss and Mistral Small 3.2 call strftime_now unconditionally: without a clock it is
// undefined and rendering must fail, not print an empty date.
TEST(ChatJinjaToolTemplates, StrftimeNowWithoutClockIsUndefined) {
    const auto tmpl = chat::ChatTemplate::parse("Today: {{ strftime_now('%Y-%m-%d') }}");
    try {
        tmpl.render(nlohmann::ordered_json::object());
        ADD_FAILURE() << "rendered without a clock";
    } catch (const chat::TemplateError& e) {
        EXPECT_EQ(e.kind(), chat::TemplateError::Kind::Runtime);
        EXPECT_EQ(e.message(), "'strftime_now' is undefined");
        EXPECT_EQ(e.line(), 1);
    }
    EXPECT_EQ(tmpl.render(nlohmann::ordered_json::object(), fixed_clock()), "Today: 2025-03-04");
    // The Llama 3.2 idiom: test for it and fall back.
    const auto guarded = chat::ChatTemplate::parse(
        "{% if strftime_now is defined %}{{ strftime_now('%d %b %Y') }}{% else %}26 Jul 2024{% endif %}");
    EXPECT_EQ(guarded.render(nlohmann::ordered_json::object()), "26 Jul 2024");
    EXPECT_EQ(guarded.render(nlohmann::ordered_json::object(), fixed_clock()), "04 Mar 2025");
}

TEST(ChatJinjaToolTemplates, BadClockIsRejected) {
    const auto tmpl = chat::ChatTemplate::parse("{{ strftime_now('%Y') }}");
    chat::RenderOptions options;
    options.now = "2025-13-01T00:00:00";
    EXPECT_THROW(tmpl.render(nlohmann::ordered_json::object(), options), Error);
    EXPECT_THROW(chat::chat_inputs_from_conversation(
                     nlohmann::ordered_json::parse(R"({"messages": [], "now": "yesterday"})")),
                 Error);
    EXPECT_THROW(chat::chat_inputs_from_conversation(nlohmann::ordered_json::parse(R"({"messages": [], "now": 5})")),
                 Error);
}

// A GGUF can carry a CRLF template (Kimi K2's first commit had one): jinja2's lexer turns every
// \r\n and lone \r into \n, in text and inside string literals alike.
TEST(ChatJinjaToolTemplates, CrlfTemplateRendersLikeItsLfCopy) {
    const std::string lf =
        "{%- set d = \"a\nb\" -%}\n[{{ d }}]\n{% for m in msgs %}\n  {{ m.role }}\n{% endfor %}\n{# c\n #}end\n";
    std::string crlf;
    for (char c : lf) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    const auto context = nlohmann::ordered_json::parse(kContext);
    const std::string want = chat::ChatTemplate::parse(lf).render(context);
    EXPECT_EQ(want, "[a\nb]\n  user\nend");
    EXPECT_EQ(chat::ChatTemplate::parse(crlf).render(context), want);
    EXPECT_EQ(chat::ChatTemplate::parse("a\rb\r{{ 1 }}\r").render(context), "a\nb\n1");
    // A \r in a value (not the template source) stays, and restarts expandtabs' column.
    EXPECT_EQ(chat::ChatTemplate::parse("{{ v.expandtabs(2) }}").render({{"v", "a\r\tb"}}), "a\r  b");
}

}  // namespace
}  // namespace hearth
