// Template snippets covering jinja2's statements, expressions, filters, tests, methods, scoping
// and whitespace rules, each with the output (or the failure) Python jinja2 3.1.6 gives when
// configured as Hugging Face transformers configures it (trim_blocks, lstrip_blocks, loop
// controls, transformers' tojson and raise_exception). The expectations were generated with
// jinja2 itself; the render context is the same for every case.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat/template.h"

namespace hearth {
namespace {

struct JinjaCase {
    const char* source;
    const char* output;  // nullptr: rendering fails
    const char* raised;  // for failures from raise_exception(): the exact message
};

// clang-format off
const std::vector<JinjaCase> kCases = {
    {R"J({% for x in [] %}{% else %}{% set y = 1 %}{{ y }}{% endfor %}[{{ y }}])J",
     R"J(1[])J", nullptr},
    {R"J({% break %})J",
     nullptr, nullptr},
    {R"J({% set d = {'a':1} %}{{ d.items() }}|{{ d.keys() }}|{{ d.values() }})J",
     R"J(dict_items([('a', 1)])|dict_keys(['a'])|dict_values([1]))J", nullptr},
    {R"J({{ 'abc' | list }}{{ {'a':1,'b':2} | list }})J",
     R"J(['a', 'b', 'c']['a', 'b'])J", nullptr},
    {R"J({{ [1,2] | join }}|{{ n | trim }}|{{ n | string }})J",
     R"J(12|None|None)J", nullptr},
    {R"J({{ n | length }})J",
     nullptr, nullptr},
    {R"J({{ 3 is odd }}{{ true is number }}{{ true is integer }}{{ 1.0 is integer }}{{ 1 is float }})J",
     R"J(TrueTrueFalseFalseFalse)J", nullptr},
    {R"J({{ 'x' * 3 }}{{ 1 == 1.0 }}{{ (1,2) == [1,2] }}{{ true == 1 }})J",
     R"J(xxxTrueFalseTrue)J", nullptr},
    {R"J({{ {'a':1, 'b': [1, 2.5, none, true]} | tojson }}{{ 'é\n\u0001"' | tojson }}{{ [1,[2,{}],[]] | tojson(indent=2) }})J",
     R"J({"a": 1, "b": [1, 2.5, null, true]}"é\n\u0001\""[
  1,
  [
    2,
    {}
  ],
  []
])J", nullptr},
    {R"J({{ "they're bill's friends-from the UK(x)" | title }}|{{ "they're bill's friends" .title() }}|{{ 'hELLO wORLD' | capitalize }})J",
     R"J(They're Bill's Friends-From The Uk(X)|They'Re Bill'S Friends|Hello world)J", nullptr},
    {R"J({% macro m(a, b=2) %}{{ a }}{{ b }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, c=4) }})J",
     R"J(12(3,){'c': 4})J", nullptr},
    {R"J({% macro m(a, b=2) %}{{ a }}{{ b }}{% endmacro %}{{ m(1, 2, 3) }})J",
     nullptr, nullptr},
    {R"J({% macro m(a, b=2) %}{{ a }}{{ b }}{% endmacro %}{{ m(1, c=3) }})J",
     nullptr, nullptr},
    {R"J({% macro m(a, b=2) %}[{{ a }}|{{ b }}]{% endmacro %}{{ m() }}{{ m(b=5) }})J",
     R"J([|2][|5])J", nullptr},
    {R"J({% set ns = namespace(a=1) %}{{ ns }})J",
     R"J(<Namespace {'a': 1}>)J", nullptr},
    {R"J({{ 'a' ~ n }}{{ 'a' ~ undef }}{{ undef | default('d') }}{{ undef | length }})J",
     R"J(aNonead0)J", nullptr},
    {R"J({{ undef + 1 }})J",
     nullptr, nullptr},
    {R"J({{ undef | tojson }})J",
     nullptr, nullptr},
    {R"J({{ n + 'a' }})J",
     nullptr, nullptr},
    {R"J({{ 'a' + 1 }})J",
     nullptr, nullptr},
    {R"J({{ 1 + 'a' }})J",
     nullptr, nullptr},
    {R"J({{ msgs[0] }})J",
     R"J({'role': 'user', 'content': 'hi'})J", nullptr},
    {R"J({{ msgs[0].content.startswith('h') }}{{ s.strip() }}|{{ s.split() }}|{{ s.split(' ') }}|{{ 'a,b,,c'.split(',', 1) }})J",
     R"J(TrueHello World|['Hello', 'World']|['', '', 'Hello', 'World', '', '']|['a', 'b,,c'])J", nullptr},
    {R"J({{ 5 / 0 }})J",
     nullptr, nullptr},
    {R"J({{ [3,1,2] | sort }}{{ [3,1,2] | sort(reverse=true) | list }}{{ ['b','A','a'] | sort }}{{ [1,2,2,3,1] | unique | list }})J",
     R"J([1, 2, 3][3, 2, 1]['A', 'a', 'b'][1, 2, 3])J", nullptr},
    {R"J({{ [1,2,3] | sum }}{{ [1,2,3] | max }}{{ [1,2,3] | min }}{{ -3 | abs }}{{ 2.5 | round }}{{ 3.5 | round }}{{ 2.675 | round(2) }}{{ 7 | round }}{{ 2.1 | round(0, 'ceil') }})J",
     R"J(63132.04.02.6773.0)J", nullptr},
    {R"J({{ {'b':1,'a':2} | dictsort }}{{ {'b':1,'a':2} | items | list }})J",
     R"J([('a', 2), ('b', 1)][('b', 1), ('a', 2)])J", nullptr},
    {R"J({{ "a\nb\n\nc" | indent(2) }}|{{ "a\nb" | indent(2, true) }}|{{ "a\n\nb" | indent(2, blank=true) }})J",
     R"J(a
  b

  c|  a
  b|a
  
  b)J", nullptr},
    {R"J({{ [1,2,3,4,5] | batch(2) | list }}{{ [1,2,3,4,5] | slice(2) | list }})J",
     R"J([[1, 2], [3, 4], [5]][[1, 2, 3], [4, 5]])J", nullptr},
    {R"J({{ 'hello world foo' | wordcount }}{{ 'abc' | center(9) }}|{{ 'hello' | truncate(3) }}|{{ '%s-%d' | format('a', 3) }}|{{ '<a href="x">&\'' | e }})J",
     R"J(3   abc   |hello|a-3|&lt;a href=&#34;x&#34;&gt;&amp;&#39;)J", nullptr},
    {R"J({{ [{'a':1},{'a':2}] | map(attribute='a') | list }}{{ ['a','b'] | map('upper') | list }}{{ [1,2,3,4] | select('odd') | list }}{{ [1,0,2] | select | list }})J",
     R"J([1, 2]['A', 'B'][1, 3][1, 2])J", nullptr},
    {R"J({{ [{'a':1,'b':'x'},{'a':2}] | selectattr('b') | list }}{{ [{'a':1,'b':'x'},{'a':2}] | rejectattr('b', 'defined') | list }}{{ [{'a':1,'b':'x'},{'a':2}] | selectattr('a', 'equalto', 2) | list }})J",
     R"J([{'a': 1, 'b': 'x'}][{'a': 2}][{'a': 2}])J", nullptr},
    {R"J({{ 1 if false }}|{{ none is none }}{{ undef is undefined }}{{ 'x' is string }}{{ {} is mapping }}{{ [] is iterable }}{{ 'a' is iterable }}{{ 1 is iterable }}{{ ns is mapping }})J",
     R"J(|TrueTrueTrueTrueTrueTrueFalseFalse)J", nullptr},
    {R"J({{ [1,2,3][::-1] }}{{ 'hello'[1:3] }}{{ 'hello'[-1] }}{{ [1,2,3][1:] }}{{ [1,2,3][:-1] }}{{ 'héllo'[1] }}{{ 'héllo'|length }})J",
     R"J([3, 2, 1]elo[2, 3][1, 2]é5)J", nullptr},
    {R"J({{ 10 // 3 }}{{ -10 // 3 }}{{ 10.0 // 3 }}{{ 10 % 3 }}{{ -10 % 3 }}{{ 10.5 % 3 }}{{ 2 ** 3 }}{{ 2 ** 0.5 }}{{ 7 / 2 }}{{ 4 / 2 }})J",
     R"J(3-43.0121.581.41421356237309513.52.0)J", nullptr},
    {R"J({{ 'a' in 'cat' }}{{ 'a' in ['a'] }}{{ 'a' in {'a':1} }}{{ 'x' not in 'abc' }}{{ 1 in [1.0] }})J",
     R"J(TrueTrueTrueTrueTrue)J", nullptr},
    {R"J({{ 1 in 'abc' }})J",
     nullptr, nullptr},
    {R"J({{ 'a' < 'b' }}{{ [1,2] < [1,3] }}{{ 1 < 2 < 3 }}{{ 3 > 2 > 2 }})J",
     R"J(TrueTrueTrueFalse)J", nullptr},
    {R"J({{ 'a' < 1 }})J",
     nullptr, nullptr},
    {R"J({% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = 1, %}{{ t }})J",
     R"J(12(1,))J", nullptr},
    {R"J({% for a, b in [[1,2],[3,4]] %}{{ a }}{{ b }}{% endfor %}{% for a, b in [[1,2,3]] %}{% endfor %})J",
     nullptr, nullptr},
    {R"J({% for x in [1,2,3,4] if x is even %}{{ loop.index }}/{{ loop.length }}:{{ x }}{{ loop.previtem }}{{ loop.nextitem }},{% endfor %})J",
     R"J(1/2:24,2/2:42,)J", nullptr},
    {R"J({% for x in 'ab' %}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.cycle('o','e') }}{{ loop.depth }}{% endfor %})J",
     R"J(21TrueFalseo110FalseTruee1)J", nullptr},
    {R"J({% filter upper %}hello {{ 'x' }}{% endfilter %}{% set v | trim %}  abc  {% endset %}[{{ v }}])J",
     R"J(HELLO X[abc])J", nullptr},
    {R"J({% macro m(x) %}<{{ caller(x) }}>{% endmacro %}{% call(y) m(5) %}got {{ y }}{% endcall %})J",
     R"J(<got 5>)J", nullptr},
    {R"J({% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{{ a }})J",
     R"J(3)J", nullptr},
    {R"J({{ 'abc'.upper() }}{{ 'ABC'.lower() }}{{ 'a-b'.replace('-', '+') }}{{ 'abcabc'.find('c') }}{{ 'abcabc'.count('b') }}{{ '{} {x}'.format(1, x=2) }})J",
     R"J(ABCabca+b221 2)J", nullptr},
    {R"J({{ "%s and %s" % ('a', 'b') }}{{ "%d%%" % 5 }}{{ "%.2f" % 3.14159 }}{{ "%5s|%-5s|" % ('a','b') }}{{ "%(x)s" % {'x': 1} }})J",
     R"J(a and b5%3.14    a|b    |1)J", nullptr},
    {R"J({{ ('a', 1) }}{{ [('a', 1)] }}{{ {'k': 'v'} | string }}{{ 1.5e300 * 1e10 }}{{ -0.0 }}{{ 1e100 }}{{ 123456789012345678 }}{{ 0.000123 }})J",
     R"J(('a', 1)[('a', 1)]{'k': 'v'}inf-0.01e+1001234567890123456780.000123)J", nullptr},
    {R"J({{ "it's" }}|{{ ["it's", 'say "hi"', "both ' \""] }}|{{ ['\n\t\\', 'é\u200d\xa0\x7f'] }})J",
     R"J(it's|["it's", 'say "hi"', 'both \' "']|['\n\t\\', 'é\u200d\xa0\x7f'])J", nullptr},
    {R"J({{ dict(a=1, b=2) }}{{ dict([('x', 1)]) }}{{ [1,2] + [3] }}{{ (1,) + (2,) }})J",
     R"J({'a': 1, 'b': 2}{'x': 1}[1, 2, 3](1, 2))J", nullptr},
    {R"J({{ none is sameas none }}{{ 4 is divisibleby 2 }}{{ 'a' is in 'abc' }}{{ 3 is gt 2 }}{{ 'ABC' is upper }}{{ 1 is eq 1 }})J",
     R"J(TrueTrueTrueTrueTrueTrue)J", nullptr},
    {R"J({{ msgs | first }}{{ msgs | last }}{{ [] | first }}|{{ 'abc' | first }}{{ {'a':1} | first }})J",
     R"J({'role': 'user', 'content': 'hi'}{'role': 'user', 'content': 'hi'}|aa)J", nullptr},
    {R"J({{ '  x  ' | trim('x ') }}{{ 'xxhixx'.strip('x') }}{{ 'hello'.lstrip('he') }}{{ 'a\n'.rstrip('\n') }})J",
     R"J(hilloa)J", nullptr},
    {R"J({{ [1, 2] | join(', ') }}{{ [{'n':'a'},{'n':'b'}] | join(',', attribute='n') }})J",
     R"J(1, 2a,b)J", nullptr},
    {R"J({{ 10 | string | length }}{{ '5' | int + 1 }}{{ '5.5' | float }}{{ 'x' | int }}{{ '0x1A' | int(base=16) }}{{ 3.9 | int }}{{ true | int }})J",
     R"J(265.502631)J", nullptr},
    {R"J({{ x is defined }}{{ msgs.0.role }}{{ msgs['0'] }}|)J",
     R"J(Falseuser|)J", nullptr},
    {R"J({{ undef.attr }})J",
     nullptr, nullptr},
    {R"J({{ undef['k'] }})J",
     nullptr, nullptr},
    {R"J({{ msgs[5] }}|{{ msgs[5].x }})J",
     nullptr, nullptr},
    {R"J({{ 1 if true else 2 }}{{ 'a' if none }}|{{ none or 'b' }}{{ 'a' and 'b' }}{{ 0 and 'x' }}{{ not 0 }})J",
     R"J(1|bb0True)J", nullptr},
    {R"J({{ [] | tojson }}{{ {} | tojson(indent=2) }}{{ {'a': []} | tojson(indent=2) }}{{ [1] | tojson(separators=(',', ':')) }}{{ {'b':1,'a':2} | tojson(sort_keys=true) }}{{ 'é' | tojson(true) }}{{ '😀' | tojson(ensure_ascii=true) }}{{ 1.0 | tojson }}{{ (1,2) | tojson }}{{ {1: 2, none: 3, true: 4, 1.5: 5} | tojson }})J",
     R"J([]{}{
  "a": []
}[1]{"a": 2, "b": 1}"\u00e9""\ud83d\ude00"1.0[1, 2]{"1": 4, "null": 3, "1.5": 5})J", nullptr},
    {R"J({{ [1,2] | tojson(indent='  ') }}{{ [1,2] | tojson(indent=0) }})J",
     R"J([
  1,
  2
][
1,
2
])J", nullptr},
    {R"J({{- '  a  ' -}}   {{- 'b' }}  {# c #}  {%- if true %} x {% endif -%}  
  y)J",
     R"J(  a  b   x y)J", nullptr},
    {R"J(  {% if true %}
  yes
  {% endif %}
  {{ 'v' }}
  {# comment #}
z)J",
     R"J(  yes
  v
z)J", nullptr},
    {R"J({% if true %}  {% endif %}|{% if true +%}
a{%+ endif %})J",
     R"J(  |
