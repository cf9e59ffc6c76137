// JSON Schema → GBNF: for each keyword, texts sampled at random from the compiled grammar parse
// as JSON and satisfy the schema (checked by a small validator below), texts that break the
// schema are rejected, and unsupported or broken schemas are clear errors.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "grammar/grammar.h"
#include "grammar/json_schema.h"
#include "grammar/matcher.h"
#include "grammar/token_constraint.h"

namespace hearth::grammar {
namespace {

using Json = nlohmann::ordered_json;

size_t code_points(const std::string& s) {
    size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
}

// The subset of JSON Schema validation that the compiler supports.
bool valid(const Json& v, const Json& schema, const Json& root) {
    if (schema.is_boolean()) return schema.get<bool>();
    if (schema.contains("$ref")) return valid(v, root.at(Json::json_pointer(schema["$ref"].get<std::string>().substr(1))), root);
    if (schema.contains("const") && v != schema["const"]) return false;
    if (schema.contains("enum")) {
        bool found = false;
        for (const Json& e : schema["enum"]) found = found || e == v;
        if (!found) return false;
    }
    for (const char* key : {"anyOf", "oneOf"}) {
        if (!schema.contains(key)) continue;
        bool any = false;
        for (const Json& s : schema[key]) any = any || valid(v, s, root);
        if (!any) return false;
    }
    if (schema.contains("allOf"))
        for (const Json& s : schema["allOf"])
            if (!valid(v, s, root)) return false;
    if (schema.contains("type")) {
        std::vector<std::string> types;
        if (schema["type"].is_string()) types.push_back(schema["type"]);
        else for (const Json& t : schema["type"]) types.push_back(t);
        bool ok = false;
        for (const std::string& t : types) {
            ok = ok || (t == "object" && v.is_object()) || (t == "array" && v.is_array()) ||
                 (t == "string" && v.is_string()) || (t == "number" && v.is_number()) ||
                 (t == "integer" && v.is_number_integer()) || (t == "boolean" && v.is_boolean()) ||
                 (t == "null" && v.is_null());
        }
        if (!ok) return false;
    }
    if (v.is_object()) {
        const Json props = schema.value("properties", Json::object());
        for (const Json& r : schema.value("required", Json::array()))
            if (!v.contains(r.get<std::string>())) return false;
        for (const auto& [k, x] : v.items()) {
            if (props.contains(k)) {
                if (!valid(x, props[k], root)) return false;
            } else if (schema.contains("additionalProperties") && !valid(x, schema["additionalProperties"], root)) {
                return false;
            }
        }
    }
    if (v.is_array()) {
        const Json prefix = schema.value("prefixItems", Json::array());
        for (size_t i = 0; i < v.size(); ++i) {
            if (i < prefix.size()) {
                if (!valid(v[i], prefix[i], root)) return false;
            } else if (schema.contains("items") && !valid(v[i], schema["items"], root)) {
                return false;
            }
        }
        if (schema.contains("minItems") && v.size() < schema["minItems"].get<size_t>()) return false;
        if (schema.contains("maxItems") && v.size() > schema["maxItems"].get<size_t>()) return false;
    }
    if (v.is_string()) {
        const std::string s = v.get<std::string>();
        if (schema.contains("minLength") && code_points(s) < schema["minLength"].get<size_t>()) return false;
        if (schema.contains("maxLength") && code_points(s) > schema["maxLength"].get<size_t>()) return false;
        if (schema.contains("format")) {
            const std::string f = schema["format"];
            const std::string date = R"(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))";
            const std::string time = R"(([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))";
            const std::string hex = "[0-9a-fA-F]";
            std::string re = f == "date" ? date : f == "time" ? time : f == "date-time" ? date + "T" + time
                           : hex + "{8}-" + hex + "{4}-" + hex + "{4}-" + hex + "{4}-" + hex + "{12}";
            if (!std::regex_match(s, std::regex(re))) return false;
        }
    }
    return true;
}

// A byte-level vocabulary: printable ASCII, newline, and "é" as one token; id 0 is EOS.
std::vector<std::string> char_vocab() {
    std::vector<std::string> v = {""};
    for (char c = 0x20; c < 0x7F; ++c) v.push_back(std::string(1, c));
    v.push_back("\n");
    v.push_back("\xC3\xA9");
    return v;
}

// Samples a random sentence of the grammar; after `patience` steps it prefers characters
// that close things, so that it ends.
std::string sample(TokenConstraint& c, const std::vector<std::string>& vocab, std::mt19937& rng, int patience = 60) {
    c.reset();
    std::string text;
    for (int step = 0; step < 5000; ++step) {
        const auto& mask = c.allowed();
        if (mask.end_allowed && (mask.n_text_allowed == 0 || rng() % 3 == 0 || step > patience)) return text;
        std::vector<int32_t> ids;
        for (int32_t id = 1; id < int32_t(vocab.size()); ++id)
            if (mask.allowed(id)) ids.push_back(id);
        if (ids.empty()) ADD_FAILURE() << "dead end after: " << text;
        if (ids.empty()) return text;
        int32_t pick = ids[rng() % ids.size()];
        if (step > patience) {
            for (const char* closer : {"\"", "]", "}", "0", "n", "u", "l", "t", "r", "e", "f", "a", "s", "1"}) {
                bool found = false;
                for (int32_t id : ids) {
                    if (vocab[size_t(id)] == closer) {
                        pick = id;
                        found = true;
                        break;
                    }
                }
                if (found) break;
            }
        }
        c.accept(pick);
        text += vocab[size_t(pick)];
    }
    ADD_FAILURE() << "no end after 5000 characters: " << text.substr(0, 200);
    return text;
}

// Samples `n` texts from the schema's grammar and checks each against the schema.
void expect_samples_valid(const Json& schema, int n = 40) {
    const std::string gbnf = schema_to_gbnf(schema);
    const auto vocab = char_vocab();
    TokenConstraint c(parse_gbnf(gbnf), vocab, {0});
    std::mt19937 rng(42);
    for (int i = 0; i < n; ++i) {
        const std::string text = sample(c, vocab, rng);
        Json v;
        try {
            v = Json::parse(text);
        } catch (const std::exception& e) {
            ADD_FAILURE() << "not JSON: " << text << "\n" << e.what() << "\nschema: " << schema.dump();
            return;
        }
        EXPECT_TRUE(valid(v, schema, schema)) << "schema: " << schema.dump() << "\ntext: " << text;
    }
}

bool accepts(const Json& schema, const std::string& text) {
    const Grammar g = parse_gbnf(schema_to_gbnf(schema));
    return Matcher(g).matches(text);
}

std::string error_of(const Json& schema) {
    try {
        schema_to_gbnf(schema);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(GrammarSchema, PrimitiveTypes) {
    for (const char* type : {"string", "number", "integer", "boolean", "null"})
        expect_samples_valid(Json{{"type", type}}, 15);
    EXPECT_TRUE(accepts(Json{{"type", "integer"}}, "-120"));
    EXPECT_FALSE(accepts(Json{{"type", "integer"}}, "1.5"));
    EXPECT_FALSE(accepts(Json{{"type", "integer"}}, "012"));
    EXPECT_TRUE(accepts(Json{{"type", "number"}}, "-0.5e+10"));
    EXPECT_TRUE(accepts(Json{{"type", "string"}}, R"("a\"b\u00e9\n")"));
    EXPECT_FALSE(accepts(Json{{"type", "string"}}, "\"a\nb\""));
    EXPECT_TRUE(accepts(Json{{"type", Json::array({"integer", "null"})}}, "null"));
    EXPECT_FALSE(accepts(Json{{"type", Json::array({"integer", "null"})}}, "true"));
    expect_samples_valid(Json{{"type", Json::array({"string", "integer"})}}, 20);
}

TEST(GrammarSchema, ObjectsWithRequiredOptionalAndAdditional) {
    const Json schema = Json::parse(R"({
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 8},
            "age": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
            "nick": {"type": "string"}
        },
        "required": ["name", "tags"],
        "additionalProperties": false
    })");
    expect_samples_valid(schema, 60);
    EXPECT_TRUE(accepts(schema, R"({"name":"a","tags":[]})"));
    EXPECT_TRUE(accepts(schema, R"({ "name" : "a" , "age": 3, "tags": ["x"], "nick": "n" })"));
    EXPECT_FALSE(accepts(schema, R"({"age":3,"tags":[]})"));          // name missing
    EXPECT_FALSE(accepts(schema, R"({"name":"a","tags":[],"x":1})"));  // additional
    EXPECT_FALSE(accepts(schema, R"({"name":"a","tags":[],})"));
    EXPECT_FALSE(accepts(schema, R"({"name":"a","tags":["1","2","3","4"]})"));

    const Json open = Json::parse(R"({"type":"object","properties":{"a":{"type":"integer"}},
                                       "additionalProperties":{"type":"boolean"}})");
    expect_samples_valid(open, 30);
    EXPECT_TRUE(accepts(open, R"({"a":1,"x":true,"y":false})"));
    EXPECT_TRUE(accepts(open, R"({"x":true})"));
    EXPECT_FALSE(accepts(open, R"({"a":1,"x":2})"));
    EXPECT_TRUE(accepts(Json::parse(R"({"type":"object","additionalProperties":true,"properties":{"a":{}}})"),
                        R"({"a":[1,{"b":null}],"z":"q"})"));
    // No properties and nothing said: any object.
    EXPECT_TRUE(accepts(Json{{"type", "object"}}, R"({"k":[1,2],"j":{}})"));
    // Properties but additionalProperties unsaid: only the declared ones (documented).
    EXPECT_FALSE(accepts(Json::parse(R"({"properties":{"a":{}}})"), R"({"b":1})"));
    // Declared empty (a tool without arguments): the empty object only.
    EXPECT_TRUE(accepts(Json::parse(R"({"type":"object","properties":{}})"), "{}"));
    EXPECT_FALSE(accepts(Json::parse(R"({"type":"object","properties":{}})"), R"({"b":1})"));
}

TEST(GrammarSchema, Arrays) {
    const Json bounded = Json::parse(R"({"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":4})");
    expect_samples_valid(bounded, 40);
    EXPECT_FALSE(accepts(bounded, "[1]"));
    EXPECT_TRUE(accepts(bounded, "[1, 2]"));
    EXPECT_TRUE(accepts(bounded, "[1,2,3,4]"));
    EXPECT_FALSE(accepts(bounded, "[1,2,3,4,5]"));
    const Json tuple = Json::parse(
        R"({"type":"array","prefixItems":[{"type":"string"},{"type":"boolean"}],"items":false,"minItems":1})");
    expect_samples_valid(tuple, 30);
    EXPECT_TRUE(accepts(tuple, R"(["a"])"));
    EXPECT_TRUE(accepts(tuple, R"(["a", true])"));
    EXPECT_FALSE(accepts(tuple, R"([])"));
    EXPECT_FALSE(accepts(tuple, R"(["a", true, 1])"));
    const Json tail = Json::parse(R"({"prefixItems":[{"const":"x"}],"items":{"type":"null"}})");
    expect_samples_valid(tail, 30);
    EXPECT_TRUE(accepts(tail, R"(["x",null,null])"));
    EXPECT_TRUE(accepts(tail, R"([])"));
    expect_samples_valid(Json::parse(R"({"type":"array","minItems":3})"), 20);
}

TEST(GrammarSchema, EnumConstAndCombinators) {
    const Json e = Json::parse(R"({"enum":["red","gr\"een",3,null,{"a":[1]}]})");
    expect_samples_valid(e, 30);
    EXPECT_TRUE(accepts(e, R"({"a":[1]})"));
    EXPECT_FALSE(accepts(e, R"("blue")"));
    EXPECT_TRUE(accepts(Json::parse(R"({"const":"é\n"})"), "\"é\\n\""));
    const Json any = Json::parse(R"({"anyOf":[{"type":"integer"},{"type":"string","maxLength":2}]})");
    expect_samples_valid(any, 30);
    EXPECT_FALSE(accepts(any, R"("abc")"));
    expect_samples_valid(Json::parse(R"({"oneOf":[{"type":"boolean"},{"type":"null"}]})"), 10);
    const Json all = Json::parse(R"({"allOf":[
        {"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]},
        {"properties":{"b":{"type":"boolean"}},"required":["b"]}]})");
    expect_samples_valid(all, 30);
    EXPECT_TRUE(accepts(all, R"({"a":1,"b":true})"));
    EXPECT_FALSE(accepts(all, R"({"a":1})"));
    EXPECT_NE(error_of(Json::parse(R"({"allOf":[{"type":"string"}]})")).find("only for object"), std::string::npos);
}

