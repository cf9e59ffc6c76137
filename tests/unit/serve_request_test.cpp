// hearth serve: request parsing (JSON body -> GenerationRequest, with every kind of bad input)
// and the exact bytes of SSE / NDJSON framing and response bodies.
#include <limits>
#include <string>
#include <type_traits>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "grammar/grammar.h"
#include "grammar/matcher.h"
#include "serve/format.h"
#include "serve/request.h"

namespace hearth::serve {
namespace {

using json = nlohmann::json;

GenerationRequest parse(Api api, const std::string& body) { return parse_generation_request(api, body); }

// The status and code of the ApiError that parsing `body` throws (0 when it does not throw).
std::pair<int, std::string> error_of(Api api, const std::string& body) {
    try {
        parse(api, body);
    } catch (const ApiError& e) {
        return {e.status, e.code};
    }
    return {0, ""};
}

TEST(ServeRequest, OpenAIChatFields) {
    GenerationRequest r = parse(Api::OpenAIChat, R"({
        "model": "m", "messages": [{"role": "developer", "content": "Be brief."},
                                   {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]},
                                   {"role": "assistant", "content": null}],
        "max_completion_tokens": 12, "max_tokens": 99, "temperature": 0.5, "top_p": 0.9, "seed": 42,
        "stop": ["\n", "END"], "presence_penalty": 0.5, "frequency_penalty": -1,
        "stream": true, "stream_options": {"include_usage": true}, "n": 1, "user": "ignored"})");
    EXPECT_EQ(r.model, "m");
    ASSERT_EQ(r.messages.size(), 3u);
    EXPECT_EQ(r.messages[0]["role"], "system");
    EXPECT_EQ(r.messages[1]["content"], "Hi there");
    EXPECT_EQ(r.messages[2]["content"], "");
    EXPECT_EQ(r.n_predict, 12);  // max_completion_tokens wins over the deprecated max_tokens
    EXPECT_FLOAT_EQ(r.sampling.temperature, 0.5f);
    EXPECT_FLOAT_EQ(r.sampling.top_p, 0.9f);
    EXPECT_EQ(r.sampling.seed, 42u);
    EXPECT_EQ(r.stop, (std::vector<std::string>{"\n", "END"}));
    EXPECT_FLOAT_EQ(r.presence_penalty, 0.5f);
    EXPECT_FLOAT_EQ(r.frequency_penalty, -1.0f);
    EXPECT_TRUE(r.stream);
    EXPECT_TRUE(r.include_usage);
}

TEST(ServeRequest, DefaultsComeFromTheServer) {
    SamplingParams d;
    d.temperature = 0.3f;
    d.seed = 5;
    GenerationRequest r = parse_generation_request(Api::OpenAIChat, R"({"messages":[{"role":"user","content":"x"}]})", d);
    EXPECT_FLOAT_EQ(r.sampling.temperature, 0.3f);
    EXPECT_EQ(r.sampling.seed, 5u);
    EXPECT_EQ(r.n_predict, -1);
    EXPECT_FALSE(r.stream);
    EXPECT_TRUE(r.stop.empty());
    // null means "default" too; a single stop string is a list of one; a negative seed is random.
    r = parse(Api::OpenAIChat, R"({"messages":[{"role":"user","content":"x"}],"max_tokens":null,"stop":"##","seed":-1})");
    EXPECT_EQ(r.n_predict, -1);
    EXPECT_EQ(r.stop, std::vector<std::string>{"##"});
    EXPECT_EQ(r.sampling.seed, SamplingParams::kRandomSeed);
    // An integral float is an integer; top_p 0 means greedy.
    r = parse(Api::OpenAIChat, R"({"messages":[{"role":"user","content":"x"}],"max_tokens":5.0,"top_p":0})");
    EXPECT_EQ(r.n_predict, 5);
    EXPECT_EQ(r.sampling.temperature, 0.0f);
}

TEST(ServeRequest, CompletionPrompt) {
    EXPECT_EQ(parse(Api::OpenAICompletion, R"({"prompt":"Once"})").prompt, "Once");
    EXPECT_EQ(parse(Api::OpenAICompletion, R"({"prompt":["Once"]})").prompt, "Once");
    EXPECT_EQ(error_of(Api::OpenAICompletion, R"({"prompt":[1,2,3]})").first, 400);
    EXPECT_EQ(error_of(Api::OpenAICompletion, R"({"prompt":["a","b"]})").first, 400);
    EXPECT_EQ(error_of(Api::OpenAICompletion, R"({})").second, "missing_field");
}

TEST(ServeRequest, OllamaFields) {
    GenerationRequest r = parse(Api::OllamaGenerate, R"({"model":"m:latest","prompt":"Hi","system":"S","raw":true,
        "options":{"temperature":0,"num_predict":7,"num_ctx":256,"top_k":3,"top_p":0.5,"min_p":0.1,
                   "repeat_penalty":1.2,"seed":9,"stop":["x"],"num_thread":4}})");
    EXPECT_TRUE(r.stream);  // Ollama streams by default
    EXPECT_EQ(r.prompt, "Hi");
    EXPECT_EQ(r.system, "S");
    EXPECT_TRUE(r.raw);
    EXPECT_EQ(r.sampling.temperature, 0.0f);
    EXPECT_EQ(r.n_predict, 7);
    EXPECT_EQ(r.num_ctx, 256);
    EXPECT_EQ(r.sampling.top_k, 3);
    EXPECT_FLOAT_EQ(r.sampling.min_p, 0.1f);
    EXPECT_FLOAT_EQ(r.sampling.repeat_penalty, 1.2f);
    EXPECT_EQ(r.sampling.seed, 9u);
    EXPECT_EQ(r.stop, std::vector<std::string>{"x"});
    r = parse(Api::OllamaChat, R"({"messages":[{"role":"user","content":"x"}],"stream":false,"options":{"num_predict":-2}})");
    EXPECT_FALSE(r.stream);
    EXPECT_EQ(r.n_predict, -1);
}

