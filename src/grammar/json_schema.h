#pragma once
// JSON Schema → GBNF. The grammar generates exactly the JSON texts the schema accepts, for
// the keywords listed in docs/grammar.md; any other keyword is an error that names it (never
// silently ignored), except the descriptive ones (title, description, examples, ...).
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::grammar {

// Throws hearth::Error "json schema: at /properties/x: ..." for an unsupported keyword, a bad
// value, an unresolvable $ref, or a schema whose grammar would be too large.
// root_body: when given, the GBNF of a root rule that embeds the schema's text as the rule
// `schema` (a tool call's wrapper around its JSON, say: "\"<tool_call>\" schema \"</tool_call>\"").
std::string schema_to_gbnf(const nlohmann::ordered_json& schema, std::string_view root_body = {});

// Several schemas in one grammar: each schema's text is the rule it names (letters, digits and
// '-', not a name of the JSON building blocks), and root_body is the root rule that uses them
// (more rules may follow it, one per line). Each schema's $refs point into itself.
struct NamedSchema {
    std::string rule;
    nlohmann::ordered_json schema;
};
std::string schemas_to_gbnf(const std::vector<NamedSchema>& schemas, std::string_view root_body);

// A GBNF string literal matching exactly `text` (quotes, escapes).
std::string literal_gbnf(std::string_view text);

// Any JSON object (what `--json` and Ollama's format: "json" ask for), with bounded
// whitespace and number lengths so that a small model cannot run on forever inside one.
std::string json_gbnf();

}  // namespace hearth::grammar
