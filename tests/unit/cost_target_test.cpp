// --target: the same prompts against OpenAI- and Ollama-compatible servers, here a fixture
// server (cpp-httplib) in the test that streams canned responses.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <httplib.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "cost/power.h"
#include "cost/target.h"

using namespace hearth::cost;

namespace {

// Streams `chunks` with a pause between them, so times to first token and rates are measurable.
class FixtureServer {
public:
    FixtureServer() {
        server_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
            remember(req);
            if (fail_status_) {
                res.status = fail_status_;
                res.set_content("{\"error\": \"model not loaded\"}", "application/json");
                return;
            }
            std::vector<std::string> lines;
            for (const char* piece : {"Once", " upon", " a", " time"})
                lines.push_back("data: " + nlohmann::json{{"choices", {{{"delta", {{"content", piece}}}, {"finish_reason", nullptr}}}}}.dump() + "\n\n");
            lines.push_back("data: " + nlohmann::json{{"choices", {{{"delta", nlohmann::json::object()}, {"finish_reason", "length"}}}}}.dump() + "\n\n");
            lines.push_back("data: {\"choices\": [], \"usage\": {\"prompt_tokens\": 12, \"completion_tokens\": 4}}\n\n");
            if (!truncate_) lines.push_back("data: [DONE]\n\n");
            stream(res, lines, "text/event-stream");
        });
        server_.Post("/api/chat", [this](const httplib::Request& req, httplib::Response& res) {
            remember(req);
            std::vector<std::string> lines;
            for (const char* piece : {"Hello", " there", "!"})
                lines.push_back(nlohmann::json{{"message", {{"role", "assistant"}, {"content", piece}}}, {"done", false}}.dump() + "\n");
            lines.push_back(nlohmann::json{{"message", {{"role", "assistant"}, {"content", ""}}},
                                           {"done", true}, {"done_reason", "stop"},
                                           {"prompt_eval_count", 10}, {"prompt_eval_duration", 50000000},
                                           {"eval_count", 3}, {"eval_duration", 30000000}}.dump() + "\n");
            stream(res, lines, "application/x-ndjson");
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ~FixtureServer() {
        server_.stop();
        thread_.join();
    }
    std::string url(const std::string& path = "") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
    nlohmann::json last_request() {
        std::lock_guard lock(mutex_);
        return last_;
    }
    int requests() const { return requests_; }
    int fail_status_ = 0;
    bool truncate_ = false;

private:
    void remember(const httplib::Request& req) {
        std::lock_guard lock(mutex_);
        last_ = nlohmann::json::parse(req.body);
        ++requests_;
    }
    static void stream(httplib::Response& res, std::vector<std::string> lines, const char* type) {
        auto shared = std::make_shared<std::vector<std::string>>(std::move(lines));
        res.set_chunked_content_provider(type, [shared, i = size_t(0)](size_t, httplib::DataSink& sink) mutable {
            if (i < shared->size()) {
                std::this_thread::sleep_for(std::chrono::milliseconds(15));
                const std::string& l = (*shared)[i++];
                sink.write(l.data(), l.size());
            } else {
                sink.done();
            }
            return true;
        });
    }

    httplib::Server server_;
    int port_ = 0;
    std::thread thread_;
    std::mutex mutex_;
    nlohmann::json last_;
    std::atomic<int> requests_{0};
};

std::vector<Prompt> two_prompts() { return {{"a", "short", "Say hi", 0}, {"b", "story", "Tell a story", 6}}; }

}  // namespace

TEST(CostTarget, ParsesUrls) {
    Target t = parse_target("http://127.0.0.1:8080");
    EXPECT_EQ(t.api, TargetApi::OpenAI);
    EXPECT_EQ(t.base, "http://127.0.0.1:8080");
    EXPECT_EQ(t.path, "/v1/chat/completions");
    EXPECT_EQ(t.label, "127.0.0.1:8080");
    t = parse_target("http://localhost:8000/v1/#qwen2.5-0.5b");
    EXPECT_EQ(t.model, "qwen2.5-0.5b");
    EXPECT_EQ(t.label, "localhost:8000/qwen2.5-0.5b");
    t = parse_target("http://localhost:11434/api/chat#llama3.2:1b");
    EXPECT_EQ(t.api, TargetApi::Ollama);
    EXPECT_EQ(t.model, "llama3.2:1b");
    for (const char* bad : {"localhost:8080", "ftp://x:1", "http://", "http://x:1/api/chat", "http://x:1/other",
                            "http://x:1#"})
        EXPECT_THROW(parse_target(bad), hearth::Error) << bad;
}

TEST(CostTarget, OpenAiStreamIsTimedAndCounted) {
    FixtureServer server;
    RunOptions o;
    o.runs = 2;
    o.n_predict = 9;
    o.sampling.temperature = 0.5f;
    o.sampling.seed = 7;
    auto power = make_fixed_reader(20);
    auto samples = run_target(parse_target(server.url("/v1#tiny")), two_prompts(), o, *power);
    ASSERT_EQ(samples.size(), 4u);
    EXPECT_EQ(server.requests(), 4);
    for (const auto& s : samples) {
        EXPECT_EQ(s.backend, "openai");
        EXPECT_EQ(s.prompt_tokens, 12);
        EXPECT_EQ(s.gen_tokens, 4);
        EXPECT_EQ(s.stop, "length");
        EXPECT_GT(s.ttft_ms, 10);             // first content after one 15 ms pause
        EXPECT_GT(s.tg_ts, 0);
        EXPECT_LT(s.tg_ts, 4 / 0.03);         // 3 tokens after the first, ≥ 45 ms apart
        EXPECT_GT(s.total_ms, s.ttft_ms);
        EXPECT_NEAR(s.avg_watts, 20, 1e-6);
        EXPECT_NEAR(s.wh_per_token, 20 * s.total_ms / 1000 / 3600 / 4, 20 * 0.05 / 3600 / 4);
        EXPECT_FALSE(s.measured);
    }
    EXPECT_EQ(samples[1].prompt_id, "b");
    EXPECT_EQ(samples[2].run, 1);
    nlohmann::json req = server.last_request();
    EXPECT_EQ(req["model"], "tiny");
    EXPECT_EQ(req["stream"], true);
    EXPECT_EQ(req["max_tokens"], 6);  // prompt b sets its own n_predict
    EXPECT_EQ(req["seed"], 8);        // seed + run
    EXPECT_NEAR(req["temperature"].get<double>(), 0.5, 1e-6);
    EXPECT_EQ(req["messages"][0]["content"], "Tell a story");
}

TEST(CostTarget, OllamaStreamUsesTheServersCounts) {
    FixtureServer server;
    RunOptions o;
    o.runs = 1;
    o.n_predict = 5;
    auto power = make_fixed_reader(10);
    auto samples = run_target(parse_target(server.url("/api/chat#llama3.2:1b")), two_prompts(), o, *power);
    ASSERT_EQ(samples.size(), 2u);
    EXPECT_EQ(samples[0].backend, "ollama");
    EXPECT_EQ(samples[0].prompt_tokens, 10);
    EXPECT_EQ(samples[0].gen_tokens, 3);
    EXPECT_NEAR(samples[0].tg_ts, 100.0, 1e-9);  // 3 tokens in 30 ms
    EXPECT_NEAR(samples[0].pp_ts, 200.0, 1e-9);  // 10 tokens in 50 ms
    EXPECT_GT(samples[0].ttft_ms, 10);
    EXPECT_EQ(samples[0].stop, "stop");
    nlohmann::json req = server.last_request();
    EXPECT_EQ(req["model"], "llama3.2:1b");
    EXPECT_EQ(req["options"]["num_predict"], 6);
}

TEST(CostTarget, ServerErrorsAreReported) {
    FixtureServer server;
    RunOptions o;
    auto power = make_fixed_reader(10);
    server.fail_status_ = 503;
    try {
        run_target(parse_target(server.url()), two_prompts(), o, *power);
        FAIL();
    } catch (const hearth::Error& e) {
        EXPECT_NE(std::string(e.what()).find("HTTP 503"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("model not loaded"), std::string::npos) << e.what();
    }
    server.fail_status_ = 0;
    server.truncate_ = true;
    try {
        run_target(parse_target(server.url()), two_prompts(), o, *power);
        FAIL();
    } catch (const hearth::Error& e) {
        EXPECT_NE(std::string(e.what()).find("ended before"), std::string::npos) << e.what();
    }
}

TEST(CostTarget, UnreachableServerIsAnError) {
    // A port that was free a moment ago and that nobody listens on now.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    const int port = ntohs(addr.sin_port);
    ::close(fd);
    RunOptions o;
    auto power = make_fixed_reader(10);
    try {
        run_target(parse_target("http://127.0.0.1:" + std::to_string(port)), two_prompts(), o, *power);
        FAIL();
    } catch (const hearth::Error& e) {
        EXPECT_NE(std::string(e.what()).find("request failed"), std::string::npos) << e.what();
    }
}