a)J", nullptr},
    {R"J({%- set x = 1 -%}
{{ x }}
{{ x }}{# c #}
q)J",
     R"J(1
1q)J", nullptr},
    {R"J({{ 'a' }}{% raw %}{{ x }}{% endraw %}{%- raw -%}  {{ y }}  {%- endraw -%}  .)J",
     R"J(a{{ x }}{{ y }}.)J", nullptr},
    {R"J({{ '\x41\u00e9\U0001F600\101\q\\' }})J",
     R"J(Aé😀A\q\)J", nullptr},
    {R"J({{ "a'"|safe + "<b>" }}|{{ "<x>" + "y"|safe }}|{{ ("<"|safe) * 2 }}|{{ "%s&"|safe % "<" }}|{{ ("<a>"|safe).upper() + "<" }})J",
     R"J(a'&lt;b&gt;|&lt;x&gt;y|<<|&lt;&|<A>&lt;)J", nullptr},
    {R"J({{ "<"|e }}{{ "<"|e|e }}{{ "<"|forceescape }}{{ ("x"|safe).replace("x", "<") }}{{ ("a,b"|safe).split(",") }}{{ (","|safe).join(["<", ">"]) }})J",
     R"J(&lt;&lt;&lt;&lt;[Markup('a'), Markup('b')]&lt;,&gt;)J", nullptr},
    {R"J({{ ("{}"|safe).format("<") }}{{ ("<a>"|safe)[1:] + "&" }}{{ "<"|safe ~ "<" }}{{ ("<"|safe) | trim + "<" }}{{ ("<"|safe) | string + ">" }})J",
     R"J(&lt;a>&amp;<<<&lt;<&gt;)J", nullptr},
    {R"J({{ "a" ~ 1 ~ none ~ [1] ~ {'a': 'b'} }})J",
     R"J(a1None[1]{'a': 'b'})J", nullptr},
    {R"J(line1
   {% if true %}
   x
   {% endif %}
end)J",
     R"J(line1
   x
