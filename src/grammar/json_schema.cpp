// JSON Schema → GBNF. Each schema becomes a GBNF expression; objects, $refs and property
// chains become named rules, so recursive schemas ($ref back up) become recursive rules.
#include "grammar/json_schema.h"

#include <map>
#include <set>
#include <vector>

#include "common/error.h"
#include "grammar/grammar.h"

namespace hearth::grammar {
namespace {

using Json = nlohmann::ordered_json;

// The JSON building blocks every compiled schema may use. Whitespace and number lengths are
// bounded so that a model cannot run on forever inside one token class: between tokens a space,
// or one line break and an indentation (what compact and pretty-printed JSON need), no more.
constexpr const char* kJsonRules = R"(ws ::= ( " " | "\n" [ \t]{0,20} )?
value ::= object | array | string | number | boolean | null
object ::= "{" ws ( member ( "," ws member )* )? "}"
member ::= string ws ":" ws value ws
array ::= "[" ws ( value ws ( "," ws value ws )* )? "]"
string ::= "\"" char* "\""
char ::= [^"\\\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )
number ::= integer ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,2} )?
integer ::= "-"? ( "0" | [1-9] [0-9]{0,15} )
boolean ::= "true" | "false"
null ::= "null"
date ::= [0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | [12] [0-9] | "3" [01] )
time ::= ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{1,9} )? ( "Z" | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )
hex ::= [0-9a-fA-F]
uuid ::= hex{8} "-" hex{4} "-" hex{4} "-" hex{4} "-" hex{12}
)";
const std::set<std::string> kBaseRuleNames = {"root", "schema", "ws", "value", "object", "member", "array", "string", "char",
                                              "number", "integer", "boolean", "null", "date", "time", "hex", "uuid"};

// Keywords that describe a schema without constraining it.
const std::set<std::string> kIgnoredKeywords = {"title", "description", "examples", "default", "$schema", "$id",
                                                "$comment", "deprecated", "readOnly", "writeOnly", "$defs",
                                                "definitions"};
const std::set<std::string> kSupportedKeywords = {
    "type", "properties", "required", "additionalProperties", "items", "prefixItems", "minItems", "maxItems",
    "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "minLength", "maxLength", "format"};

constexpr int kMaxDepth = 64;                 // nested inline schemas
constexpr size_t kMaxGrammarBytes = 1 << 20;  // the whole GBNF text
constexpr uint64_t kMaxCount = 1000;          // minItems, maxItems, minLength, maxLength

std::string gbnf_literal(const std::string& text) {
    std::string out = "\"";
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"') out += "\\\"";
        else if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '\r') out += "\\r";
        else if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02X}", c);
        else out += ch;
    }
    return out + "\"";
}

std::string repetition(uint64_t min, uint64_t max, bool unbounded) {
    if (unbounded) return min == 0 ? "*" : min == 1 ? "+" : fmt::format("{{{},}}", min);
    return fmt::format("{{{},{}}}", min, max);
}

class Compiler {
public:
    // One schema as the whole grammar.
    std::string compile(const Json& schema) {
        root_ = &schema;
        const std::string body = visit(schema, "", "root", 0);  // defines the rules it uses
        return "root ::= " + body + "\n" + rules_text();
    }

    // Several schemas, each the rule the caller named, under the caller's root rule.
    std::string compile(const std::vector<NamedSchema>& schemas, std::string_view root_body) {
        for (const NamedSchema& s : schemas) {
            if (s.rule.empty() || s.rule.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != std::string::npos ||
                kBaseRuleNames.count(s.rule) + reserved_.count(s.rule) > (s.rule == "schema" ? 1u : 0u))
                fail("json schema: '{}' cannot name a schema's rule", s.rule);
            reserved_.insert(s.rule);
        }
        std::string out = "root ::= " + std::string(root_body) + "\n";
        for (const NamedSchema& s : schemas) {
            root_ = &s.schema;
            ref_rules_.clear();  // each schema's $refs point into itself
            const std::string body = visit(s.schema, "", s.rule, 0);
            out += s.rule + " ::= " + body + "\n";
        }
        return out + rules_text();
    }

private:
    std::string rules_text() const {
        std::string out;
        for (const auto& [name, rule] : rules_) out += name + " ::= " + rule + "\n";
        return out + kJsonRules;
    }

