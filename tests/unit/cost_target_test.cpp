// --target: the same prompts against OpenAI- and Ollama-compatible servers, here a fixture
// server (cpp-httplib, cost_fixture_server.h) in the test that streams canned responses and
// fails in every way a server can.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "cost/power.h"
#include "cost/prices.h"
#include "cost/report_html.h"
#include "cost/target.h"
#include "cost_fixture_server.h"

using namespace hearth::cost;

namespace {

using FixtureServer = hearth::test::CostFixtureServer;

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
    o.warmup = false;
    auto power = make_fixed_reader(20);
    auto samples = run_target(parse_target(server.url("/v1#tiny")), two_prompts(), o, *power);
    ASSERT_EQ(samples.size(), 4u);
    EXPECT_EQ(server.requests(), 4);
    for (const auto& s : samples) {
        EXPECT_EQ(s.backend, "openai");
        EXPECT_EQ(s.status, "ok");
        EXPECT_TRUE(s.tokens_reported);
        EXPECT_EQ(s.engine_tg_ts, 0);  // this server reports no timings of its own
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
    EXPECT_TRUE(req.contains("top_p"));
    EXPECT_EQ(req["messages"][0]["content"], "Tell a story");
}

TEST(CostTarget, OllamaStreamUsesTheServersCounts) {
    FixtureServer server;
    RunOptions o;
    o.runs = 1;
    o.n_predict = 5;
    o.sampling.seed = 3;
    auto power = make_fixed_reader(10);
    auto samples = run_target(parse_target(server.url("/api/chat#llama3.2:1b")), two_prompts(), o, *power);
    ASSERT_EQ(samples.size(), 2u);
    EXPECT_EQ(samples[0].backend, "ollama");
    EXPECT_EQ(samples[0].prompt_tokens, 10);
    EXPECT_EQ(samples[0].gen_tokens, 3);
    EXPECT_NEAR(samples[0].engine_tg_ts, 100.0, 1e-9);  // 3 tokens in 30 ms
    EXPECT_NEAR(samples[0].engine_pp_ts, 200.0, 1e-9);  // 10 tokens in 50 ms
    EXPECT_GT(samples[0].ttft_ms, 10);
    // Client side: from the stream's arrival times, not the server's durations.
    EXPECT_GT(samples[0].tg_ts, 0);
    EXPECT_NE(samples[0].tg_ts, samples[0].engine_tg_ts);
    EXPECT_NEAR(samples[0].pp_ts, 10 / (samples[0].ttft_ms / 1000), 1e-6);
    EXPECT_EQ(samples[0].stop, "stop");
    nlohmann::json req = server.last_request();
    EXPECT_EQ(req["model"], "llama3.2:1b");
    EXPECT_EQ(req["options"]["num_predict"], 6);
    // Every sampling setting is sent, not left to the server's defaults.
    for (const char* key : {"temperature", "top_p", "top_k", "min_p", "repeat_penalty", "seed"})
        EXPECT_TRUE(req["options"].contains(key)) << key;
}

TEST(CostTarget, ServerErrorsBecomeFailedSamples) {
    FixtureServer server;
    RunOptions o;
    o.warmup = false;
    auto power = make_fixed_reader(10);
    server.fail_status_ = 503;
    auto samples = run_target(parse_target(server.url()), two_prompts(), o, *power);
    ASSERT_EQ(samples.size(), 2u);
    for (const auto& s : samples) {
        EXPECT_EQ(s.status, "http_error");
        EXPECT_NE(s.error.find("HTTP 503"), std::string::npos) << s.error;
        EXPECT_NE(s.error.find("model not loaded"), std::string::npos) << s.error;
    }
    server.fail_status_ = 0;
    server.truncate_ = true;
    samples = run_target(parse_target(server.url()), two_prompts(), o, *power);
    ASSERT_EQ(samples.size(), 2u);
    EXPECT_EQ(samples[0].status, "invalid_stream");
    EXPECT_NE(samples[0].error.find("ended before"), std::string::npos) << samples[0].error;
}

TEST(CostTarget, EveryKindOfFailureIsASampleAndTheRunGoesOn) {
    FixtureServer server;
    server.stall_ms = 2500;
    const std::vector<Prompt> prompts = {{"ok", "", "fine thanks", 0},      {"bad", "", "bad request", 0},
                                         {"crash", "", "crash now", 0},     {"drop", "", "drop it", 0},
                                         {"stall", "", "stall forever", 0}, {"garbage", "", "garbage out", 0},
                                         {"after", "", "still here", 0}};
    for (const char* url : {"/v1", "/api/chat#m"}) {
        RunOptions o;
        o.warmup = false;
        o.request_timeout_s = 1;
        std::vector<std::string> seen;
        o.on_sample = [&](const CostSample& s) { seen.push_back(s.prompt_id + "=" + s.status); };
        auto power = make_fixed_reader(10);
        auto samples = run_target(parse_target(server.url(url)), prompts, o, *power);
        ASSERT_EQ(samples.size(), prompts.size()) << url;
        const std::vector<std::string> expected = {"ok=ok", "bad=http_error", "crash=http_error", "drop=connection",
                                                   "stall=timeout", "garbage=invalid_stream", "after=ok"};
        EXPECT_EQ(seen, expected) << url;
        EXPECT_NE(samples[1].error.find("HTTP 400"), std::string::npos) << samples[1].error;
        EXPECT_NE(samples[2].error.find("HTTP 500"), std::string::npos) << samples[2].error;
        EXPECT_NE(samples[3].error.find("dropped"), std::string::npos) << samples[3].error;
        EXPECT_NE(samples[4].error.find("for 1 s"), std::string::npos) << samples[4].error;
        EXPECT_NE(samples[5].error.find("not JSON"), std::string::npos) << samples[5].error;
        for (const auto& s : samples) EXPECT_EQ(s.attempts, 1);
    }
}

TEST(CostTarget, RetriesOnlyWhenAskedAndCountsAttempts) {
    FixtureServer server;
    RunOptions o;
    o.warmup = false;
    o.retries = 2;
    auto power = make_fixed_reader(10);
    auto samples = run_target(parse_target(server.url()), {{"bad", "", "bad request", 0}, {"ok", "", "fine", 0}}, o, *power);
    ASSERT_EQ(samples.size(), 2u);
    EXPECT_EQ(samples[0].status, "http_error");
    EXPECT_EQ(samples[0].attempts, 3);
    EXPECT_EQ(samples[1].attempts, 1);
    EXPECT_EQ(server.requests(), 4);
}

TEST(CostTarget, FailFastStopsAfterTheFirstFailure) {
    FixtureServer server;
    RunOptions o;
    o.warmup = false;
    o.fail_fast = true;
    auto power = make_fixed_reader(10);
    auto samples = run_target(parse_target(server.url()),
                              {{"a", "", "fine", 0}, {"b", "", "bad one", 0}, {"c", "", "never sent", 0}}, o, *power);
    ASSERT_EQ(samples.size(), 2u);
    EXPECT_EQ(samples[1].status, "http_error");
    EXPECT_EQ(server.requests(), 2);
}

TEST(CostTarget, LlamaServerTimingsAndMissingCounts) {
    FixtureServer server;
    RunOptions o;
    o.warmup = false;
    o.n_predict = 8;
    auto power = make_fixed_reader(10);
    auto samples = run_target(parse_target(server.url()),
                              {{"l", "", "llama style", 0}, {"g", "", "greedy one", 0}, {"s", "", "silent one", 0}}, o, *power);
    ASSERT_EQ(samples.size(), 3u);
    // No usage, but llama-server's timings: the engine's counts and speeds.
    EXPECT_EQ(samples[0].status, "ok");
    EXPECT_TRUE(samples[0].tokens_reported);
    EXPECT_EQ(samples[0].gen_tokens, 4);
    EXPECT_EQ(samples[0].prompt_tokens, 12);
    EXPECT_DOUBLE_EQ(samples[0].engine_tg_ts, 100.0);
    EXPECT_DOUBLE_EQ(samples[0].engine_pp_ts, 2000.0);
    EXPECT_TRUE(samples[0].warning.empty());
    // More tokens than max_tokens: kept, with a warning.
    EXPECT_EQ(samples[1].gen_tokens, 50);
    EXPECT_NE(samples[1].warning.find("50 tokens where 8 were asked"), std::string::npos) << samples[1].warning;
    // No counts at all: the streamed pieces are counted, and the sample says so.
    EXPECT_EQ(samples[2].status, "ok");
    EXPECT_FALSE(samples[2].tokens_reported);
    EXPECT_EQ(samples[2].gen_tokens, 4);
    EXPECT_EQ(samples[2].prompt_tokens, 0);
    auto summary = summarize_models(samples, 0.1);
    EXPECT_EQ(summary[0].n_tokens_unreported, 1);
    const std::string html = html_report(summary, samples, default_cloud_prices(), {});
    EXPECT_NE(html.find("reported no token counts for 1 of 3 responses"), std::string::npos);
}

TEST(CostTarget, SkipsWhatIsDoneAndStopsWhenAsked) {
    FixtureServer server;
    RunOptions o;
    o.runs = 2;
    std::atomic<bool> stop{false};
    o.stop = &stop;
    o.skip = [](const SampleKey& k) { return std::get<2>(k) == 0; };  // run 0 was measured before
    o.on_sample = [&](const CostSample&) { stop = true; };             // a signal after the first response
    auto power = make_fixed_reader(10);
    auto samples = run_target(parse_target(server.url()), two_prompts(), o, *power);
    ASSERT_EQ(samples.size(), 1u);
    EXPECT_EQ(samples[0].run, 1);
    EXPECT_EQ(samples[0].prompt_id, "a");
    EXPECT_EQ(server.requests(), 2);  // the warm-up and one response
    o.skip = [](const SampleKey&) { return true; };
    stop = false;
    EXPECT_TRUE(run_target(parse_target(server.url()), two_prompts(), o, *power).empty());
    EXPECT_EQ(server.requests(), 2);  // all done: not even a warm-up
}

TEST(CostTarget, LocalOrRemote) {
    EXPECT_TRUE(is_local_target(parse_target("http://127.0.0.1:8080")));
    EXPECT_TRUE(is_local_target(parse_target("http://localhost:11434/api/chat#m")));
    EXPECT_TRUE(is_local_target(parse_target("http://[::1]:8080")));
    EXPECT_FALSE(is_local_target(parse_target("http://10.0.0.5:8080")));
    EXPECT_FALSE(is_local_target(parse_target("https://api.example.com/v1#m")));
}

TEST(CostTarget, UnreachableServerIsAFailedSample) {
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
    auto samples = run_target(parse_target("http://127.0.0.1:" + std::to_string(port)), two_prompts(), o, *power);
    ASSERT_EQ(samples.size(), 2u);
    EXPECT_EQ(samples[0].status, "connection");
    EXPECT_NE(samples[0].error.find("request failed"), std::string::npos) << samples[0].error;
}