end)J", nullptr},
    {R"J( 	{%- if true %}a{% endif %})J",
     R"J(a)J", nullptr},
    {R"J({% for i in range(3) %}
  {{ i }}
{% endfor %})J",
     R"J(  0
  1
  2
)J", nullptr},
    {R"J({% for i in range(3) -%}
  {{ i }}
{%- endfor %})J",
     R"J(012)J", nullptr},
    {R"J(a  {#- comment -#}  b {# c2 #}
c)J",
     R"J(ab c)J", nullptr},
    {R"J({{ 'x' }}
  {#- a #}
  z)J",
     R"J(x  z)J", nullptr},
    {R"J(text {{- ' y ' -}} text)J",
     R"J(text y text)J", nullptr},
    {R"J(x {%+ if true %} y {% endif +%}
z)J",
     R"J(x  y 
z)J", nullptr},
    {R"J({% raw -%}   {{ x }}   {%- endraw %})J",
     R"J({{ x }})J", nullptr},
    {R"J(   {% raw %}a{% endraw %})J",
     R"J(a)J", nullptr},
    {R"J({%- macro m(x) -%}
  [{{ x }}]
{%- endmacro -%}
{{ m(1) }}{{ m(2) }})J",
     R"J([1][2])J", nullptr},
    {R"J({% set x %}
  content
{% endset %}[{{ x }}])J",
     R"J([  content
])J", nullptr},
    {R"J({{ 1 }}{# multi
line
comment #}{{ 2 }})J",
     R"J(12)J", nullptr},
    {R"J({% if true %}yes{% else %}no{% endif %}{% if false %}yes{% elif 1 %}elif{% else %}no{% endif %})J",
     R"J(yeselif)J", nullptr},
    {R"J({% for x in [1,2,3] %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}{% if x == 2 %}{% break %}{% endif %}{% endfor %}|{% for x in [1,2,3] %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %})J",
     R"J(13|1)J", nullptr},
    {R"J({% set ns = namespace(items=[]) %}{% for x in [1,2] %}{% set ns.items = ns.items + [x] %}{% endfor %}{{ ns.items }})J",
     R"J([1, 2])J", nullptr},
    {R"J({% set d = {'a': {'b': [10, 20]}} %}{{ d.a.b.1 }}{{ d['a']['b'][-1] }}{{ d.a.c }}|{{ d.get('z', 'dflt') }}{{ d.get('a') }})J",
     R"J(2020|dflt{'b': [10, 20]})J", nullptr},
    {R"J({{ "hello"[::2] }}{{ "hello"[10:] }}|{{ [1,2,3,4,5][1:4:2] }}{{ [1,2,3][-2:] }}{{ 'abc'[-10:2] }})J",
     R"J(hlo|[2, 4][2, 3]ab)J", nullptr},
    {R"J({% for a, b in {'x': 1, 'y': 2}.items() %}{{ a }}={{ b }};{% endfor %}{% for k in {'x': 1} %}{{ k }}{% endfor %})J",
     R"J(x=1;y=2;x)J", nullptr},
    {R"J({% for m in msgs recursive %}{{ m.role }}{% endfor %})J",
     R"J(user)J", nullptr},
    {R"J({% for x in [[1, [2, 3]], [4]] recursive %}<{% if x is iterable %}{{ loop(x) }}{% else %}{{ x }}{% endif %}>{% endfor %})J",
     R"J(<<1><<2><3>>><<4>>)J", nullptr},
    {R"J({% for x in [] %}a{% else %}empty{% endfor %})J",
     R"J(empty)J", nullptr},
    {R"J({{ [1, 2, 3] | map('string') | join('-') }}{{ ['a', 'B'] | map('upper') | list }})J",
     R"J(1-2-3['A', 'B'])J", nullptr},
    {R"J({{ 'abc' is lower }}{{ 'ABC' is upper }}{{ '' is lower }}{{ 5 is divisibleby(5) }}{{ 3 is in [1,2,3] }})J",
     R"J(TrueTrueFalseTrueTrue)J", nullptr},
    {R"J({{ x | default('none-set') }}{{ '' | default('empty', true) }}{{ none | default('n') }}{{ 0 | d('zero', boolean=true) }})J",
     R"J(none-setemptyNonezero)J", nullptr},
    {R"J({{ 'a\nb' | indent }}|{{ 'a\nb' | indent(width='>>') }}|{{ '\na' | indent(first=true) }})J",
     R"J(a
    b|a
>>b|    
    a)J", nullptr},
    {R"J({{ 'hello world' | truncate(5) }}|{{ 'hello world and more words here' | truncate(15) }}|{{ 'hello world' | truncate(9, true) }}|{{ 'hello world and more words' | truncate(12, false, '..', 0) }})J",
     R"J(he...|hello world...|hello world|hello..)J", nullptr},
    {R"J({{ [3, 1, 2] | sort | first }}{{ [{'n': 'b'}, {'n': 'A'}] | sort(attribute='n') | map(attribute='n') | join }}{{ ['b', 'A'] | sort(case_sensitive=true) | join }})J",
     R"J(1AbAb)J", nullptr},
    {R"J({{ [{'a': 1, 'b': 2}, {'a': 1, 'b': 1}] | sort(attribute='a,b') | map(attribute='b') | list }})J",
     R"J([1, 2])J", nullptr},
    {R"J({% for g in [{'k': 'x', 'v': 1}, {'k': 'y', 'v': 2}, {'k': 'x', 'v': 3}] | groupby('k') %}{{ g.grouper }}:{{ g.list | map(attribute='v') | join(',') }};{% endfor %})J",
     R"J(x:1,3;y:2;)J", nullptr},
    {R"J({{ ['a', 'b', 'a', 'A'] | unique | list }}{{ ['a', 'A'] | unique(case_sensitive=true) | list }})J",
     R"J(['a', 'b']['a', 'A'])J", nullptr},
    {R"J({{ {'b': 2, 'a': 1} | dictsort(by='value', reverse=true) }})J",
     R"J([('b', 2), ('a', 1)])J", nullptr},
    {R"J({{ 10 | filesizeformat }} {{ 1024 | filesizeformat(true) }} {{ 1500000 | filesizeformat }})J",
     R"J(10 Bytes 1.0 KiB 1.5 MB)J", nullptr},
    {R"J({{ '<p>Hello <b>World</b> &amp; more</p>' | striptags }}|{{ 'a b' | urlencode }}|{{ {'a': 'b c', 'd': 1} | urlencode }})J",
     R"J(Hello World & more|a%20b|a=b+c&d=1)J", nullptr},
    {R"J({{ 'hello' | center(11) }}|{{ 'x'.ljust(3, '*') }}|{{ 'x'.rjust(3) }}|{{ '42'.zfill(5) }}|{{ '-42'.zfill(5) }})J",
     R"J(   hello   |x**|  x|00042|-0042)J", nullptr},
    {R"J({{ 'a-b-c'.rsplit('-', 1) }}{{ 'a b  c'.rsplit(None, 1) }}{{ ' a b '.split(None, 1) }}{{ 'a\nb\r\nc'.splitlines() }}{{ 'x=y=z'.partition('=') }})J",
     R"J(['a-b', 'c']['a b', 'c']['a', 'b ']['a', 'b', 'c']('x', '=', 'y=z'))J", nullptr},
    {R"J({{ 'Hello'.startswith(('He', 'x')) }}{{ 'Hello'.endswith('lo', 0, 4) }}{{ 'hello'.find('l', 3) }}{{ 'hello'.rfind('l') }}{{ 'héllo'.find('l') }}{{ 'hello'.index('e') }})J",
     R"J(TrueFalse3321)J", nullptr},
    {R"J({{ 'hello'.index('z') }})J",
     nullptr, nullptr},
    {R"J({{ 'abc'.title() }}{{ 'hello world'.capitalize() }}{{ 'AbC'.swapcase() }}{{ 'ÉCOLE straße'.lower() }}{{ 'straße'.upper() }}{{ 'ὈΔΥΣΣΕΎΣ'.lower() }})J",
     R"J(AbcHello worldaBcécole straßeSTRASSEὀδυσσεύς)J", nullptr},
    {R"J({{ '%05.1f|%-6d|%x|%X|%o|%e|%g|%+d|% d|%c' % (3.14159, 42, 255, 255, 8, 12345.678, 0.0001, 5, 5, 65) }})J",
     R"J(003.1|42    |ff|FF|10|1.234568e+04|0.0001|+5| 5|A)J", nullptr},
    {R"J({{ '%s' % [1, 2] }}{{ '%s %s' % ('a',) }})J",
     nullptr, nullptr},
    {R"J({{ '%s' % ('a', 'b') }})J",
     nullptr, nullptr},
    {R"J({{ '{:>5}|{:<5}|{:^5}|{:05d}|{:.2f}|{:,}|{!r}'.format('a', 'b', 'c', 42, 3.14159, 1234, 'q') }})J",
     R"J(    a|b    |  c  |00042|3.14|1,234|'q')J", nullptr},
    {R"J({{ 7 // 0 }})J",
     nullptr, nullptr},
    {R"J({{ [1,2] * 2 }}{{ 'ab' * 3 }}{{ 3 * 'x' }}{{ (1,) * 2 }}{{ true + true }}{{ 1.5 + true }}{{ 2 ** 62 }}{{ -2 ** 2 }}{{ 2 ** 3 ** 2 }})J",
     R"J([1, 2, 1, 2]abababxxx(1, 1)22.54611686018427387904464)J", nullptr},
    {R"J({{ 1 == 1 == 1 }}{{ 1 < 2 > 1 }}{{ 'a' in 'abc' in 'xabcx' }}{{ not 1 == 2 }}{{ not none }}{{ (not 1) == false }})J",
     R"J(TrueTrueTrueTrueTrueTrue)J", nullptr},
    {R"J({{ 'b' if false }}{{ 'x' if true else 'y' if false else 'z' }}{{ 1 if 0 else 2 if 0 else 3 }})J",
     R"J(x3)J", nullptr},
    {R"J({{ (1, 2)[0] }}{{ [(1, 'a'), (2, 'b')] | map(attribute='1') | join }}{{ [[1,2],[3,4]] | map('first') | list }}{{ [[1,2],[3,4]] | map('last') | list }})J",
     R"J(1ab[1, 3][2, 4])J", nullptr},
    {R"J({{ [1, 'a'] | sort }})J",
     nullptr, nullptr},
    {R"J({{ [1, 2] | sum(start=10) }}{{ [{'v': 1.5}, {'v': 2}] | sum(attribute='v') }}{{ [[1], [2]] | sum(start=[]) }})J",
     R"J(133.5[1, 2])J", nullptr},
    {R"J({{ [1,2,3] | max(attribute='x') }})J",
     nullptr, nullptr},
    {R"J({{ ['aB', 'Ab', 'ab'] | max }}{{ ['aB', 'Ab'] | min(case_sensitive=true) }}{{ [] | max }}|)J",
     R"J(aBAb|)J", nullptr},
    {R"J({{ 'The quick brown fox' | wordwrap(10) }})J",
     R"J(The quick
brown fox)J", nullptr},
    {R"J({{ 3.0 | int }}{{ '3.7' | int }}{{ ' 12 ' | int }}{{ '1_000' | int }}{{ 'abc' | int(7) }}{{ '0b101' | int(0, 0) }}{{ 'ff' | int(base=16) }}{{ none | int }})J",
     R"J(33121000752550)J", nullptr},
    {R"J({{ '1e3' | float }}{{ 'inf' | float }}{{ 'x' | float(1.5) }}{{ 3 | float }}{{ true | float }})J",
     R"J(1000.0inf1.53.01.0)J", nullptr},
    {R"J({{ 3.14159 | round(2) }}{{ 3.5 | round }}{{ 4.5 | round }}{{ -2.5 | round }}{{ 1234.5 | round(-2) }}{{ 2.7 | round(method='floor') }}{{ 5 | round(1) }})J",
     R"J(3.144.04.0-2.01200.02.05)J", nullptr},
    {R"J({{ 1e22 }} {{ 1.0e-7 }} {{ 123456789.123 }} {{ 0.5 }} {{ 100.0 }} {{ 1/3 }} {{ 2.0**60 }} {{ 1e16 }} {{ 9999999999999998.0 }})J",
     R"J(1e+22 1e-07 123456789.123 0.5 100.0 0.3333333333333333 1.152921504606847e+18 1e+16 9999999999999998.0)J", nullptr},
    {R"J({{ x.y.z }})J",
     nullptr, nullptr},
    {R"J({{ none.y.z }})J",
     nullptr, nullptr},
    {R"J({{ msgs[0].content.foo }}|{{ msgs[0].content.foo is defined }})J",
     R"J(|False)J", nullptr},
    {R"J({{ msgs | selectattr('role', 'eq', 'user') | list | length }}{{ msgs | rejectattr('role') | list }}{{ msgs | map(attribute='missing', default='D') | list }})J",
     R"J(1[]['D'])J", nullptr},
    {R"J({{ msgs | selectattr('role', 'equalto', 'user') | length }})J",
     nullptr, nullptr},
    {R"J({% if msgs | selectattr('role', 'equalto', 'nobody') %}truthy-generator{% endif %})J",
     R"J(truthy-generator)J", nullptr},
    {R"J({% set g = [1,2,3] | select('odd') %}{% for x in g %}{{ x }}{% endfor %}|{% for x in g %}{{ x }}{% endfor %}|{{ g | list }})J",
     R"J(13||[])J", nullptr},
    {R"J({% set g = [1,2,3] | map('string') %}{{ g | first }}{{ g | list }})J",
     R"J(1['2', '3'])J", nullptr},
    {R"J({{ [1,2,3] | select('odd') | last }})J",
     nullptr, nullptr},
    {R"J({{ {'a': 1}.items() | list }}{{ {'a': 1}.keys() | list }}{{ {'a': 1}.values() | first }}{{ {'a': 1}.items() | length }}{{ 'a' in {'a': 1}.keys() }})J",
     R"J([('a', 1)]['a']11True)J", nullptr},
    {R"J({{ {'a': 1}.items()[0] }}|{{ {'a': 1}.keys() | tojson }})J",
     nullptr, nullptr},
    {R"J({{ dict(a=1) == {'a': 1} }}{{ {'a': 1, 'b': 2} == {'b': 2, 'a': 1} }}{{ [1, 2] == [1, 2] }}{{ [1] == [1.0] }}{{ 'a' == 'a'|safe }})J",
     R"J(TrueTrueTrueTrueTrue)J", nullptr},
    {R"J({% set j = joiner(', ') %}{% for x in [1,2,3] %}{{ j() }}{{ x }}{% endfor %})J",
     R"J(1, 2, 3)J", nullptr},
    {R"J({% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }})J",
     R"J(aba)J", nullptr},
    {R"J({{ namespace(a=1).a }}{% set ns = namespace({'x': 1}, y=2) %}{{ ns.x }}{{ ns.y }}{{ ns.z is defined }}{{ ns['x'] }})J",
     R"J(112False1)J", nullptr},
    {R"J({% set x = 5 %}{% set ns = namespace() %}{% set ns.v = x %}{% macro f() %}{{ ns.v }}{{ x }}{% endmacro %}{% set x = 6 %}{{ f() }})J",
     R"J(56)J", nullptr},
    {R"J({% macro outer() %}{% macro inner() %}in{% endmacro %}{{ inner() }}{{ caller() if caller is defined }}{% endmacro %}{{ outer() }}{% call outer() %}C{% endcall %})J",
     R"J(ininC)J", nullptr},
    {R"J({% macro f(a, b, c=3) %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ f(1, c=5) }}{{ f(b=2, a=1) }}{{ f(*[1, 2]) }}{{ f(**{'a': 7, 'b': 8}) }})J",
     R"J(15123123783)J", nullptr},
    {R"J({% macro rec(n) %}{% if n > 0 %}{{ n }}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(5) }})J",
     R"J(54321)J", nullptr},
    {R"J({% with x = 1 %}{% with y = x + 1 %}{{ x }}{{ y }}{% endwith %}{% endwith %})J",
     R"J(12)J", nullptr},
    {R"J({% filter trim | upper %}   abc   {% endfilter %})J",
     R"J(ABC)J", nullptr},
    {R"J({% set a = [1] %}{% set b = a %}{{ a is sameas b }}{{ [1] is sameas [1] }}{{ none is sameas none }}{{ 'x' is sameas 'x' }})J",
     R"J(TrueFalseTrueTrue)J", nullptr},
    {R"J({{ x is callable }}{{ range is callable }}{{ 'a' is callable }}{{ loop is undefined }}{{ 'upper' is filter }}{{ 'odd' is test }})J",
     R"J(TrueTrueFalseTrueTrueTrue)J", nullptr},
    {R"J({{ 1 is number }}{{ 1.0 is number }}{{ '1' is number }}{{ [1] is sequence }}{{ {} is sequence }}{{ 'a' is sequence }}{{ 1 is sequence }})J",
     R"J(TrueTrueFalseTrueTrueTrueFalse)J", nullptr},
    {R"J({{ 'a' in none }})J",
     nullptr, nullptr},
    {R"J({{ none in ['a'] }}{{ none in {'a': 1} }}{{ 1 in (1, 2) }})J",
     R"J(FalseFalseTrue)J", nullptr},
    {R"J({{ [1] in [[1]] }}{{ {'a':1} in [{'a': 1}] }})J",
     R"J(TrueTrue)J", nullptr},
    {R"J({{ {[1]: 2} }})J",
     nullptr, nullptr},
    {R"J({{ {(1,2): 'tuple-key'}[(1,2)] }})J",
     R"J(tuple-key)J", nullptr},
    {R"J({{ "\x41\x" }})J",
     nullptr, nullptr},
    {R"J({{ 'a' 'b' "c" }})J",
     R"J(abc)J", nullptr},
    {R"J({{ 1_000 + 0x10 + 0o7 + 0b11 }} {{ 1_0.5 }} {{ 1e1_0 }})J",
     R"J(1026 10.5 10000000000.0)J", nullptr},
    {R"J({{ .5 }})J",
     nullptr, nullptr},
    {R"J({{ 1. }})J",
     nullptr, nullptr},
    {R"J({{ foo( }})J",
     nullptr, nullptr},
    {R"J({% for %})J",
     nullptr, nullptr},
    {R"J({% if x %})J",
     nullptr, nullptr},
    {R"J({% endif %})J",
     nullptr, nullptr},
    {R"J({% set 1 = 2 %})J",
     nullptr, nullptr},
    {R"J({{ x | nosuchfilter }})J",
     nullptr, nullptr},
    {R"J({% if false %}{{ x | nosuchfilter }}{% endif %}ok)J",
     R"J(ok)J", nullptr},
    {R"J({% if true %}{{ x | nosuchfilter }}{% endif %})J",
     nullptr, nullptr},
    {R"J({{ x is nosuchtest }})J",
     nullptr, nullptr},
    {R"J({{ a.b. }})J",
     nullptr, nullptr},
    {R"J({{ ] }})J",
     nullptr, nullptr},
    {R"J({{ 'unterminated }})J",
     nullptr, nullptr},
    {R"J({# unterminated comment)J",
     nullptr, nullptr},
    {R"J({% raw %} no end)J",
     nullptr, nullptr},
    {R"J({% macro m(a=1, b) %}{% endmacro %})J",
     nullptr, nullptr},
    {R"J({{ a ! b }})J",
     nullptr, nullptr},
    {R"J({% do x %})J",
     nullptr, nullptr},
    {R"J({% for x in [1] %}{% endif %}{% endfor %})J",
     nullptr, nullptr},
    {R"J({% break %})J",
     nullptr, nullptr},
    {R"J({{ raise_exception('custom message ' ~ 42) }})J",
     nullptr, R"J(custom message 42)J"},
    {R"J({% if true %}{{ raise_exception("in if") }}{% endif %})J",
     nullptr, R"J(in if)J"},
    {R"J({{ [1,2,3] | batch(2, 'x') | list }}{{ [1,2,3,4] | slice(3, 0) | list }})J",
     R"J([[1, 2], [3, 'x']][[1, 2], [3, 0], [4, 0]])J", nullptr},
    {R"J({{ "Ünïcödé" | upper }}{{ "ÀÉÎ" | lower }}{{ "ǅ" | lower }}{{ 'ﬁ' | upper }})J",
     R"J(ÜNÏCÖDÉàéîǆFI)J", nullptr},
    {R"J({{ '  x\u3000' | trim }}|{{ '\u00a0y\u00a0' .strip() }}|{{ 'a\u2003b'.split() }})J",
     R"J(x|y|['a', 'b'])J", nullptr},
    {R"J({{ 'é' | length }}{{ '😀👍' | length }}{{ '😀👍'[1] }}{{ '😀👍' | reverse }}{{ '😀👍' | list }})J",
     R"J(12👍👍😀['😀', '👍'])J", nullptr},
    {R"J({{ ['é', "'", '"', '\\', '\t\n\r', '\x00\x1b', '\u2028', '😀'] }})J",
     R"J(['é', "'", '"', '\\', '\t\n\r', '\x00\x1b', '\u2028', '😀'])J", nullptr},
    {R"J({{ {'key': 'é😀\u2028\u0000"\\/'} | tojson }}{{ {'key': 'é😀'} | tojson(ensure_ascii=true) }})J",
     R"J({"key": "é😀 \u0000\"\\/"}{"key": "\u00e9\ud83d\ude00"})J", nullptr},
    {R"J({{ 1.5 | tojson }}{{ 1e20 | tojson }}{{ (1e300*1e300) | tojson }}{{ -1 | tojson }}{{ none | tojson }}{{ true | tojson }}{{ 'a' | tojson(indent=2) }})J",
     R"J(1.51e+20Infinity-1nulltrue"a")J", nullptr},
    {R"J({{ {'a': [1, {'b': none}], 'c': {}} | tojson(indent=2) }})J",
     R"J({
  "a": [
    1,
    {
      "b": null
    }
  ],
  "c": {}
})J", nullptr},
    {R"J({{ {'a': [1, 2]} | tojson(indent=2, separators=(', ', ' = ')) }})J",
     R"J({
  "a" = [
    1, 
    2
  ]
})J", nullptr},
    {R"J({{ [{'x': 1}] | tojson(indent='\t') }})J",
     R"J([
	{
		"x": 1
	}
])J", nullptr},
    {R"J({% set ns = namespace(a=1) %}{{ ns | tojson }})J",
     nullptr, nullptr},
    {R"J({{ msgs | tojson }})J",
     R"J([{"role": "user", "content": "hi"}])J", nullptr},
    {R"J({{ msgs[0] | items | list }}{{ msgs[0] | dictsort }}{{ msgs[0] | length }})J",
     R"J([('role', 'user'), ('content', 'hi')][('content', 'hi'), ('role', 'user')]2)J", nullptr},
    {R"J({{ undefinedvar | items | list }}{{ undefinedvar | list }}{{ undefinedvar | join }}{{ undefinedvar | first is undefined }})J",
     R"J([][]True)J", nullptr},
    {R"J({{ undefinedvar | int }})J",
     nullptr, nullptr},
    {R"J({{ undefinedvar < 1 }})J",
     nullptr, nullptr},
    {R"J({{ undefinedvar == undefinedvar }}{{ undefinedvar != none }}{{ undefinedvar is none }})J",
     R"J(TrueTrueFalse)J", nullptr},
    {R"J({{ -undefinedvar }})J",
     nullptr, nullptr},
    {R"J({{ undefinedvar() }})J",
     nullptr, nullptr},
    {R"J({{ 'abc'() }})J",
     nullptr, nullptr},
    {R"J({{ loop.index }})J",
     nullptr, nullptr},
    {R"J({% for i in [1] %}{% for j in [2] %}{{ loop.index }}{{ loop.depth }}{% endfor %}{% endfor %})J",
     R"J(11)J", nullptr},
    {R"J({% for i in range(3) %}{{ loop.changed(i // 2) }}{% endfor %})J",
     R"J(TrueFalseTrue)J", nullptr},
    {R"J({% set a, b = 'xy' %}{{ a }}{{ b }}{% set (c, d), e = [1, 2], 3 %}{{ c }}{{ d }}{{ e }})J",
     R"J(xy123)J", nullptr},
    {R"J({% set a, b = [1] %})J",
     nullptr, nullptr},
    {R"J({{ "a b c" | wordcount }}{{ "don't stop" | wordcount }}{{ "" | wordcount }})J",
     R"J(330)J", nullptr},
    {R"J({{ 'ab' | replace('', '-') }}{{ 'aaa' | replace('a', 'b', 2) }}{{ 'x' | replace('x', 1) }})J",
     R"J(-a-b-bba1)J", nullptr},
    {R"J({{ 'ab' < 'b' }}{{ (1, 2) < (1, 3) }}{{ [2] > [1, 5] }})J",
     R"J(TrueTrueTrue)J", nullptr},
    {R"J({{ [1, 2] < (1, 3) }})J",
     nullptr, nullptr},
    {R"J({{ 2 > none }})J",
     nullptr, nullptr},
    {R"J({{ 5 % 3 }}{{ -5 % 3 }}{{ 5 % -3 }}{{ 5.5 % 2 }}{{ -5.5 % 2 }}{{ 5 // -2 }}{{ -5.5 // 2 }})J",
     R"J(21-11.50.5-3-3.0)J", nullptr},
    {R"J({{ 1 / 3 * 3 }}{{ 0.1 * 3 }}{{ 10 / 5 }}{{ 2 ** -2 }}{{ 9 ** 0.5 }})J",
     R"J(1.00.300000000000000042.00.253.0)J", nullptr},
    {R"J({{ [] | first }}|{{ [] | last }}|{{ '' | first }}|)J",
     R"J(|||)J", nullptr},
    {R"J({{ {'a': 1} | last }}{{ 'abc' | last }}{{ (1, 2) | last }})J",
     R"J(ac2)J", nullptr},
    {R"J({{ none | last }})J",
     nullptr, nullptr},
    {R"J({{ none | first }})J",
     nullptr, nullptr},
    {R"J({{ none | list }})J",
     nullptr, nullptr},
    {R"J({{ none | join }})J",
     nullptr, nullptr},
    {R"J({{ none | length }})J",
     nullptr, nullptr},
    {R"J({{ none | selectattr('x') | list }}{{ none | map('x') | list }}{{ [] | map('upper') | list }})J",
     R"J([][][])J", nullptr},
    {R"J({{ 'x' | map('upper') | list }})J",
     R"J(['X'])J", nullptr},
    {R"J({{ 'abc' | select | list }}{{ {'a': 1, 'b': 0} | select | list }})J",
     R"J(['a', 'b', 'c']['a', 'b'])J", nullptr},
    {R"J({{ 3 | string + 'x' }}{{ none | string }}{{ [1,'a'] | string }}{{ 1.0 | string }})J",
     R"J(3xNone[1, 'a']1.0)J", nullptr},
    {R"J({{ 'a,b' | split(',') }})J",
     nullptr, nullptr},
    {R"J({{ messages }})J",
     R"J()J", nullptr},
    {R"J({% for x in [1,2] if loop is undefined %}{{ x }}{% endfor %})J",
     R"J(12)J", nullptr},
    {R"J({% for y in [1] %}{% for x in [1,2] if loop is undefined %}{{ x }}{% endfor %}{% endfor %})J",
     R"J()J", nullptr},
    {R"J({% for y in [7] %}{% for x in [1,2] if loop.index == 1 %}{{ x }}{{ loop.index }}{% endfor %}{% endfor %})J",
     R"J(1122)J", nullptr},
    {R"J({% for x in [1,2] %}{% set y %}{% break %}{% endset %}{{ x }}{% endfor %})J",
     R"J()J", nullptr},
    {R"J({% for x in [1,2] %}{% filter upper %}a{% break %}{% endfilter %}{{ x }}{% endfor %})J",
     R"J()J", nullptr},
    {R"J({% for i in [1] %}{% set y %}{% set ns2 = 1 %}{% endset %}{% endfor %}{% for i in range(2) %}{% set y %}{% set q = loop.nextitem %}{% endset %}{{ q }}{% endfor %})J",
     R"J()J", nullptr},
    {R"J({% macro m(a) %}<{{ a }}>{% endmacro %}{% for i in [1] %}{% macro m(a, b) %}[{{ a }}{{ b }}]{% endmacro %}{{ m(1, 2) }}{% endfor %}{{ m(3) }})J",
     R"J([12]<3>)J", nullptr},
    {R"J({% macro m(a) %}<{{ a }}>{% endmacro %}{% for i in [1] %}{{ m(1, 2) }}{% macro m(a, b) %}[{{ a }}{{ b }}]{% endmacro %}{% endfor %})J",
     nullptr, nullptr},
    {R"J({% macro m(a) %}<{{ a }}>{% endmacro %}{% if true %}{{ m(1) }}{% macro m(a, b) %}[{{ a }}{{ b }}]{% endmacro %}{% endif %}{{ m(1, 2) }})J",
     R"J(<1>[12])J", nullptr},
    {R"J({% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = 2 %}{{ x }}{% endfor %})J",
     R"J(1212)J", nullptr},
    {R"J({% for i in [1, 2] %}{% if i == 2 %}{{ x }}{% endif %}{% set x = i %}{% endfor %})J",
     R"J()J", nullptr},
    {R"J({% set x = 1 %}{% macro f() %}{{ x }}{% set x = 3 %}{{ x }}{% endmacro %}{{ f() }}{{ x }})J",
     R"J(131)J", nullptr},
    {R"J({% set x = 1 %}{% with %}{{ x }}{% set x = 2 %}{{ x }}{% endwith %}{{ x }})J",
     R"J(121)J", nullptr},
    {R"J({% set x = 'outer' %}{% for i in [1] %}{% set x = 'inner' %}{% macro show() %}{{ x }}{% endmacro %}{{ show() }}{% endfor %})J",
     R"J(inner)J", nullptr},
};
// clang-format on

const char* const kContext = R"({"msgs": [{"role": "user", "content": "hi"}], "n": null, "s": "  Hello World  "})";

TEST(ChatJinja, MatchesJinja2OnEverySnippet) {
    const auto context = nlohmann::ordered_json::parse(kContext);
    int matched = 0;
    for (const JinjaCase& c : kCases) {
        SCOPED_TRACE(c.source);
        try {
            const std::string got = chat::ChatTemplate::parse(c.source).render(context);
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
            if (c.raised) {
                EXPECT_EQ(e.kind(), chat::TemplateError::Kind::Raised);
                EXPECT_EQ(std::string(e.what()), c.raised);
            }
            ++matched;
        }
    }
    EXPECT_EQ(matched, static_cast<int>(kCases.size()));
}

}  // namespace
}  // namespace hearth
