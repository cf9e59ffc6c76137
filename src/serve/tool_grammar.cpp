#include "serve/tool_grammar.h"

#include <algorithm>

#include <fmt/format.h>

#include "chat/tool_call_reader.h"
#include "common/error.h"
#include "grammar/json_schema.h"

namespace hearth::serve {

using json = nlohmann::ordered_json;
using grammar::literal_gbnf;

namespace {

struct Tool {
    std::string name;
    json parameters;  // a JSON Schema; {"type": "object"} when the tool gives none
};

std::vector<Tool> chosen_tools(const json& tools, const std::string& name) {
    std::vector<Tool> out;
    for (const json& t : tools) {
        const json& f = t.at("function");
        const std::string n = f.at("name").get<std::string>();
        if (!name.empty() && n != name) continue;
        auto p = f.find("parameters");
        out.push_back({n, p == f.end() || p->is_null() ? json{{"type", "object"}} : *p});
    }
    if (out.empty()) fail("tool_choice: no tool to call");
    return out;
}

// `one ( separator one )*` when parallel, else `one`.
std::string repeated(const std::string& one, const std::string& separator, bool parallel) {
    return parallel ? fmt::format("{} ( {} {} )*", one, separator, one) : one;
}

// JSON-style calls: {"name": "f", "<args_key>": {...}}, the keys written as the family's
// templates show them (the parsers read any spacing, but Llama 3's trigger is `{"name"`).
std::string json_calls(const std::vector<Tool>& tools, const std::string& args_key, std::string& call_rule,
                       std::vector<grammar::NamedSchema>& schemas) {
    std::string alternatives;
    for (size_t i = 0; i < tools.size(); ++i) {
        const std::string rule = fmt::format("args-{}", i);
        schemas.push_back({rule, tools[i].parameters});
        const std::string head = fmt::format(R"({{"name": {}, "{}": )", json(tools[i].name).dump(), args_key);
        alternatives += fmt::format("{}{} {} \"}}\"", i ? " | " : "", literal_gbnf(head), rule);
    }
    call_rule = "call";
    return "call ::= " + alternatives;
}

// How an XML-style family frames a call and each argument.
struct XmlStyle {
    std::string (*head)(const std::string& name);
    std::string (*open)(const std::string& key);
    std::string close, tail;
};
// Qwen 3.5 / Qwen3-Coder: <function=f> with one <parameter=p> block per argument.
const XmlStyle kQwenXml = {[](const std::string& n) { return "<function=" + n + ">\n"; },
                           [](const std::string& k) { return "<parameter=" + k + ">\n"; }, "\n</parameter>\n",
                           "</function>"};
// GLM: <tool_call>f<arg_key>k</arg_key><arg_value>v</arg_value>…</tool_call> (the wrapper is the root's).
const XmlStyle kGlm = {[](const std::string& n) { return n; },
                       [](const std::string& k) { return "<arg_key>" + k + "</arg_key><arg_value>"; }, "</arg_value>",
                       ""};

// XML-style calls: values are text for string parameters (no "</" inside) and JSON otherwise,
// as the parsers read them back.
std::string xml_calls(const std::vector<Tool>& tools, const XmlStyle& style, std::vector<grammar::NamedSchema>& schemas) {
    std::string rules = "xml-text ::= ( [^<] | \"<\" [^/] )*\n";
    std::string alternatives;
    for (size_t i = 0; i < tools.size(); ++i) {
        const json& params = tools[i].parameters;
        std::vector<std::string> required;
        if (auto r = params.find("required"); r != params.end() && r->is_array())
            for (const json& k : *r)
                if (k.is_string()) required.push_back(k.get<std::string>());
        std::string body;
        size_t k = 0;
        if (auto props = params.find("properties"); props != params.end() && props->is_object()) {
            for (const auto& [key, schema] : props->items()) {
                const bool is_string = schema.is_object() && schema.value("type", json()) == "string";
                std::string value;
                if (is_string && schema.contains("enum") && schema["enum"].is_array() && !schema["enum"].empty()) {
                    value = "(";  // the text of one of the strings, unquoted
                    for (const json& v : schema["enum"])
                        if (v.is_string()) value += (value.size() > 1 ? " | " : " ") + literal_gbnf(v.get<std::string>());
                    value = value.size() > 1 ? value + " )" : "xml-text";
                } else if (is_string) {
                    value = "xml-text";
                } else {
                    value = fmt::format("arg-{}-{}", i, k);
                    schemas.push_back({value, schema});
                }
                const std::string block = fmt::format("{} {} {}", literal_gbnf(style.open(key)), value,
                                                      literal_gbnf(style.close));
                const bool needed = std::find(required.begin(), required.end(), key) != required.end();
                body += needed ? " " + block : " ( " + block + " )?";
                ++k;
            }
        }
        alternatives += fmt::format("{}{}{}{}", i ? " | " : "", literal_gbnf(style.head(tools[i].name)), body,
                                    style.tail.empty() ? std::string() : fmt::format(" {}", literal_gbnf(style.tail)));
    }
    return rules + "call ::= " + alternatives;
}

// Calls framed by markers around a name and JSON arguments (Kimi K2): one alternative
// per tool, `before(name) args after`, the arguments following the tool's schema.
std::string framed_json_calls(const std::vector<Tool>& tools, std::string (*before)(const std::string& name),
                              const std::string& after, std::vector<grammar::NamedSchema>& schemas,
                              const std::string& call_rule = "call") {
    std::string alternatives;
    for (size_t i = 0; i < tools.size(); ++i) {
        const std::string rule = fmt::format("{}-args-{}", call_rule, i);
        schemas.push_back({rule, tools[i].parameters});
        alternatives += fmt::format("{}{} {}{}", i ? " | " : "", before(tools[i].name), rule,
                                    after.empty() ? std::string() : fmt::format(" {}", literal_gbnf(after)));
    }
    return call_rule + " ::= " + alternatives;
}

// DeepSeek V3.1 writes <｜tool▁call▁begin｜>f<｜tool▁sep｜>{...}<｜tool▁call▁end｜>; V3 and R1 write
// <｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{...}\n```<｜tool▁call▁end｜>. Both are
// allowed: the model takes the form it was trained on, and the parser reads either.
std::string deepseek_calls(const std::vector<Tool>& tools, std::vector<grammar::NamedSchema>& schemas) {
    using namespace chat::detail;
    const std::string sep(kDeepSeekSep);
    std::string alternatives;
    for (size_t i = 0; i < tools.size(); ++i) {
        const std::string rule = fmt::format("args-{}", i), name = tools[i].name;
        schemas.push_back({rule, tools[i].parameters});
        alternatives += fmt::format("{}{} {} | {} {} {}", i ? " | " : "", literal_gbnf(name + sep), rule,
                                    literal_gbnf("function" + sep + name + "\n```json\n"), rule, literal_gbnf("\n```"));
    }
    return fmt::format("call ::= {} ( {} ) {}", literal_gbnf(kDeepSeekCallBegin), alternatives,
                       literal_gbnf(kDeepSeekCallEnd));
}

}  // namespace

std::string forced_tool_call_grammar(chat::ToolCallFamily family, const json& tools, const std::string& name,
                                     bool parallel) {
    using chat::ToolCallFamily;
    if (!tools.is_array() || tools.empty()) return "";
    const std::vector<Tool> chosen = chosen_tools(tools, name);
    if (!name.empty()) parallel = false;  // a named function: one call of it
    std::vector<grammar::NamedSchema> schemas;
    std::string call;
    std::string rules;
    std::string root;
    switch (family) {
        case ToolCallFamily::Hermes:
            rules = json_calls(chosen, "arguments", call, schemas);
            root = repeated(literal_gbnf("<tool_call>\n") + " call " + literal_gbnf("\n</tool_call>"), "\"\\n\"", parallel);
            break;
        case ToolCallFamily::QwenXml:
            rules = xml_calls(chosen, kQwenXml, schemas);
            root = repeated(literal_gbnf("<tool_call>\n") + " call " + literal_gbnf("\n</tool_call>"), "\"\\n\"", parallel);
            break;
        case ToolCallFamily::Llama3:
            rules = json_calls(chosen, "parameters", call, schemas);
            root = repeated("call", "\"; \"", parallel);
            break;
        case ToolCallFamily::Phi4Mini:
            rules = json_calls(chosen, "arguments", call, schemas);
            root = "\"functools[\" " + repeated("call", "\", \"", parallel) + " \"]\"";
            break;
        case ToolCallFamily::Glm:
            rules = xml_calls(chosen, kGlm, schemas);
            root = repeated(literal_gbnf("<tool_call>") + " call " + literal_gbnf("</tool_call>"), "\"\\n\"", parallel);
            break;
        case ToolCallFamily::DeepSeek: {
            using namespace chat::detail;
            rules = deepseek_calls(chosen, schemas);
            root = literal_gbnf(kDeepSeekCallsBegin) + " " + repeated("call", "\"\\n\"?", parallel) + " " +
                   literal_gbnf(kDeepSeekCallsEnd);
            break;
        }
        case ToolCallFamily::Kimi: {
            using namespace chat::detail;
            rules = framed_json_calls(
                chosen,
                [](const std::string& name) {
                    return literal_gbnf(std::string(kKimiCallBegin) + "functions." + name + ":") + " [0-9]+ " +
                           literal_gbnf(kKimiArgumentBegin);
                },
                std::string(kKimiCallEnd), schemas);
            root = literal_gbnf(kKimiSectionBegin) + (parallel ? " call+ " : " call ") + literal_gbnf(kKimiSectionEnd);
            break;
        }
        case ToolCallFamily::Mistral: {
            // v0.3 / Nemo: [TOOL_CALLS][{"name": …, "arguments": …}, …]; Small 3.2 / Magistral:
            // [TOOL_CALLS]f[ARGS]{…} per call. Both are allowed: the model takes the form it was
            // trained on, and the parser reads either. [TOOL_CALLS] is reply markup, so the model's
            // control token for it can write it.
            rules = json_calls(chosen, "arguments", call, schemas) + "\n" +
                    framed_json_calls(chosen, [](const std::string& name) { return literal_gbnf(name + "[ARGS]"); }, "",
                                      schemas, "named-call");
            root = literal_gbnf("[TOOL_CALLS]") + " ( \"[\" " + repeated("call", "\", \"", parallel) + " \"]\" | " +
                   repeated("named-call", literal_gbnf("[TOOL_CALLS]"), parallel) + " )";
            break;
        }
        case ToolCallFamily::Gemma4:  // arguments in Gemma's own value syntax, which the schema compiler does not write
        case ToolCallFamily::Harmony:
        case ToolCallFamily::None: return "";
    }
    try {
        return grammar::schemas_to_gbnf(schemas, root + "\n" + rules);
    } catch (const Error& e) {
        fail("a tool's parameters: {}", e.what());
    }
}

}  // namespace hearth::serve
