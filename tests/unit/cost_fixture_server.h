#pragma once
// A loopback stand-in for the servers `eval-cost --target` talks to: OpenAI-style SSE on
// /v1/chat/completions and Ollama NDJSON on /api/chat, streaming canned responses with a pause
// between pieces (so times are measurable). What it does with a request depends on the prompt's
// first word, so one prompt set exercises every outcome:
//   "bad ..."     HTTP 400        "crash ..."  HTTP 500 mid-run
//   "drop ..."    two pieces, then the connection is closed without the end of the stream
//   "stall ..."   waits stall_ms before sending anything
//   "garbage ..." a line that is not JSON
//   "llama ..."   llama-server style: no usage, `timings` in the last event (OpenAI only)
//   "greedy ..."  reports more tokens than max_tokens asked for
//   "silent ..."  no usage and no timings: no token counts at all (OpenAI only)
//   anything else: four pieces and the usage / final counts.
// Header-only so the unit-test glob needs no change.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace hearth::test {

class CostFixtureServer {
public:
    CostFixtureServer() {
        server_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
            const std::string word = remember(req);
            if (fail_status_ || word == "bad" || word == "crash") {
                res.status = fail_status_ ? fail_status_ : word == "bad" ? 400 : 500;
                res.set_content("{\"error\": \"model not loaded\"}", "application/json");
                return;
            }
            std::vector<std::string> lines;
            if (word == "garbage") lines.push_back("data: {not json\n\n");
            for (const char* piece : {"Once", " upon", " a", " time"})
                lines.push_back(sse({{"choices", {{{"delta", {{"content", piece}}}, {"finish_reason", nullptr}}}}}));
            lines.push_back(sse({{"choices", {{{"delta", nlohmann::json::object()}, {"finish_reason", "length"}}}}}));
            if (word == "llama")
                lines.push_back(sse({{"choices", nlohmann::json::array()},
                                     {"timings", {{"prompt_n", 12}, {"prompt_ms", 6.0}, {"prompt_per_second", 2000.0},
                                                  {"predicted_n", 4}, {"predicted_ms", 40.0}, {"predicted_per_second", 100.0}}}}));
            else if (word != "silent")
                lines.push_back(sse({{"choices", nlohmann::json::array()},
                                     {"usage", {{"prompt_tokens", 12}, {"completion_tokens", word == "greedy" ? 50 : 4}}}}));
            if (!truncate_) lines.push_back("data: [DONE]\n\n");
            stream(res, lines, "text/event-stream", word);
        });
        server_.Post("/api/chat", [this](const httplib::Request& req, httplib::Response& res) {
            const std::string word = remember(req);
            if (word == "bad" || word == "crash") {
                res.status = word == "bad" ? 400 : 500;
                res.set_content("{\"error\": \"model not loaded\"}", "application/json");
                return;
            }
            std::vector<std::string> lines;
            if (word == "garbage") lines.push_back("{not json\n");
            for (const char* piece : {"Hello", " there", "!"})
                lines.push_back(nlohmann::json{{"message", {{"role", "assistant"}, {"content", piece}}}, {"done", false}}.dump() + "\n");
            lines.push_back(nlohmann::json{{"message", {{"role", "assistant"}, {"content", ""}}},
                                           {"done", true}, {"done_reason", "stop"},
                                           {"prompt_eval_count", 10}, {"prompt_eval_duration", 50000000},
                                           {"eval_count", 3}, {"eval_duration", 30000000}}.dump() + "\n");
            stream(res, lines, "application/x-ndjson", word);
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ~CostFixtureServer() {
        server_.stop();
        thread_.join();
    }
    std::string url(const std::string& path = "") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
    nlohmann::json last_request() {
        std::lock_guard lock(mutex_);
        return last_;
    }
    // The prompts of every request so far, in order.
    std::vector<std::string> prompts() {
        std::lock_guard lock(mutex_);
        return prompts_;
    }
    int requests() const { return requests_; }
    int fail_status_ = 0;     // answer every OpenAI request with this status
    bool truncate_ = false;   // leave out [DONE]
    int stall_ms = 2500;  // well past the tests' --request-timeout 1, so load cannot blur the two

private:
    static std::string sse(const nlohmann::json& j) { return "data: " + j.dump() + "\n\n"; }

    // Records the request and returns its prompt's first word.
    std::string remember(const httplib::Request& req) {
        std::lock_guard lock(mutex_);
        last_ = nlohmann::json::parse(req.body);
        const std::string prompt = last_["messages"][0]["content"].get<std::string>();
        prompts_.push_back(prompt);
        ++requests_;
        return prompt.substr(0, prompt.find(' '));
    }
    void stream(httplib::Response& res, std::vector<std::string> lines, const char* type, const std::string& word) {
        auto shared = std::make_shared<std::vector<std::string>>(std::move(lines));
        const bool drop = word == "drop";
        const int stall = word == "stall" ? stall_ms : 0;
        res.set_chunked_content_provider(type, [shared, drop, stall, i = size_t(0)](size_t, httplib::DataSink& sink) mutable {
            if (i == 0 && stall > 0) std::this_thread::sleep_for(std::chrono::milliseconds(stall));
            if (drop && i == 2) return false;  // closes the connection mid-stream
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
    std::vector<std::string> prompts_;
    std::atomic<int> requests_{0};
};

}  // namespace hearth::test
