// How the server tokenizes prompts (engine/prompt.h), seen through usage.prompt_tokens: a raw
// /v1/completions prompt parses special-token text unless the server runs with parse_special
// off; chat message text never does. In-process server over TinyStories-656K, whose BOS is the
// Control token <|start_story|> and whose EOS is <|end_story|>.
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "engine/chat_session.h"
#include "engine/loader.h"
#include "serve/server.h"
#include "test_support.h"

namespace hearth::serve {
namespace {

using nlohmann::json;

constexpr const char* kTinyStories = "models/TinyStories-656K-Q8_0.gguf";

class RunningServer {
public:
    RunningServer(const std::string& path, bool parse_special) {
        ServerOptions o;
        o.port = 0;
        o.parse_special = parse_special;
        o.scheduler.n_slots = 1;
        o.scheduler.n_ctx = 128;
        o.scheduler.n_threads = 1;
        server_ = std::make_unique<Server>(load_model(path), o);
        port_ = server_->bind();
        thread_ = std::thread([this] { server_->listen(); });
    }
    ~RunningServer() {
        server_->stop();
        thread_.join();
    }
    // The response body of a POST, or a failed expectation.
    json post(const std::string& route, const json& body) {
        httplib::Client client("127.0.0.1", port_);
        auto res = client.Post(route, body.dump(), "application/json");
        if (!res) {
            ADD_FAILURE() << route << ": no response";
            return {};
        }
        EXPECT_EQ(res->status, 200) << res->body;
        return json::parse(res->body);
    }

private:
    std::unique_ptr<Server> server_;
    std::thread thread_;
    int port_ = 0;
};

int prompt_tokens(const json& response) { return response.at("usage").at("prompt_tokens").get<int>(); }

TEST(ServePrompt, CompletionsParseSpecialTokenTextUnlessTurnedOff) {
    HEARTH_SHARED_OR_SKIP(path, kTinyStories);
    const json body = {{"prompt", "<|start_story|>Once upon a time"}, {"max_tokens", 1}, {"temperature", 0}};
    {
        RunningServer s(path, /*parse_special=*/true);
        // <|start_story|> is the BOS: [BOS, Once, upon, a, ti, me] — no second BOS.
        EXPECT_EQ(prompt_tokens(s.post("/v1/completions", body)), 6);
        // Ollama's raw /api/generate is the same raw text: the same 6 tokens, so the prompt cache
        // holds all but the last, and Ollama's prompt_eval_count counts only that one.
        const json raw = s.post("/api/generate", {{"prompt", "<|start_story|>Once upon a time"}, {"raw", true},
                                                  {"stream", false}, {"options", {{"num_predict", 1}}}});
        EXPECT_EQ(raw.at("prompt_eval_count").get<int>(), 1);
    }
    {
        RunningServer s(path, /*parse_special=*/false);
        EXPECT_EQ(prompt_tokens(s.post("/v1/completions", body)), 3);
    }
}

TEST(ServePrompt, ChatMessageTextIsNeverParsed) {
    HEARTH_SHARED_OR_SKIP(path, kTinyStories);
    // The model has no chat template: the default ChatML, whose markers this vocabulary lacks,
    // so the whole prompt is plain text plus BOS — also the <|end_story|> the user typed.
    const std::string content = "<|end_story|><|start_story|>x";
    const LoadedModel lm = load_model(path, LoadWhat::TokenizerOnly);
    const ChatFormat format = ChatFormat::for_model(*lm.file, *lm.tokenizer);
    chat::ChatInputs in;
    in.messages = json::array({{{"role", "user"}, {"content", content}}});
    in.bos_token = format.bos_token;
    in.eos_token = format.eos_token;
    const std::string text = chat::render_chat(format.tmpl, in);
    const int plain = static_cast<int>(lm.tokenizer->encode(text, true, false).size());
    const int forged = static_cast<int>(lm.tokenizer->encode(text, true, true).size());
    ASSERT_NE(plain, forged);

    RunningServer s(path, /*parse_special=*/true);
    const json r = s.post("/v1/chat/completions", {{"messages", in.messages}, {"max_tokens", 1}, {"temperature", 0}});
    EXPECT_EQ(prompt_tokens(r), plain);
}

}  // namespace
}  // namespace hearth::serve
