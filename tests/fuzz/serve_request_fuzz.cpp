// libFuzzer target for the request-parsing path of `hearth serve`: every API's body parser on
// arbitrary bytes. Bad input must end in serve::ApiError with a 4xx status and nothing else; a
// body that parses must give values inside the documented ranges, and the responses built
// from its text (which may be any bytes) must serialize without throwing. Schemas and tools
// compile to grammars that parse, or fail with a clear error.
//
// Build and run: FUZZ_TARGETS=serve_request_fuzz scripts/fuzz.sh
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "serve/format.h"
#include "serve/reply.h"
#include "serve/request.h"
#include "serve/tool_grammar.h"
#include "common/error.h"
#include "grammar/grammar.h"

namespace {

using namespace hearth::serve;

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "serve_request_fuzz: %s\n", what);
    std::abort();
}

void check(const GenerationRequest& r) {
    if (r.n_predict < -1 || r.n_predict > kMaxPredict) broken("n_predict out of range");
    if (r.stop.size() > static_cast<size_t>(kMaxStopStrings)) broken("too many stop strings");
    for (const auto& s : r.stop)
        if (s.empty() || s.size() > kMaxStopLength) broken("bad stop string");
    if (!std::isfinite(r.sampling.temperature) || r.sampling.temperature < 0) broken("bad temperature");
    if (!(r.sampling.top_p > 0 && r.sampling.top_p <= 1)) broken("bad top_p");
    if (std::fabs(r.presence_penalty) > 2 || std::fabs(r.frequency_penalty) > 2) broken("bad penalty");
    if (r.sampling.top_k < 0 || r.sampling.repeat_last_n < 0) broken("negative count");
    for (const auto& m : r.messages) {
        // content is text, or null on an assistant message that carries tool calls
        const bool content_ok = m["content"].is_string() || (m["content"].is_null() && m.contains("tool_calls"));
        if (!m["role"].is_string() || !content_ok) broken("message not normalized");
        if (m.contains("tool_calls"))
            for (const auto& c : m["tool_calls"])
                if (!c["id"].is_string() || !c["function"]["name"].is_string() || !c["function"]["arguments"].is_object())
                    broken("tool call not normalized");
    }
    if (!r.tools.is_null() && !r.tools.is_array()) broken("tools not an array");
    // Text from the request comes back in responses: must serialize whatever its bytes are.
    const ResponseMeta meta{"id", r.model, 0};
    std::string text = r.prompt;
    if (!r.messages.empty() && r.messages.back()["content"].is_string()) text += r.messages.back()["content"].get<std::string>();
    (void)sse_event(chat_completion(meta, ChatReply{text, text, {{text, text, text}}}, "stop", Usage{1, 2}));
    (void)ndjson_line(ollama_piece(r.api, r.model, "t", ChatReply{text, text, {{"", r.model, text}}}));
    // The same text read as a model's reply, with the request's tools, in every family's format.
    for (auto family : {hearth::chat::ToolCallFamily::Hermes, hearth::chat::ToolCallFamily::QwenXml,
                        hearth::chat::ToolCallFamily::Llama3, hearth::chat::ToolCallFamily::Mistral,
                        hearth::chat::ToolCallFamily::Phi4Mini}) {
        ReplyReader reader({false, false, family, r.tools.is_null() ? nlohmann::ordered_json::array() : r.tools, true});
        ChatReply end = reader.push(text);
        end = reader.finish();
        (void)sse_event(chat_completion(meta, end, "tool_calls", Usage{1, 2}));
        // A forced call's grammar from the request's tools: GBNF that parses, or a clear error.
        if (!r.tools.is_null() && r.tools.is_array() && !r.tools.empty()) {
            try {
                const std::string gbnf = forced_tool_call_grammar(family, r.tools, r.tool_choice_name, r.parallel_tool_calls);
                if (!gbnf.empty()) (void)hearth::grammar::parse_gbnf(gbnf);
            } catch (const ApiError&) {
                broken("tool grammar: ApiError");
            } catch (const hearth::Error&) {
            }
        }
    }
    // Structured output arrives as a grammar that parses (the parser checked it).
    if (!r.grammar.empty()) (void)hearth::grammar::parse_gbnf(r.grammar);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    // The first byte picks the API, the rest is the body.
    const Api apis[] = {Api::OpenAIChat, Api::OpenAICompletion, Api::OllamaGenerate, Api::OllamaChat};
    const Api api = apis[data[0] % 4];
    const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
        check(parse_generation_request(api, body));
    } catch (const ApiError& e) {
        if (e.status < 400 || e.status > 499) broken("ApiError with a non-4xx status");
    }
    try {
        (void)parse_show_request(body);
    } catch (const ApiError& e) {
        if (e.status != 400) broken("show: ApiError with a status other than 400");
    }
    return 0;
}
