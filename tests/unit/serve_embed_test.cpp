// The embedding routes: request bodies (every accepted form, every bad one -> 400 naming the
// field), base64, and a live server whose vectors equal `hearth embed --json`'s.
#include <cstring>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "engine/loader.h"
#include "process.h"
#include "serve/embed_request.h"
#include "serve/server.h"
#include "test_support.h"

namespace hearth::serve {
namespace {

using json = nlohmann::json;

void expect_bad(EmbedApi api, const std::string& body, const std::string& message) {
    try {
        parse_embed_request(api, body);
        ADD_FAILURE() << "accepted: " << body;
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status, 400) << body;
        EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << body << " -> " << e.what();
    }
}

TEST(EmbedRequest, OpenAIInputForms) {
    EmbedRequest r = parse_embed_request(EmbedApi::OpenAI, R"({"model":"m","input":"hello"})");
    ASSERT_EQ(r.inputs.size(), 1u);
    EXPECT_EQ(r.inputs[0].text, "hello");
    EXPECT_FALSE(r.base64);
    EXPECT_FALSE(r.truncate);
    r = parse_embed_request(EmbedApi::OpenAI, R"({"input":["a","b","c"],"encoding_format":"base64"})");
    ASSERT_EQ(r.inputs.size(), 3u);
    EXPECT_EQ(r.inputs[2].text, "c");
    EXPECT_TRUE(r.base64);
    r = parse_embed_request(EmbedApi::OpenAI, R"({"input":[1,2,3]})");
    ASSERT_EQ(r.inputs.size(), 1u);
    EXPECT_TRUE(r.inputs[0].is_tokens);
    EXPECT_EQ(r.inputs[0].tokens, (std::vector<int32_t>{1, 2, 3}));
    r = parse_embed_request(EmbedApi::OpenAI, R"({"input":[[1,2],[3]],"encoding_format":"float","dimensions":64})");
    ASSERT_EQ(r.inputs.size(), 2u);
    EXPECT_EQ(r.inputs[1].tokens, (std::vector<int32_t>{3}));
    EXPECT_EQ(r.dimensions, 64);
}

TEST(EmbedRequest, OllamaForms) {
    EmbedRequest r = parse_embed_request(EmbedApi::OllamaEmbed, R"({"model":"m","input":["x","y"],"keep_alive":"5m"})");
    EXPECT_EQ(r.inputs.size(), 2u);
    EXPECT_TRUE(r.truncate);  // Ollama's default
    r = parse_embed_request(EmbedApi::OllamaEmbed, R"({"input":"x","truncate":false,"keep_alive":0,"options":{}})");
    EXPECT_FALSE(r.truncate);
    r = parse_embed_request(EmbedApi::OllamaEmbed, R"({"model":"m"})");  // load request
    EXPECT_TRUE(r.inputs.empty());
    r = parse_embed_request(EmbedApi::OllamaEmbeddings, R"({"model":"m","prompt":"hi"})");
    ASSERT_EQ(r.inputs.size(), 1u);
    EXPECT_EQ(r.inputs[0].text, "hi");
}

TEST(EmbedRequest, BadBodiesAre400NamingTheField) {
    using A = EmbedApi;
    expect_bad(A::OpenAI, "not json", "not valid JSON");
    expect_bad(A::OpenAI, "[1]", "must be a JSON object");
    expect_bad(A::OpenAI, R"({"model":"m"})", "'input' is required");
    expect_bad(A::OpenAI, R"({"input":""})", "'input' is an empty string");
    expect_bad(A::OpenAI, R"({"input":[]})", "'input' is an empty array");
    expect_bad(A::OpenAI, R"({"input":42})", "'input' must be a string, an array of strings");
    expect_bad(A::OpenAI, R"({"input":{"text":"x"}})", "got an object");
    expect_bad(A::OpenAI, R"({"input":["a",""]})", "'input[1]' is an empty string");
    expect_bad(A::OpenAI, R"({"input":["a",1]})", "'input[1]' is a number");
    expect_bad(A::OpenAI, R"({"input":[1,"a"]})", "'input[1]' must be a token id");
    expect_bad(A::OpenAI, R"({"input":[1,-2]})", "token ids are not negative");
    expect_bad(A::OpenAI, R"({"input":[1,2.5]})", "'input[1]' must be a token id");
    expect_bad(A::OpenAI, R"({"input":[[1],[]]})", "'input[1]' is an empty token array");
    expect_bad(A::OpenAI, R"({"input":[[1],["a"]]})", "'input[1][0]' must be a token id");
    expect_bad(A::OpenAI, R"({"input":[[[1]]]})", "'input[0][0]' must be a token id");
    expect_bad(A::OpenAI, R"({"input":[[1],"a"]})", "'input[1]' is a string");
    expect_bad(A::OpenAI, R"({"input":[null]})", "'input[0]' is null");
    expect_bad(A::OpenAI, R"({"input":[4294967296]})", "not a token id");
    expect_bad(A::OpenAI, R"({"input":"x","encoding_format":"int8"})", "'encoding_format' must be \"float\" or \"base64\"");
    expect_bad(A::OpenAI, R"({"input":"x","encoding_format":1})", "'encoding_format' must be a string");
    expect_bad(A::OpenAI, R"({"input":"x","dimensions":0})", "'dimensions' must be a positive integer");
    expect_bad(A::OpenAI, R"({"input":"x","model":3})", "'model' must be a string");
    expect_bad(A::OpenAI, R"({"input":"x","truncate":"yes"})", "'truncate' must be a boolean");
    std::string many = R"({"input":[)";
    for (int i = 0; i < 2049; ++i) many += i ? ",\"a\"" : "\"a\"";
    expect_bad(A::OpenAI, many + "]}", "more than 2048");

    expect_bad(A::OllamaEmbed, R"({"input":""})", "'input' is an empty string");
    expect_bad(A::OllamaEmbed, R"({"input":[]})", "'input' is an empty array");
    expect_bad(A::OllamaEmbed, R"({"input":[1,2]})", "'input[0]' is a number: 'input' must be a string or an array of strings");
    expect_bad(A::OllamaEmbed, R"({"input":[["a"]]})", "'input[0]' is an array");
    expect_bad(A::OllamaEmbed, R"({"input":"x","truncate":1})", "'truncate' must be a boolean");
    expect_bad(A::OllamaEmbed, R"({"input":"x","keep_alive":[]})", "'keep_alive' must be a duration string");
    expect_bad(A::OllamaEmbed, R"({"input":"x","options":"fast"})", "'options' must be an object");
    expect_bad(A::OllamaEmbeddings, R"({"prompt":""})", "'prompt' is an empty string");
    expect_bad(A::OllamaEmbeddings, R"({"prompt":["a"]})", "'prompt' must be a string, got an array");
}

std::vector<float> decode_base64_floats(const std::string& s) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        return c == '+' ? 62 : 63;
    };
    std::string bytes;
    for (size_t i = 0; i + 3 < s.size(); i += 4) {
        const uint32_t n = (value(s[i]) << 18) | (value(s[i + 1]) << 12) | ((s[i + 2] == '=' ? 0 : value(s[i + 2])) << 6) |
                           (s[i + 3] == '=' ? 0 : value(s[i + 3]));
        bytes += static_cast<char>(n >> 16);
        if (s[i + 2] != '=') bytes += static_cast<char>((n >> 8) & 255);
        if (s[i + 3] != '=') bytes += static_cast<char>(n & 255);
    }
    std::vector<float> v(bytes.size() / 4);
    std::memcpy(v.data(), bytes.data(), v.size() * 4);
    return v;
}