TEST(GrammarSchema, RefsAndRecursion) {
    const Json tree = Json::parse(R"({
        "$defs": {"node": {"type":"object","properties":{
            "v":{"type":"integer"},
            "kids":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},
            "required":["v"],"additionalProperties":false}},
        "$ref": "#/$defs/node"})");
    expect_samples_valid(tree, 30);
    EXPECT_TRUE(accepts(tree, R"({"v":1,"kids":[{"v":2,"kids":[{"v":3}]},{"v":4}]})"));
    EXPECT_FALSE(accepts(tree, R"({"v":1,"kids":[{"w":2}]})"));
    const Json self = Json::parse(
        R"({"type":"object","properties":{"next":{"$ref":"#"}},"additionalProperties":false})");
    EXPECT_TRUE(accepts(self, R"({"next":{"next":{}}})"));
    expect_samples_valid(Json::parse(R"({"definitions":{"x":{"type":"boolean"}},"items":{"$ref":"#/definitions/x"}})"), 20);
}

TEST(GrammarSchema, StringLengthsAndFormats) {
    const Json len = Json::parse(R"({"type":"string","minLength":2,"maxLength":5})");
    expect_samples_valid(len, 30);
    EXPECT_FALSE(accepts(len, R"("a")"));
    EXPECT_TRUE(accepts(len, R"("éé")"));
    EXPECT_TRUE(accepts(len, R"("a\nb")"));  // an escape is one character
    EXPECT_FALSE(accepts(len, R"("abcdef")"));
    for (const char* format : {"date", "time", "date-time", "uuid"})
        expect_samples_valid(Json{{"type", "string"}, {"format", format}}, 15);
    EXPECT_TRUE(accepts(Json{{"format", "date-time"}}, R"("2026-12-07T16:00:00Z")"));
    EXPECT_FALSE(accepts(Json{{"format", "date"}}, R"("2026-13-01")"));
    EXPECT_TRUE(accepts(Json{{"format", "uuid"}}, R"("123e4567-e89b-12d3-a456-426614174000")"));
}

TEST(GrammarSchema, DescriptiveKeywordsAreIgnored) {
    const Json s = Json::parse(R"({"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"x",
        "title":"T","description":"D","examples":[1],"default":2,"type":"integer"})");
    EXPECT_TRUE(accepts(s, "5"));
}

TEST(GrammarSchema, ErrorsNameTheKeywordAndPlace) {
    EXPECT_NE(error_of(Json::parse(R"({"type":"string","pattern":"^a+$"})")).find("keyword 'pattern' is not supported"),
              std::string::npos);
    const std::string minimum = error_of(Json::parse(R"({"properties":{"n":{"type":"integer","minimum":3}}})"));
    EXPECT_NE(minimum.find("at /properties/n: keyword 'minimum' is not supported"), std::string::npos) << minimum;
    EXPECT_NE(error_of(Json::parse(R"({"type":"float"})")).find("unknown type \"float\""), std::string::npos);
    EXPECT_NE(error_of(Json::parse(R"({"$ref":"#/$defs/missing"})")).find("points to nothing"), std::string::npos);
    EXPECT_NE(error_of(Json::parse(R"({"$ref":"other.json#/a"})")).find("not a local reference"), std::string::npos);
    EXPECT_NE(error_of(Json::parse(R"({"type":"string","format":"email"})")).find("format \"email\""), std::string::npos);
    EXPECT_NE(error_of(Json::parse(R"({"required":["x"],"properties":{}})")).find("\"x\" is not in"), std::string::npos);
    EXPECT_NE(error_of(Json::parse(R"({"maxItems":1,"minItems":2})")).find("below"), std::string::npos);
    EXPECT_NE(error_of(Json::parse(R"({"minItems":-1})")).find("non-negative"), std::string::npos);
    EXPECT_NE(error_of(Json::parse(R"({"maxLength":100000})")).find("over the supported"), std::string::npos);
    EXPECT_NE(error_of(Json(false)).find("matches nothing"), std::string::npos);
    EXPECT_NE(error_of(Json(3)).find("must be an object or a boolean"), std::string::npos);
    EXPECT_NE(error_of(Json::parse(R"({"enum":[]})")).find("non-empty"), std::string::npos);
    // $refs that only lead to each other never produce a character.
    const std::string cycle = error_of(Json::parse(R"({"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"})"));
    EXPECT_NE(cycle.find("json schema: grammar: rule 'ref-"), std::string::npos) << cycle;
    EXPECT_NE(cycle.find("left-recursive"), std::string::npos) << cycle;
    EXPECT_NE(error_of(Json::parse(R"({"$defs":{"a":{"$ref":"#/$defs/a"}},"allOf":[{"$ref":"#/$defs/a"}]})")).find("cycle"),
              std::string::npos);
}

TEST(GrammarSchema, ExplodingSchemasFailFastWithAClearError) {
    const auto t0 = std::chrono::steady_clock::now();
    // Deep inline nesting.
    Json deep = Json{{"type", "integer"}};
    for (int i = 0; i < 200; ++i) deep = Json{{"type", "array"}, {"items", deep}};
    EXPECT_NE(error_of(deep).find("nested deeper"), std::string::npos);
    // A huge enum.
    Json huge = Json::array();
    for (int i = 0; i < 200000; ++i) huge.push_back(fmt::format("{}{}", std::string(20, char('a' + i % 26)), i));
    EXPECT_NE(error_of(Json{{"enum", huge}}).find("too large"), std::string::npos);
    // Doubling through $defs: each level refers to the previous twice (a rule each, so small).
    Json defs = Json::object();
    defs["d0"] = Json{{"type", "integer"}};
    for (int i = 1; i < 40; ++i)
        defs[fmt::format("d{}", i)] = Json{{"type", "array"}, {"prefixItems", Json::array({
            Json{{"$ref", fmt::format("#/$defs/d{}", i - 1)}}, Json{{"$ref", fmt::format("#/$defs/d{}", i - 1)}}})}};
    EXPECT_NO_THROW(parse_gbnf(schema_to_gbnf(Json{{"$defs", defs}, {"$ref", "#/$defs/d39"}})));
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
}

TEST(GrammarSchema, SeveralSchemasInOneGrammarEachWithItsOwnRefs) {
    // Both schemas have a $defs/item of their own: each $ref resolves within its schema.
    const Json a = Json::parse(R"({"$defs":{"item":{"type":"integer"}},"type":"array","items":{"$ref":"#/$defs/item"}})");
    const Json b = Json::parse(R"({"$defs":{"item":{"type":"boolean"}},"type":"object","properties":{"x":{"$ref":"#/$defs/item"}},"required":["x"]})");
    const std::string gbnf = schemas_to_gbnf({{"first", a}, {"second", b}}, R"("A=" first | "B=" second)");
    const Grammar g = parse_gbnf(gbnf);
    EXPECT_TRUE(Matcher(g).matches("A=[1, 2]"));
    EXPECT_FALSE(Matcher(g).matches("A=[true]"));
    EXPECT_TRUE(Matcher(g).matches(R"(B={"x": true})"));
    EXPECT_FALSE(Matcher(g).matches(R"(B={"x": 1})"));
    EXPECT_FALSE(Matcher(g).matches("[1]"));
    // One schema inside a wrapper.
    const Grammar wrapped = parse_gbnf(schema_to_gbnf(Json{{"type", "integer"}}, R"("<" schema ">")"));
    EXPECT_TRUE(Matcher(wrapped).matches("<42>"));
    EXPECT_FALSE(Matcher(wrapped).matches("42"));
    // Rule names that would clash with the building blocks or each other are refused.
    for (const char* name : {"string", "ws", "", "a b", "root"})
        EXPECT_THROW(schemas_to_gbnf({{name, Json{{"type", "integer"}}}}, "x"), Error) << name;
    EXPECT_THROW(schemas_to_gbnf({{"x", Json{{"type", "integer"}}}, {"x", Json{{"type", "integer"}}}}, "x"), Error);
    // literal_gbnf quotes and escapes.
    const Grammar lit = parse_gbnf("root ::= " + literal_gbnf("a\"b\\c\n"));
    EXPECT_TRUE(Matcher(lit).matches("a\"b\\c\n"));
}

TEST(GrammarSchema, WithPrefixPutsLiteralTextFirst) {
    const Grammar g = with_prefix(parse_gbnf(schema_to_gbnf(Json{{"type", "boolean"}})), "</think>\n\né");
    EXPECT_TRUE(Matcher(g).matches("</think>\n\nétrue"));
    EXPECT_FALSE(Matcher(g).matches("true"));
    EXPECT_FALSE(Matcher(g).matches("</think>\n\né"));
}

TEST(GrammarSchema, JsonGrammarIsAnyObject) {
    const Grammar g = parse_gbnf(json_gbnf());
    Matcher m(g);
    EXPECT_TRUE(m.matches(R"({"a": [1, -2.5e3, "x", true, null, {"b": {}}]})"));
    EXPECT_FALSE(m.matches("[1]"));  // an object at the root, as Ollama's format: json
    EXPECT_FALSE(m.matches(R"({"a": 01})"));
    expect_samples_valid(Json{{"type", "object"}}, 20);
}

}  // namespace
}  // namespace hearth::grammar