    template <typename... Args>
    [[noreturn]] static void error(const std::string& path, fmt::format_string<Args...> format, Args&&... args) {
        fail("json schema: at {}: {}", path.empty() ? "the root" : path, fmt::format(format, std::forward<Args>(args)...));
    }

    std::string add_rule(const std::string& hint, std::string body) {
        std::string name = unique_name(hint);
        define(name, std::move(body));
        return name;
    }

    void define(const std::string& name, std::string body) {
        bytes_ += name.size() + body.size() + 6;
        if (bytes_ > kMaxGrammarBytes)
            fail("json schema: the schema's grammar would be larger than {} bytes (huge enums or deeply nested "
                 "schemas); simplify it",
                 kMaxGrammarBytes);
        rules_[name] = std::move(body);
    }

    std::string unique_name(const std::string& hint) {
        std::string base;
        for (char c : hint) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            if (ok) base += c;
            else if (!base.empty() && base.back() != '-') base += '-';
        }
        while (!base.empty() && base.back() == '-') base.pop_back();
        if (base.empty()) base = "rule";
        if (base.size() > 40) base.resize(40);
        std::string name = base;
        for (int n = 1; kBaseRuleNames.count(name) || rules_.count(name) || reserved_.count(name); ++n)
            name = fmt::format("{}-{}", base, n);
        reserved_.insert(name);
        return name;
    }

    static std::string literal_of(const Json& value, const std::string& path) {
        try {
            return gbnf_literal(value.dump());
        } catch (const nlohmann::json::exception&) {
            error(path, "a value in the schema is not valid UTF-8");
        }
    }

    static uint64_t count_of(const Json& schema, const char* key, const std::string& path) {
        const Json& v = schema[key];
        if (!v.is_number_integer() || v.get<int64_t>() < 0)
            error(path, "'{}' must be a non-negative integer, got {}", key, v.dump());
        const auto n = v.get<uint64_t>();
        if (n > kMaxCount) error(path, "'{}' {} is over the supported {}", key, n, kMaxCount);
        return n;
    }

    // The schema a local $ref points to ("#", "#/$defs/name", any JSON pointer into the root).
    const Json& resolve(const Json& ref, const std::string& path) const {
        if (!ref.is_string()) error(path, "'$ref' must be a string");
        const std::string text = ref.get<std::string>();
        if (text.empty() || text[0] != '#')
            error(path, "'$ref' \"{}\" is not a local reference (only \"#/...\" within the schema is supported)", text);
        try {
            const Json::json_pointer pointer(text.substr(1));
            if (!root_->contains(pointer)) error(path, "'$ref' \"{}\" points to nothing in the schema", text);
            return root_->at(pointer);
        } catch (const nlohmann::json::exception&) {
            error(path, "'$ref' \"{}\" is not a valid JSON pointer", text);
        }
    }

    std::string visit_ref(const Json& ref, const std::string& path) {
        const std::string text = ref.is_string() ? ref.get<std::string>() : "";
        if (auto it = ref_rules_.find(text); it != ref_rules_.end()) return it->second;
        const Json& target = resolve(ref, path);
        const size_t slash = text.rfind('/');
        const std::string name = unique_name(slash == std::string::npos ? "root-ref" : "ref-" + text.substr(slash + 1));
        ref_rules_[text] = name;  // before the body: recursion refers to the name
        define(name, visit(target, text.substr(1), name, 0));
        return name;
    }

    void check_keywords(const Json& schema, const std::string& path) const {
        for (const auto& [key, value] : schema.items()) {
            if (kIgnoredKeywords.count(key) || kSupportedKeywords.count(key)) continue;
            if (key == "pattern")
                error(path, "keyword 'pattern' is not supported (regular expressions); use enum or format");
            error(path, "keyword '{}' is not supported (see docs/grammar.md for the supported keywords)", key);
        }
    }

    std::string visit(const Json& schema, const std::string& path, const std::string& hint, int depth) {
        if (depth > kMaxDepth) error(path, "schemas nested deeper than {}", kMaxDepth);
        if (schema.is_boolean()) {
            if (schema.get<bool>()) return "value";
            error(path, "the schema 'false' matches nothing");
        }
        if (!schema.is_object()) error(path, "a schema must be an object or a boolean, got {}", schema.dump());
        check_keywords(schema, path);

        if (schema.contains("$ref")) {
            for (const auto& [key, value] : schema.items())
                if (key != "$ref" && !kIgnoredKeywords.count(key))
                    error(path, "'$ref' next to '{}' is not supported (wrap them in allOf)", key);
            return visit_ref(schema["$ref"], path + "/$ref");
        }
        if (schema.contains("allOf")) return visit(merge_all_of(schema, path, depth), path, hint, depth + 1);
        if (schema.contains("const")) return literal_of(schema["const"], path + "/const");
        if (schema.contains("enum")) {
            const Json& values = schema["enum"];
            if (!values.is_array() || values.empty()) error(path, "'enum' must be a non-empty array");
            std::string out = "(";
            for (size_t i = 0; i < values.size(); ++i) {
                out += (i ? " | " : " ") + literal_of(values[i], path + "/enum");
                if (out.size() > kMaxGrammarBytes) error(path, "'enum' is too large for a grammar");
            }
            return out + " )";
        }
        for (const char* key : {"anyOf", "oneOf"}) {
            if (!schema.contains(key)) continue;
            const Json& options = schema[key];
            if (!options.is_array() || options.empty()) error(path, "'{}' must be a non-empty array of schemas", key);
            std::string out = "(";
            for (size_t i = 0; i < options.size(); ++i)
                out += (i ? " | " : " ") +
                       visit(options[i], fmt::format("{}/{}/{}", path, key, i), fmt::format("{}-{}", hint, i), depth + 1);
            return out + " )";
        }

        if (schema.contains("type")) {
            const Json& type = schema["type"];
            if (type.is_string()) return visit_type(type.get<std::string>(), schema, path, hint, depth);
            if (!type.is_array() || type.empty()) error(path, "'type' must be a string or a non-empty array of strings");
            std::string out = "(";
            for (size_t i = 0; i < type.size(); ++i) {
                if (!type[i].is_string()) error(path, "'type' must be a string or a non-empty array of strings");
                out += (i ? " | " : " ") + visit_type(type[i].get<std::string>(), schema, path, hint, depth);
            }
            return out + " )";
        }
        // No type: what the keywords imply, else any value.
        for (const char* key : {"properties", "additionalProperties", "required"})
            if (schema.contains(key)) return visit_type("object", schema, path, hint, depth);
        for (const char* key : {"items", "prefixItems", "minItems", "maxItems"})
            if (schema.contains(key)) return visit_type("array", schema, path, hint, depth);
        for (const char* key : {"minLength", "maxLength", "format"})
            if (schema.contains(key)) return visit_type("string", schema, path, hint, depth);
        return "value";
    }

    std::string visit_type(const std::string& type, const Json& schema, const std::string& path,
                           const std::string& hint, int depth) {
        if (type == "object") return visit_object(schema, path, hint, depth);
        if (type == "array") return visit_array(schema, path, hint, depth);
        if (type == "string") return visit_string(schema, path);
        if (type == "number" || type == "integer" || type == "boolean" || type == "null") return type;
        error(path, "unknown type \"{}\" (known: object, array, string, number, integer, boolean, null)", type);
    }

    // {"allOf": [A, B], ...rest} → one object schema with the properties and required lists of
    // all parts. Parts that are not objects, or that disagree on a keyword, are an error.
    Json merge_all_of(const Json& schema, const std::string& path, int depth) const {
        const Json& parts = schema["allOf"];
        if (!parts.is_array() || parts.empty()) error(path, "'allOf' must be a non-empty array of schemas");
        Json merged = schema;
        merged.erase("allOf");
        std::vector<Json> pending(parts.begin(), parts.end());
        for (size_t i = 0; i < pending.size(); ++i) {
            if (i > 64 || depth > kMaxDepth) error(path, "'allOf' nests too deep");
            Json part = pending[i];
            for (int hops = 0; part.is_object() && part.contains("$ref"); ++hops) {
                if (hops > 64) error(path, "'allOf' follows a $ref cycle");
                part = resolve(part["$ref"], path + "/allOf");
            }
            if (!part.is_object()) error(path, "'allOf' parts must be object schemas");
            if (part.contains("allOf")) {
                for (const Json& inner : part["allOf"]) pending.push_back(inner);
                part.erase("allOf");
            }
            const bool is_object = part.contains("properties") || part.value("type", Json()) == Json("object") ||
                                   part.contains("required") || part.contains("additionalProperties");
            if (!is_object) error(path, "'allOf' is supported only for object schemas (merged into one object)");
            for (const auto& [key, value] : part.items()) {
                if (kIgnoredKeywords.count(key)) continue;
                if (key == "properties") {
                    if (!value.is_object()) error(path, "'properties' must be an object");
                    for (const auto& [name, property] : value.items()) {
                        Json& slot = merged["properties"][name];
                        if (!slot.is_null() && slot != property)
                            error(path, "'allOf' parts define property \"{}\" differently", name);
                        slot = property;
                    }
                } else if (key == "required") {
                    if (!value.is_array()) error(path, "'required' must be an array of names");
                    for (const Json& name : value) merged["required"].push_back(name);
                } else if (key == "additionalProperties") {
                    if (value == Json(false) || !merged.contains(key)) merged[key] = value;
                } else if (key == "type") {
                    if (value != Json("object")) error(path, "'allOf' is supported only for object schemas");
                    merged["type"] = "object";
                } else if (merged.contains(key) && merged[key] != value) {
                    error(path, "'allOf' parts disagree on '{}'", key);
                } else {
                    merged[key] = value;
                }
            }
        }
        return merged;
    }

    std::string visit_object(const Json& schema, const std::string& path, const std::string& hint, int depth) {
        const Json empty = Json::object();
        const Json& properties = schema.contains("properties") ? schema["properties"] : empty;
        if (!properties.is_object()) error(path, "'properties' must be an object");
        std::set<std::string> required;
        if (schema.contains("required")) {
            if (!schema["required"].is_array()) error(path, "'required' must be an array of names");
            for (const Json& name : schema["required"]) {
                if (!name.is_string()) error(path, "'required' must be an array of names");
                if (!properties.contains(name.get<std::string>()))
                    error(path, "required property \"{}\" is not in 'properties'", name.get<std::string>());
                required.insert(name.get<std::string>());
            }
        }
        // Additional properties: as the schema says; when it says nothing, none beside the
        // declared properties (any when there is no 'properties' at all; `"properties": {}`, as
        // tools without arguments declare them, is the empty object) — a subset of what the
        // schema allows.
        std::string extra;
        if (schema.contains("additionalProperties")) {
            const Json& additional = schema["additionalProperties"];
            if (additional != Json(false))
                extra = visit(additional, path + "/additionalProperties", hint + "-additional", depth + 1);
        } else if (!schema.contains("properties")) {
            extra = "value";
        }

        std::vector<std::string> pairs;
        std::vector<bool> is_required;
        for (const auto& [name, property] : properties.items()) {
            const std::string value =
                visit(property, path + "/properties/" + name, hint + "-" + name, depth + 1);
            pairs.push_back(literal_of(Json(name), path) + " ws \":\" ws " + value + " ws");
            is_required.push_back(required.count(name) > 0);
        }
        // first_i: properties i.. when none was written yet; rest_i: after one was written
        // (each then needs a comma). Optional properties may be skipped, required ones not.
        const std::string extra_pair = extra.empty() ? "" : "string ws \":\" ws " + extra + " ws";
        std::string rest = extra.empty() ? "\"\"" : add_rule(hint + "-rest", "( \",\" ws " + extra_pair + " )*");
        std::string first = extra.empty() ? "\"\"" : add_rule(hint + "-first", "( " + extra_pair + " " + rest + " )?");
        for (size_t i = pairs.size(); i-- > 0;) {
            const std::string with_comma = "\",\" ws " + pairs[i] + " " + rest;
            const std::string without = pairs[i] + " " + rest;
            const std::string new_rest = add_rule(hint + "-after", is_required[i] ? with_comma : with_comma + " | " + rest);
            first = add_rule(hint + "-from", is_required[i] ? without : without + " | " + first);
            rest = new_rest;
        }
        return "\"{\" ws " + first + " \"}\"";
    }

    std::string visit_array(const Json& schema, const std::string& path, const std::string& hint, int depth) {
        std::vector<std::string> prefix;
        if (schema.contains("prefixItems")) {
            const Json& items = schema["prefixItems"];
            if (!items.is_array()) error(path, "'prefixItems' must be an array of schemas");
            for (size_t i = 0; i < items.size(); ++i)
                prefix.push_back(
                    visit(items[i], fmt::format("{}/prefixItems/{}", path, i), fmt::format("{}-{}", hint, i), depth + 1));
        }
        std::string item = "value";
        bool has_items = true;
        if (schema.contains("items")) {
            const Json& items = schema["items"];
            if (items == Json(false)) has_items = false;
            else item = visit(items, path + "/items", hint + "-item", depth + 1);
        }
        const uint64_t min = schema.contains("minItems") ? count_of(schema, "minItems", path) : 0;
        const bool unbounded = !schema.contains("maxItems");
        const uint64_t max = unbounded ? 0 : count_of(schema, "maxItems", path);
        if (!unbounded && max < min) error(path, "'maxItems' {} is below 'minItems' {}", max, min);
        if (!has_items && min > prefix.size())
            error(path, "'minItems' {} asks for more than the {} prefixItems and items is false", min, prefix.size());
        return "\"[\" ws " + array_elements(0, prefix, has_items ? item : "", min, max, unbounded) + " \"]\"";
    }

    // Elements k.. of an array, k already written.
    static std::string array_elements(uint64_t k, const std::vector<std::string>& prefix, const std::string& item,
                                      uint64_t min, uint64_t max, bool unbounded) {
        if (!unbounded && k >= max) return "\"\"";
        const std::string comma = k == 0 ? "" : "\",\" ws ";
        if (k < prefix.size()) {
            const std::string here =
                comma + prefix[k] + " ws " + array_elements(k + 1, prefix, item, min, max, unbounded);
            return k < min ? here : "( " + here + " )?";
        }
        if (item.empty()) return "\"\"";
        const uint64_t lo = min > k ? min - k : 0;
        const uint64_t hi = unbounded ? 0 : max - k;
        if (k > 0) return "( \",\" ws " + item + " ws )" + repetition(lo, hi, unbounded);
        const std::string more = "( \",\" ws " + item + " ws )" + repetition(lo > 0 ? lo - 1 : 0, hi - 1, unbounded);
        const std::string all = item + " ws " + more;
        return lo > 0 ? all : "( " + all + " )?";
    }

    static std::string visit_string(const Json& schema, const std::string& path) {
        if (schema.contains("format")) {
            const Json& format = schema["format"];
            if (!format.is_string()) error(path, "'format' must be a string");
            const std::string name = format.get<std::string>();
            if (name == "date") return "\"\\\"\" date \"\\\"\"";
            if (name == "time") return "\"\\\"\" time \"\\\"\"";
            if (name == "date-time") return "\"\\\"\" date \"T\" time \"\\\"\"";
            if (name == "uuid") return "\"\\\"\" uuid \"\\\"\"";
            error(path, "format \"{}\" is not supported (supported: date, time, date-time, uuid)", name);
        }
        if (!schema.contains("minLength") && !schema.contains("maxLength")) return "string";
        const uint64_t min = schema.contains("minLength") ? count_of(schema, "minLength", path) : 0;
        const bool unbounded = !schema.contains("maxLength");
        const uint64_t max = unbounded ? 0 : count_of(schema, "maxLength", path);
        if (!unbounded && max < min) error(path, "'maxLength' {} is below 'minLength' {}", max, min);
        return "\"\\\"\" char" + repetition(min, max, unbounded) + " \"\\\"\"";
    }

    const Json* root_ = nullptr;  // the schema being compiled: where $refs point
    std::map<std::string, std::string> rules_;
    std::set<std::string> reserved_;
    std::map<std::string, std::string> ref_rules_;
    size_t bytes_ = 0;
};

}  // namespace

namespace {
// Refs that only lead to refs ({"$defs": {"a": {"$ref": "#/$defs/a"}}}) compile to rules that
// recurse before matching anything: the grammar check names them.
std::string checked(std::string gbnf) {
    try {
        parse_gbnf(gbnf);
    } catch (const Error& e) {
        fail("json schema: {}", e.what());
    }
    return gbnf;
}
}  // namespace

std::string schema_to_gbnf(const nlohmann::ordered_json& schema, std::string_view root_body) {
    if (root_body.empty()) return checked(Compiler().compile(schema));
    return schemas_to_gbnf({{"schema", schema}}, root_body);
}

std::string schemas_to_gbnf(const std::vector<NamedSchema>& schemas, std::string_view root_body) {
    return checked(Compiler().compile(schemas, root_body));
}

std::string literal_gbnf(std::string_view text) { return gbnf_literal(std::string(text)); }

std::string json_gbnf() {
    return std::string("root ::= object\n") + kJsonRules;
}

}  // namespace hearth::grammar
