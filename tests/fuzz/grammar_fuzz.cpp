// libFuzzer target for the grammar layer: the GBNF parser and the JSON Schema compiler on
// arbitrary bytes. The first byte picks the input kind (even: GBNF text, odd: a JSON Schema).
// Bad input must end in hearth::Error and nothing else; a grammar that parses is run through
// the matcher on the rest of the input; a schema that compiles must give GBNF that parses.
//
// Build and run: FUZZ_TARGETS=grammar_fuzz scripts/fuzz.sh
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "grammar/grammar.h"
#include "grammar/json_schema.h"
#include "grammar/matcher.h"

namespace {

[[noreturn]] void broken(const char* what, const std::string& detail) {
    std::fprintf(stderr, "grammar_fuzz: %s: %s\n", what, detail.c_str());
    std::abort();
}

void fuzz_gbnf(std::string_view text) {
    // The grammar is the input up to a NUL; what follows is text to match.
    const size_t split = text.find('\0');
    const std::string_view gbnf = text.substr(0, split);
    const std::string_view sample = split == std::string_view::npos ? std::string_view() : text.substr(split + 1);
    hearth::grammar::Grammar g;
    try {
        g = hearth::grammar::parse_gbnf(gbnf);
    } catch (const hearth::Error&) {
        return;
    }
    hearth::grammar::Matcher matcher(g);
    try {
        hearth::grammar::StackSet stacks = matcher.initial();
        size_t pos = 0;
        for (int steps = 0; steps < 256 && pos < sample.size() && !stacks.empty(); ++steps) {
            uint32_t cp = 0;
            if (!hearth::grammar::decode_utf8(sample, pos, cp)) break;
            stacks = matcher.advance(stacks, cp);
        }
    } catch (const hearth::Error&) {
        // Too ambiguous: a clear error is the documented outcome.
    }
}

void fuzz_schema(std::string_view text) {
    nlohmann::ordered_json schema;
    try {
        schema = nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::exception&) {
        return;
    }
    std::string gbnf;
    try {
        gbnf = hearth::grammar::schema_to_gbnf(schema);
    } catch (const hearth::Error&) {
        return;
    }
    try {
        hearth::grammar::parse_gbnf(gbnf);
    } catch (const hearth::Error& e) {
        broken("a compiled schema does not parse", e.what());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    if (data[0] % 2 == 0) fuzz_gbnf(text);
    else fuzz_schema(text);
    return 0;
}