TEST(EmbedRequest, Base64IsTheLittleEndianFloats) {
    EXPECT_EQ(base64_floats({1.0f}), "AACAPw==");  // 00 00 80 3f
    for (size_t n : {1, 2, 3, 7}) {
        std::vector<float> v;
        for (size_t i = 0; i < n; ++i) v.push_back(0.1f * static_cast<float>(i) - 0.37f);
        EXPECT_EQ(decode_base64_floats(base64_floats(v)), v) << n;
    }
}

// ---- a live server on stories260K ----

class EmbedServer : public ::testing::Test {
protected:
    void SetUp() override {
        model_path_ = test::shared_path("models/stories260K.gguf");
        if (model_path_.empty()) GTEST_SKIP() << "../shared/models/stories260K.gguf not found (tests that need ../shared skip without it)";
        ServerOptions o;
        o.port = 0;
        o.scheduler.n_slots = 2;
        o.scheduler.n_ctx = 64;
        o.scheduler.n_threads = 2;
        o.alias = "stories";
        server_ = std::make_unique<Server>(load_model(model_path_), o);
        port_ = server_->bind();
        thread_ = std::thread([this] { server_->listen(); });
        client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
        client_->set_read_timeout(60);
    }
    void TearDown() override {
        if (!server_) return;
        server_->stop();
        thread_.join();
    }
    json post(const std::string& path, const json& body, int expect_status = 200) {
        auto res = client_->Post(path, body.dump(), "application/json");
        EXPECT_TRUE(res) << path;
        if (!res) return {};
        EXPECT_EQ(res->status, expect_status) << path << " " << body.dump() << " -> " << res->body;
        return json::parse(res->body);
    }
    // hearth embed --json, with the server's context.
    json cli(const std::vector<std::string>& extra) {
        std::vector<std::string> argv{HEARTH_BINARY, "embed", "-m", model_path_, "-c", "64", "--json"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        test::ProcessResult r = test::run_process(argv);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return r.exit_code == 0 ? json::parse(r.out) : json();
    }

    std::string model_path_;
    std::unique_ptr<Server> server_;
    int port_ = 0;
    std::thread thread_;
    std::unique_ptr<httplib::Client> client_;
};

std::vector<float> floats(const json& j) { return j.get<std::vector<float>>(); }

TEST_F(EmbedServer, CliOpenAIAndOllamaGiveTheSameVector) {
    const std::string text = "Once upon a time, there was a little dog.";
    const json c = cli({"-p", text});
    ASSERT_FALSE(c.is_null());
    EXPECT_EQ(c["pooling"], "mean");  // stories260K names no pooling
    const std::vector<float> expected = floats(c["embeddings"][0]);
    ASSERT_EQ(expected.size(), static_cast<size_t>(c["dim"].get<int>()));

    const json o = post("/v1/embeddings", {{"model", "stories"}, {"input", text}});
    EXPECT_EQ(o["object"], "list");
    EXPECT_EQ(o["model"], "stories");
    EXPECT_EQ(o["data"][0]["object"], "embedding");
    EXPECT_EQ(o["data"][0]["index"], 0);
    EXPECT_EQ(floats(o["data"][0]["embedding"]), expected);
    EXPECT_EQ(o["usage"]["prompt_tokens"], c["n_tokens"]);
    EXPECT_EQ(o["usage"]["total_tokens"], c["n_tokens"]);

    const json b = post("/v1/embeddings", {{"input", json::array({text})}, {"encoding_format", "base64"}});
    EXPECT_EQ(decode_base64_floats(b["data"][0]["embedding"].get<std::string>()), expected);

    const json e = post("/api/embed", {{"model", "stories"}, {"input", text}});
    EXPECT_EQ(e["model"], "stories");
    EXPECT_EQ(floats(e["embeddings"][0]), expected);
    EXPECT_EQ(e["prompt_eval_count"], c["n_tokens"]);
    EXPECT_GT(e["total_duration"].get<int64_t>(), 0);
    EXPECT_EQ(e["load_duration"], 0);

    // The legacy route is not normalised (as Ollama's): the same direction.
    const json l = post("/api/embeddings", {{"model", "stories"}, {"prompt", text}});
    std::vector<float> legacy = floats(l["embedding"]);
    double norm = 0;
    for (float v : legacy) norm += double(v) * v;
    EXPECT_GT(std::abs(std::sqrt(norm) - 1.0), 1e-3);
    for (float& v : legacy) v = static_cast<float>(v / std::sqrt(norm));
    for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(legacy[i], expected[i], 1e-6);
}

TEST_F(EmbedServer, ManyInputsEqualOneAtATime) {
    const std::vector<std::string> texts = {"The cat sat.", "A big red ball rolled away from Tom.", "Lily"};
    const json all = post("/api/embed", {{"input", texts}});
    ASSERT_EQ(all["embeddings"].size(), 3u);
    const json cli_all = cli({"-p", texts[0], "-p", texts[1], "-p", texts[2]});
    for (size_t i = 0; i < texts.size(); ++i) {
        const json one = post("/v1/embeddings", {{"input", texts[i]}});
        const std::vector<float> a = floats(all["embeddings"][i]), b = floats(one["data"][0]["embedding"]);
        ASSERT_EQ(a.size(), b.size());
        for (size_t k = 0; k < a.size(); ++k) EXPECT_NEAR(a[k], b[k], 1e-5) << "input " << i;
        EXPECT_EQ(floats(cli_all["embeddings"][i]), a) << "input " << i;
    }
    // Token ids embed like the text they came from.
    const json tokens = post("/v1/embeddings", {{"input", json::array({json::array({1, 400, 401})})}});
    EXPECT_EQ(tokens["usage"]["prompt_tokens"], 3);
}

TEST_F(EmbedServer, OverLongInputIsA400UnlessTruncated) {
    std::string text;
    for (int i = 0; i < 40; ++i) text += "the dog ran and ";
    const json e = post("/v1/embeddings", {{"input", text}}, 400);
    EXPECT_NE(e["error"]["message"].get<std::string>().find("more than the context of 64"), std::string::npos) << e;
    EXPECT_EQ(e["error"]["code"], "context_length_exceeded");
    const json t = post("/v1/embeddings", {{"input", text}, {"truncate", true}});
    EXPECT_EQ(t["usage"]["prompt_tokens"], 64);
    // Ollama truncates by default, as Ollama does; truncate:false is the error.
    EXPECT_EQ(post("/api/embed", {{"input", text}})["prompt_eval_count"], 64);
    const json f = post("/api/embed", {{"input", text}, {"truncate", false}}, 400);
    EXPECT_NE(f["error"].get<std::string>().find("tokens, more than the context of 64"), std::string::npos) << f;
    // The CLI: an error naming the lengths, then --truncate.
    test::ProcessResult r = test::run_process({HEARTH_BINARY, "embed", "-m", model_path_, "-c", "64", "-p", text});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("more than the context of 64"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--truncate"), std::string::npos) << r.err;
    EXPECT_EQ(cli({"-p", text, "--truncate"})["n_tokens"], 64);
}

TEST_F(EmbedServer, BadBodiesAndValuesAre400) {
    const json a = post("/v1/embeddings", {{"input", json::array({json::array({1}), "x"})}}, 400);
    EXPECT_EQ(a["error"]["type"], "invalid_request_error");
    post("/v1/embeddings", {{"input", "x"}, {"encoding_format", "hex"}}, 400);
    post("/v1/embeddings", {{"input", json::array({1, 999999})}}, 400);  // out of the vocabulary
    post("/v1/embeddings", {{"input", "x"}, {"dimensions", 3}}, 400);
    post("/v1/embeddings", {{"input", "x"}, {"model", "other"}}, 404);
    const json o = post("/api/embed", {{"input", json::array({1})}}, 400);
    EXPECT_TRUE(o["error"].is_string());  // Ollama's error shape
    post("/api/embed", {{"input", ""}}, 400);
    post("/api/embeddings", {{"prompt", 5}}, 400);
    // Ollama's load request: no input, an empty answer.
    EXPECT_EQ(post("/api/embed", {{"model", "stories"}})["embeddings"], json::array());
    // /api/show says which pooling the model uses.
    EXPECT_EQ(post("/api/show", {{"model", "stories"}})["embedding_pooling"], "mean (default: the file names none)");
}

TEST_F(EmbedServer, GenerationStillWorksBesideEmbeddings) {
    std::thread embedder([this] {
        for (int i = 0; i < 5; ++i) post("/api/embed", {{"input", json::array({"one", "two", "three"})}});
    });
    const json g = post("/v1/completions", {{"prompt", "Once upon a time"}, {"max_tokens", 8}, {"temperature", 0}});
    embedder.join();
    EXPECT_GE(g["usage"]["completion_tokens"].get<int>(), 1);
    EXPECT_FALSE(g["choices"][0]["text"].get<std::string>().empty());
}

}  // namespace
}  // namespace hearth::serve