TEST(ServeRequest, RejectsMalformedBodies) {
    for (const char* body : {"", "{", "not json", "[1,2]", "\"text\"", "null", "42", "{\"messages\": [}"}) {
        auto [status, code] = error_of(Api::OpenAIChat, body);
        EXPECT_EQ(status, 400) << body;
        EXPECT_FALSE(code.empty()) << body;
    }
}

TEST(ServeRequest, RejectsWrongTypesAndRanges) {
    const std::string m = R"("messages":[{"role":"user","content":"x"}])";
    const char* bad[] = {
        R"({"messages":"hi"})",
        R"({"messages":[]})",
        R"({"messages":[1]})",
        R"({"messages":[{"content":"x"}]})",
        R"({"messages":[{"role":"robot","content":"x"}]})",
        R"({"messages":[{"role":7,"content":"x"}]})",
        R"({"messages":[{"role":"user","content":42}]})",
        R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":"x"}]}]})",
        R"({"messages":[{"role":"user","content":[{"type":"text"}]}]})",
    };
    for (const char* body : bad) EXPECT_EQ(error_of(Api::OpenAIChat, body).first, 400) << body;
    const std::string fields[] = {
        R"("model":5)",          R"("stream":"yes")",        R"("stream_options":true)",
        R"("max_tokens":-1)",    R"("max_tokens":"10")",     R"("max_tokens":1.5)",
        R"("max_tokens":1e300)", R"("temperature":-0.1)",    R"("temperature":2.5)",
        R"("temperature":"hot")", R"("top_p":1.5)",          R"("seed":"1")",
        R"("seed":0.5)",         R"("stop":5)",              R"("stop":[1])",
        R"("stop":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"])",
        R"("presence_penalty":3)", R"("frequency_penalty":-2.5)", R"("n":2)",
        R"("max_completion_tokens":99999999999)", R"("top_k":-1)", R"("min_p":2)",
    };
    for (const std::string& f : fields) {
        const std::string body = "{" + m + "," + f + "}";
        EXPECT_EQ(error_of(Api::OpenAIChat, body).first, 400) << body;
    }
    const std::string long_stop = R"({)" + m + R"(,"stop":")" + std::string(300, 'x') + R"("})";
    EXPECT_EQ(error_of(Api::OpenAIChat, long_stop).first, 400);
    for (const char* body : {R"({"prompt":"x","options":5})", R"({"prompt":"x","options":{"num_predict":-3}})",
                             R"({"prompt":"x","options":{"num_ctx":0}})", R"({"prompt":"x","options":{"temperature":"a"}})",
                             R"({"prompt":"x","format":"xml"})", R"({"prompt":7})", R"({"prompt":"x","raw":1})",
                             R"({"prompt":"x","options":{"stop":"x","top_p":-1}})"})
        EXPECT_EQ(error_of(Api::OllamaGenerate, body).first, 400) << body;
}

