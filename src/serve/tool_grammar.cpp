#include "serve/tool_grammar.h"

#include <algorithm>

#include <fmt/format.h>

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

// Qwen 3.5 / Qwen3-Coder: <function=f> with one <parameter=p> block per argument. Values are text
// for string parameters (no "</" inside) and JSON otherwise, as the parser reads them back.
std::string xml_calls(const std::vector<Tool>& tools, std::vector<grammar::NamedSchema>& schemas) {
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
                const std::string block = fmt::format("{} {} {}", literal_gbnf("<parameter=" + key + ">\n"), value,
                                                      literal_gbnf("\n</parameter>\n"));
                const bool needed = std::find(required.begin(), required.end(), key) != required.end();
                body += needed ? " " + block : " ( " + block + " )?";
                ++k;
            }
        }
        alternatives += fmt::format("{}{}{} {}", i ? " | " : "", literal_gbnf("<function=" + tools[i].name + ">\n"),
                                    body, literal_gbnf("</function>"));
    }
    return rules + "call ::= " + alternatives;
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
            rules = xml_calls(chosen, schemas);
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
        case ToolCallFamily::Mistral:
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