// Whether the request's grammar accepts `text` (a whole reply).
bool grammar_accepts(const GenerationRequest& r, const std::string& text) {
    const grammar::Grammar g = grammar::parse_gbnf(r.grammar);
    return grammar::Matcher(g).matches(text);
}

TEST(ServeRequest, ResponseFormatBecomesAGrammar) {
    const std::string m = R"("messages":[{"role":"user","content":"x"}])";
    EXPECT_EQ(parse(Api::OpenAIChat, "{" + m + "}").grammar, "");
    EXPECT_EQ(parse(Api::OpenAIChat, "{" + m + R"(,"response_format":{"type":"text"}})").grammar, "");
    EXPECT_EQ(parse(Api::OpenAIChat, "{" + m + R"(,"response_format":null})").grammar, "");

    const GenerationRequest any = parse(Api::OpenAIChat, "{" + m + R"(,"response_format":{"type":"json_object"}})");
    EXPECT_TRUE(grammar_accepts(any, R"({"a": [1, "x"]})"));
    EXPECT_FALSE(grammar_accepts(any, "[1]"));  // json_object: an object
    EXPECT_FALSE(grammar_accepts(any, "hello"));

    const std::string schema = R"({"type":"object","properties":{"n":{"type":"integer"},"tag":{"enum":["a","b"]}},"required":["n","tag"],"additionalProperties":false})";
    const GenerationRequest typed = parse(
        Api::OpenAIChat, "{" + m + R"(,"response_format":{"type":"json_schema","json_schema":{"name":"x","strict":true,"schema":)" + schema + "}}}");
    EXPECT_TRUE(grammar_accepts(typed, R"({"n": 3, "tag": "b"})"));
    EXPECT_FALSE(grammar_accepts(typed, R"({"n": 3})"));
    EXPECT_FALSE(grammar_accepts(typed, R"({"n": "3", "tag": "b"})"));
    // The same through /v1/completions, llama.cpp's json_schema field and json_object's schema.
    EXPECT_EQ(parse(Api::OpenAICompletion, R"({"prompt":"x","response_format":{"type":"json_schema","json_schema":{"schema":)" + schema + "}}}").grammar,
              typed.grammar);
    EXPECT_EQ(parse(Api::OpenAIChat, "{" + m + R"(,"json_schema":)" + schema + "}").grammar, typed.grammar);
    EXPECT_EQ(parse(Api::OpenAIChat, "{" + m + R"(,"response_format":{"type":"json_object","schema":)" + schema + "}}").grammar,
              typed.grammar);
    // llama.cpp's GBNF field.
    const GenerationRequest gbnf = parse(Api::OpenAIChat, "{" + m + R"(,"grammar":"root ::= \"yes\" | \"no\""})");
    EXPECT_TRUE(grammar_accepts(gbnf, "no"));
    EXPECT_FALSE(grammar_accepts(gbnf, "maybe"));
}

TEST(ServeRequest, OllamaFormatBecomesAGrammar) {
    EXPECT_EQ(parse(Api::OllamaGenerate, R"({"prompt":"x","format":""})").grammar, "");
    const GenerationRequest json_format = parse(Api::OllamaGenerate, R"({"prompt":"x","format":"json"})");
    EXPECT_TRUE(grammar_accepts(json_format, R"({"k": null})"));
    EXPECT_FALSE(grammar_accepts(json_format, "text"));
    const GenerationRequest schema = parse(Api::OllamaChat,
        R"({"messages":[{"role":"user","content":"x"}],"format":{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}})");
    EXPECT_TRUE(grammar_accepts(schema, R"({"ok": true})"));
    EXPECT_FALSE(grammar_accepts(schema, R"({"ok": 1})"));
}

TEST(ServeRequest, BadStructuredOutputIsA400NamingTheField) {
    const std::string m = R"("messages":[{"role":"user","content":"x"}],)";
    const std::pair<const char*, const char*> cases[] = {
        {R"("response_format":"json")", "invalid_type"},
        {R"("response_format":{})", "invalid_type"},
        {R"("response_format":{"type":"xml"})", "invalid_value"},
        {R"("response_format":{"type":"json_schema"})", "invalid_type"},
        {R"("response_format":{"type":"json_schema","json_schema":{"schema":5}})", "invalid_type"},
        {R"("response_format":{"type":"json_schema","json_schema":{"name":3,"schema":{}}})", "invalid_type"},
        {R"("response_format":{"type":"json_schema","json_schema":{"strict":"yes","schema":{}}})", "invalid_type"},
        {R"("response_format":{"type":"json_schema","json_schema":{"schema":{"type":"string","pattern":"a+"}}})", "invalid_schema"},
        {R"("response_format":{"type":"json_schema","json_schema":{"schema":{"$ref":"#/nowhere"}}})", "invalid_schema"},
        {R"("grammar":"root ::= [a-")", "invalid_grammar"},
        {R"("grammar":5)", "invalid_type"},
        {R"("grammar":"root ::= \"a\"","response_format":{"type":"json_object"})", "invalid_value"},
    };
    for (const auto& [field, code] : cases) {
        const std::string body = "{" + m + field + "}";
        EXPECT_EQ(error_of(Api::OpenAIChat, body), std::make_pair(400, std::string(code))) << body;
    }
    EXPECT_EQ(error_of(Api::OllamaGenerate, R"({"prompt":"x","format":5})").first, 400);
    EXPECT_EQ(error_of(Api::OllamaGenerate, R"({"prompt":"x","format":{"minimum":3}})"),
              std::make_pair(400, std::string("invalid_schema")));
    try {
        parse(Api::OpenAIChat, "{" + m + R"("response_format":{"type":"json_schema","json_schema":{"schema":{"type":"string","pattern":"a+"}}}})");
    } catch (const ApiError& e) {
        EXPECT_NE(std::string(e.what()).find("pattern"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("response_format.json_schema.schema"), std::string::npos) << e.what();
    }
}

TEST(ServeRequest, Logprobs) {
    const std::string m = R"("messages":[{"role":"user","content":"x"}])";
    EXPECT_EQ(parse(Api::OpenAIChat, "{" + m + "}").top_logprobs, -1);
    EXPECT_EQ(parse(Api::OpenAIChat, "{" + m + R"(,"logprobs":false})").top_logprobs, -1);
    EXPECT_EQ(parse(Api::OpenAIChat, "{" + m + R"(,"logprobs":true})").top_logprobs, 0);
    EXPECT_EQ(parse(Api::OpenAIChat, "{" + m + R"(,"logprobs":true,"top_logprobs":20})").top_logprobs, 20);
    EXPECT_EQ(parse(Api::OpenAICompletion, R"({"prompt":"x","logprobs":3})").top_logprobs, 3);
    EXPECT_EQ(parse(Api::OpenAICompletion, R"({"prompt":"x","logprobs":null})").top_logprobs, -1);
    for (const std::string f : {R"("top_logprobs":2)", R"("logprobs":true,"top_logprobs":21)", R"("logprobs":1)",
                                R"("logprobs":true,"top_logprobs":-1)"})
        EXPECT_EQ(error_of(Api::OpenAIChat, "{" + m + "," + f + "}").first, 400) << f;
    EXPECT_EQ(error_of(Api::OpenAICompletion, R"({"prompt":"x","logprobs":6})").first, 400);
    EXPECT_EQ(error_of(Api::OpenAICompletion, R"({"prompt":"x","logprobs":true})").first, 400);
}

TEST(ServeFormat, LogprobBodies) {
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<LogprobEntry> entries = {{"Hi", -0.25f, {{"Hi", -0.25f}, {"Yo", -1.5f}}},
                                               {"\xC3\xA9", -inf, {}}};
    const auto chat = json::parse(dump_json(chat_logprobs(entries)));
    ASSERT_EQ(chat["content"].size(), 2u);
    EXPECT_EQ(chat["content"][0]["token"], "Hi");
    EXPECT_FLOAT_EQ(chat["content"][0]["logprob"].get<float>(), -0.25f);
    EXPECT_EQ(chat["content"][0]["bytes"], json::array({72, 105}));
    EXPECT_EQ(chat["content"][0]["top_logprobs"][1]["token"], "Yo");
    EXPECT_EQ(chat["content"][1]["bytes"], json::array({0xC3, 0xA9}));
    EXPECT_EQ(chat["content"][1]["logprob"], -9999.0);  // -inf is not JSON
    EXPECT_TRUE(chat["refusal"].is_null());
    const auto completion = json::parse(dump_json(completion_logprobs(entries, 10)));
    EXPECT_EQ(completion["tokens"], json::array({"Hi", "\xC3\xA9"}));
    EXPECT_EQ(completion["text_offset"], json::array({10, 12}));
    EXPECT_FLOAT_EQ(completion["top_logprobs"][0]["Yo"].get<float>(), -1.5f);
    EXPECT_TRUE(completion["top_logprobs"][1].is_object());
}

TEST(ServeRequest, ShowRequest) {
    EXPECT_EQ(parse_show_request(R"({"model":"a"})"), "a");
    EXPECT_EQ(parse_show_request(R"({"name":"b"})"), "b");
    EXPECT_THROW(parse_show_request("{}"), ApiError);
    EXPECT_THROW(parse_show_request("[]"), ApiError);
    EXPECT_THROW(parse_show_request(R"({"model":1})"), ApiError);
}

static_assert(std::is_base_of_v<Error, ApiError>);

TEST(ServeRequest, ApiErrorIsAHearthErrorThatKeepsItsStatus) {
    // A caller that only reports errors catches it as hearth::Error; the server still gets the
    // status and code from it.
    try {
        parse(Api::OpenAIChat, "{not json");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        const auto* api = dynamic_cast<const ApiError*>(&e);
        ASSERT_NE(api, nullptr) << e.what();
        EXPECT_EQ(api->status, 400);
        EXPECT_EQ(api->type, "invalid_request_error");
        EXPECT_FALSE(std::string(e.what()).empty());
    }
}

TEST(ServeFormat, SseAndNdjsonFraming) {
    nlohmann::ordered_json j = {{"a", 1}, {"b", "x\ny"}};
    EXPECT_EQ(sse_event(j), "data: {\"a\":1,\"b\":\"x\\ny\"}\n\n");
    EXPECT_EQ(sse_done(), "data: [DONE]\n\n");
    EXPECT_EQ(ndjson_line(j), "{\"a\":1,\"b\":\"x\\ny\"}\n");
    // Invalid UTF-8 from a model becomes U+FFFD instead of an exception.
    EXPECT_EQ(dump_json(nlohmann::ordered_json(std::string("a\xff"))), "\"a\xef\xbf\xbd\"");
}

TEST(ServeFormat, OpenAIBodies) {
    const ResponseMeta m{"chatcmpl-1", "tiny", 1700000000};
    const Usage u{5, 3};
    nlohmann::ordered_json c = chat_completion(m, ChatReply{"Hello", "", {}}, "stop", u);
    EXPECT_EQ(c["object"], "chat.completion");
    EXPECT_EQ(c["choices"][0]["message"]["content"], "Hello");
    EXPECT_EQ(c["choices"][0]["finish_reason"], "stop");
    EXPECT_EQ(c["usage"]["total_tokens"], 8);
    EXPECT_FALSE(c["choices"][0]["message"].contains("reasoning_content"));  // only when there is reasoning
    EXPECT_FALSE(c["choices"][0]["message"].contains("tool_calls"));
    const std::string role = "assistant", text = "He", finish = "length";
    nlohmann::ordered_json first = chat_chunk(m, &role, nullptr, nullptr, false);
    EXPECT_EQ(first["choices"][0]["delta"], json({{"role", "assistant"}}));
    EXPECT_TRUE(first["choices"][0]["finish_reason"].is_null());
    EXPECT_FALSE(first.contains("usage"));
    nlohmann::ordered_json last = chat_chunk(m, nullptr, nullptr, &finish, true);
    EXPECT_TRUE(last["choices"][0]["delta"].empty());
    EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
    EXPECT_TRUE(last["usage"].is_null());
    nlohmann::ordered_json uc = usage_chunk(m, "chat.completion.chunk", u);
    EXPECT_TRUE(uc["choices"].empty());
    EXPECT_EQ(uc["usage"]["completion_tokens"], 3);
    nlohmann::ordered_json tc = text_completion(m, "xyz", "length", u);
    EXPECT_EQ(tc["object"], "text_completion");
    EXPECT_EQ(tc["choices"][0]["text"], "xyz");
    nlohmann::ordered_json e = openai_error("bad", "invalid_request_error", "invalid_value");
    EXPECT_EQ(e.dump(), R"({"error":{"message":"bad","type":"invalid_request_error","param":null,"code":"invalid_value"}})");
    EXPECT_EQ(ollama_error("bad").dump(), R"({"error":"bad"})");
}

// Reasoning and tool calls, as OpenAI (reasoning_content, tool_calls with string arguments)
// and Ollama (thinking, tool_calls with object arguments) clients read them.
TEST(ServeFormat, ReasoningAndToolCalls) {
    const ResponseMeta m{"chatcmpl-7", "tiny", 1700000000};
    const ChatReply reply{"It is sunny.", "The user wants weather.", {{"", "get_weather", R"({"city":"Paris"})"}}};
    nlohmann::ordered_json c = chat_completion(m, reply, "tool_calls", Usage{1, 2});
    const auto& msg = c["choices"][0]["message"];
    EXPECT_EQ(msg["content"], "It is sunny.");
    EXPECT_EQ(msg["reasoning_content"], "The user wants weather.");
    ASSERT_EQ(msg["tool_calls"].size(), 1u);
    EXPECT_EQ(msg["tool_calls"][0]["type"], "function");
    EXPECT_EQ(msg["tool_calls"][0]["id"], "call_chatcmpl-7_0");
    EXPECT_EQ(msg["tool_calls"][0]["function"]["name"], "get_weather");
    EXPECT_EQ(msg["tool_calls"][0]["function"]["arguments"], R"({"city":"Paris"})");
    EXPECT_FALSE(msg["tool_calls"][0].contains("index"));
    EXPECT_EQ(c["choices"][0]["finish_reason"], "tool_calls");

    const std::string thought = "hmm";
    nlohmann::ordered_json d = chat_chunk(m, nullptr, nullptr, nullptr, false, &thought);
    EXPECT_EQ(d["choices"][0]["delta"], json({{"reasoning_content", "hmm"}}));
    nlohmann::ordered_json calls = chat_chunk(m, nullptr, nullptr, nullptr, false, nullptr, &reply.tool_calls, 2);
    EXPECT_EQ(calls["choices"][0]["delta"]["tool_calls"][0]["index"], 2);

    nlohmann::ordered_json o = ollama_piece(Api::OllamaChat, "tiny", "t", reply);
    EXPECT_EQ(o["message"]["thinking"], "The user wants weather.");
    EXPECT_EQ(o["message"]["tool_calls"][0]["function"]["arguments"]["city"], "Paris");  // an object
    const ChatReply broken{"", "", {{"", "f", "{not json"}}};
    EXPECT_EQ(ollama_piece(Api::OllamaChat, "tiny", "t", broken)["message"]["tool_calls"][0]["function"]["arguments"],
              "{not json");
    nlohmann::ordered_json g = ollama_piece(Api::OllamaGenerate, "tiny", "t", ChatReply{"a", "b", {}});
    EXPECT_EQ(g["response"], "a");
    EXPECT_EQ(g["thinking"], "b");
}

TEST(ServeRequest, ThinkAndReasoningEffort) {
    GenerationRequest r = parse_generation_request(Api::OllamaChat, R"({"messages":[{"role":"user","content":"x"}],"think":false})");
    ASSERT_TRUE(r.think.has_value());
    EXPECT_FALSE(*r.think);
    r = parse_generation_request(Api::OllamaChat, R"({"messages":[{"role":"user","content":"x"}],"think":"high"})");
    EXPECT_TRUE(*r.think);
    EXPECT_EQ(r.reasoning_effort, "high");
    EXPECT_THROW(parse_generation_request(Api::OllamaChat, R"({"messages":[{"role":"user","content":"x"}],"think":"max"})"),
                 ApiError);
    EXPECT_THROW(parse_generation_request(Api::OllamaChat, R"({"messages":[{"role":"user","content":"x"}],"think":1})"),
                 ApiError);
    r = parse_generation_request(Api::OpenAIChat,
                                 R"({"messages":[{"role":"user","content":"x"}],"reasoning_effort":"low",)"
                                 R"("chat_template_kwargs":{"enable_thinking":false,"x":1}})");
    EXPECT_EQ(r.reasoning_effort, "low");
    EXPECT_FALSE(*r.think);
    EXPECT_EQ(r.template_kwargs["x"], 1);
    EXPECT_THROW(parse_generation_request(Api::OpenAIChat,
                                          R"({"messages":[{"role":"user","content":"x"}],"chat_template_kwargs":[1]})"),
                 ApiError);
    r = parse_generation_request(Api::OpenAIChat, R"({"messages":[{"role":"user","content":"x"}]})");
    EXPECT_FALSE(r.think.has_value());
}

TEST(ServeFormat, OllamaBodies) {
    nlohmann::ordered_json p = ollama_piece(Api::OllamaChat, "tiny", "2026-01-01T00:00:00Z", ChatReply{"Hi", "", {}});
    EXPECT_EQ(p.dump(),
              R"({"model":"tiny","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":"Hi"},"done":false})");
    nlohmann::ordered_json f =
        ollama_final(Api::OllamaGenerate, "tiny", "t", ChatReply{}, "length", Usage{4, 2}, Timings{100, 0, 30, 60});
    EXPECT_EQ(f["response"], "");
    EXPECT_EQ(f["done"], true);
    EXPECT_EQ(f["done_reason"], "length");
    EXPECT_EQ(f["total_duration"], 100);
    EXPECT_EQ(f["prompt_eval_count"], 4);
    EXPECT_EQ(f["eval_count"], 2);
    EXPECT_EQ(f["eval_duration"], 60);
    const std::string t = rfc3339_now();
    EXPECT_EQ(t.size(), 30u);
    EXPECT_EQ(t.back(), 'Z');
    EXPECT_EQ(t[10], 'T');
}


TEST(ServeRequest, ToolsAndToolMessages) {
    GenerationRequest r = parse(Api::OpenAIChat, R"({
        "messages": [{"role": "user", "content": "Weather in Oslo?"},
                     {"role": "assistant", "content": null, "reasoning_content": "call it",
                      "tool_calls": [{"id": "call_1", "type": "function",
                                      "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\", \"days\": 2}"}}]},
                     {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 4}"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                   "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "parallel_tool_calls": false})");
    ASSERT_EQ(r.messages.size(), 3u);
    const auto& call = r.messages[1]["tool_calls"][0];
    EXPECT_EQ(call["id"], "call_1");
    EXPECT_EQ(call["function"]["arguments"]["city"], "Oslo");  // an object, as templates expect
    EXPECT_EQ(call["function"]["arguments"].begin().key(), "city");  // key order kept
    EXPECT_TRUE(r.messages[1]["content"].is_null());
    EXPECT_EQ(r.messages[1]["reasoning_content"], "call it");
    EXPECT_EQ(r.messages[2]["tool_call_id"], "call_1");
    EXPECT_EQ(r.messages[2]["name"], "get_weather");  // filled from the call
    ASSERT_TRUE(r.tools.is_array());
    EXPECT_EQ(r.tools[0]["function"]["parameters"]["properties"].begin().key(), "city");
    EXPECT_EQ(r.tool_choice, ToolChoice::Named);
    EXPECT_EQ(r.tool_choice_name, "get_weather");
    EXPECT_FALSE(r.parallel_tool_calls);

    for (const char* c : {"auto", "none", "required"}) {
        GenerationRequest q = parse(Api::OpenAIChat, std::string(R"({"messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": ")") + c + "\"}");
        EXPECT_EQ(q.tool_choice, std::string(c) == "auto" ? ToolChoice::Auto
                                 : std::string(c) == "none" ? ToolChoice::None : ToolChoice::Required);
    }
    EXPECT_TRUE(parse(Api::OpenAIChat, R"({"messages": [{"role": "user", "content": "x"}], "tools": []})").tools.is_null());
}

TEST(ServeRequest, OllamaToolsAndToolMessages) {
    GenerationRequest r = parse(Api::OllamaChat, R"({
        "messages": [{"role": "user", "content": "Weather?"},
                     {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]},
                     {"role": "tool", "tool_name": "get_weather", "content": "4 C"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]})");
    const auto& call = r.messages[1]["tool_calls"][0];
    EXPECT_EQ(call["id"], "call_1_0");  // Ollama sends no ids
    EXPECT_EQ(call["type"], "function");
    EXPECT_EQ(call["function"]["arguments"]["city"], "Oslo");
    EXPECT_EQ(r.messages[2]["name"], "get_weather");
    EXPECT_FALSE(r.messages[2].contains("tool_call_id"));
    EXPECT_EQ(r.tools.size(), 1u);
}

TEST(ServeRequest, RejectsBadToolsAndToolMessages) {
    const std::string user = R"({"role":"user","content":"x"})";
    const std::string tool = R"([{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}])";
    const std::string call = R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]})";
    const std::string bad[] = {
        // tools
        R"({"messages":[)" + user + R"(],"tools":{}})",
        R"({"messages":[)" + user + R"(],"tools":[1]})",
        R"({"messages":[)" + user + R"(],"tools":[{"type":"function"}]})",
        R"({"messages":[)" + user + R"(],"tools":[{"type":"function","function":{}}]})",
        R"({"messages":[)" + user + R"(],"tools":[{"type":"function","function":{"name":""}}]})",
        R"({"messages":[)" + user + R"(],"tools":[{"type":"retrieval","function":{"name":"f"}}]})",
        R"({"messages":[)" + user + R"(],"tools":[{"type":"function","function":{"name":"f","parameters":"{}"}}]})",
        R"({"messages":[)" + user + R"(],"tools":[{"type":"function","function":{"name":"f","description":3}}]})",
        // tool_choice
        R"({"messages":[)" + user + R"(],"tools":)" + tool + R"(,"tool_choice":"always"})",
        R"({"messages":[)" + user + R"(],"tools":)" + tool + R"(,"tool_choice":{"type":"function","function":{"name":"g"}}})",
        R"({"messages":[)" + user + R"(],"tools":)" + tool + R"(,"tool_choice":{"type":"function"}})",
        R"({"messages":[)" + user + R"(],"tools":)" + tool + R"(,"tool_choice":5})",
        R"({"messages":[)" + user + R"(],"tool_choice":"required"})",
        R"({"messages":[)" + user + R"(],"tools":)" + tool + R"(,"parallel_tool_calls":"yes"})",
        // tool messages and calls
        R"({"messages":[)" + user + R"(,{"role":"tool","content":"4"}]})",
        R"({"messages":[)" + user + R"(,{"role":"tool","tool_call_id":"nope","content":"4"}]})",
        R"({"messages":[)" + user + "," + call + R"(,{"role":"tool","tool_call_id":"c2","content":"4"}]})",
        R"({"messages":[)" + user + R"(,{"role":"tool","tool_call_id":"c1","content":"4"},)" + call + "]}",
        R"({"messages":[{"role":"assistant","tool_calls":{}}]})",
        R"({"messages":[{"role":"assistant","tool_calls":[1]}]})",
        R"({"messages":[{"role":"assistant","tool_calls":[{"id":"a","function":{"arguments":"{}"}}]}]})",
        R"({"messages":[{"role":"assistant","tool_calls":[{"id":"a","function":{"name":"f","arguments":"{not json"}}]}]})",
        R"({"messages":[{"role":"assistant","tool_calls":[{"id":"a","function":{"name":"f","arguments":"[1]"}}]}]})",
        R"({"messages":[{"role":"assistant","tool_calls":[{"id":"a","function":{"name":"f","arguments":7}}]}]})",
        R"({"messages":[{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":"{}"}}]}]})",
        R"({"messages":[{"role":"assistant","tool_calls":[{"id":"a","type":"code","function":{"name":"f"}}]}]})",
    };
    for (const std::string& body : bad) {
        auto [status, code] = error_of(Api::OpenAIChat, body);
        EXPECT_EQ(status, 400) << body;
        EXPECT_FALSE(code.empty()) << body;
    }
    // Ollama: a tool_call_id, when given, must still match.
    EXPECT_EQ(error_of(Api::OllamaChat, R"({"messages":[)" + user + R"(,{"role":"tool","tool_call_id":"x","content":"4"}]})").first, 400);
    EXPECT_EQ(error_of(Api::OllamaChat, R"({"messages":[)" + user + R"(],"tools":"f"})").first, 400);
    // The message names the problem.
    try {
        parse(Api::OpenAIChat, R"({"messages":[)" + user + R"(],"tools":)" + tool + R"(,"tool_choice":{"type":"function","function":{"name":"g"}}})");
        ADD_FAILURE();
    } catch (const ApiError& e) {
        EXPECT_NE(std::string(e.what()).find("'g'"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace hearth::serve
