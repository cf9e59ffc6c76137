#include "cost/target.h"

#include <chrono>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "cost/sampler.h"

namespace hearth::cost {

Target parse_target(const std::string& url) {
    Target t;
    std::string rest = url;
    if (size_t hash = rest.find('#'); hash != std::string::npos) {
        t.model = rest.substr(hash + 1);
        rest = rest.substr(0, hash);
        if (t.model.empty()) fail("--target {}: empty model name after '#'", url);
    }
    const std::string scheme_end = "://";
    size_t se = rest.find(scheme_end);
    if (se == std::string::npos || (rest.substr(0, se) != "http" && rest.substr(0, se) != "https"))
        fail("--target {}: expected http://HOST:PORT[/v1 | /api/chat][#MODEL]", url);
    size_t path_start = rest.find('/', se + scheme_end.size());
    t.base = rest.substr(0, path_start);
    std::string path = path_start == std::string::npos ? "" : rest.substr(path_start);
    while (!path.empty() && path.back() == '/') path.pop_back();
    if (t.base.size() <= se + scheme_end.size()) fail("--target {}: no host", url);
    if (path.empty() || path == "/v1" || path == "/v1/chat/completions") {
        t.api = TargetApi::OpenAI;
        t.path = "/v1/chat/completions";
    } else if (path == "/api" || path == "/api/chat") {
        t.api = TargetApi::Ollama;
        t.path = "/api/chat";
        if (t.model.empty()) fail("--target {}: Ollama needs the model name, e.g. {}#llama3.2:1b", url, rest);
    } else {
        fail("--target {}: unknown endpoint '{}' (use /v1 for OpenAI-compatible servers, /api/chat for Ollama)", url,
             path);
    }
    t.label = t.base.substr(se + scheme_end.size()) + (t.model.empty() ? "" : "/" + t.model);
    return t;
}

namespace {

using clock = std::chrono::steady_clock;

// Splits a byte stream into lines and hands each to the API's parser with the time it arrived.
class StreamReader {
public:
    StreamReader(TargetApi api, clock::time_point t0) : api_(api), t0_(t0) {}

    void feed(const char* data, size_t n) {
        buffer_.append(data, n);
        size_t nl;
        while ((nl = buffer_.find('\n')) != std::string::npos) {
            std::string line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (!line.empty()) handle(line);
        }
    }
    StreamStats finish() {
        if (!buffer_.empty()) handle(buffer_);
        buffer_.clear();
        if (!done_) fail("the stream ended before its final message");
        if (stats_.gen_tokens == 0) stats_.gen_tokens = chunks_;
        if (api_ == TargetApi::OpenAI || stats_.tg_ts == 0)
            stats_.tg_ts = generation_rate(stats_.gen_tokens, stats_.ttft_ms, stats_.last_ms);
        if (api_ == TargetApi::OpenAI && stats_.prompt_tokens > 0 && stats_.ttft_ms > 0)
            stats_.pp_ts = stats_.prompt_tokens / (stats_.ttft_ms / 1000.0);
        return stats_;
    }

private:
    double now_ms() const { return std::chrono::duration<double, std::milli>(clock::now() - t0_).count(); }

    void token_text(const nlohmann::json& content) {
        if (!content.is_string() || content.get<std::string>().empty()) return;
        const double t = now_ms();
        if (chunks_++ == 0) stats_.ttft_ms = t;
        stats_.last_ms = t;
    }

    static nlohmann::json parse_json(const std::string& text) {
        try {
            return nlohmann::json::parse(text);
        } catch (const nlohmann::json::parse_error&) {
            fail("the server sent a line that is not JSON: '{}'", text.substr(0, 120));
        }
    }

    void handle(const std::string& line) {
        if (api_ == TargetApi::OpenAI) {
            // Server-sent events: "data: {...}" lines, "data: [DONE]" at the end.
            if (line.rfind("data:", 0) != 0) return;
            std::string payload = line.substr(5);
            while (!payload.empty() && payload.front() == ' ') payload.erase(0, 1);
            if (payload == "[DONE]") {
                done_ = true;
                return;
            }
            nlohmann::json j = parse_json(payload);
            if (j.contains("error")) fail("the server reported an error: {}", j["error"].dump());
            if (j.contains("choices") && j["choices"].is_array() && !j["choices"].empty()) {
                const auto& c = j["choices"][0];
                if (c.contains("delta") && c["delta"].is_object()) {
                    if (c["delta"].contains("content")) token_text(c["delta"]["content"]);
                    if (c["delta"].contains("reasoning_content")) token_text(c["delta"]["reasoning_content"]);
                }
                if (c.contains("finish_reason") && c["finish_reason"].is_string())
                    stats_.stop = c["finish_reason"].get<std::string>();
            }
            if (j.contains("usage") && j["usage"].is_object()) {
                const auto& u = j["usage"];
                if (u.contains("prompt_tokens") && u["prompt_tokens"].is_number_integer())
                    stats_.prompt_tokens = u["prompt_tokens"].get<int>();
                if (u.contains("completion_tokens") && u["completion_tokens"].is_number_integer())
                    stats_.gen_tokens = u["completion_tokens"].get<int>();
            }
        } else {
            // Ollama: one JSON object per line; the last has "done": true and the server's counts
            // and durations (nanoseconds).
            nlohmann::json j = parse_json(line);
            if (j.contains("error")) fail("the server reported an error: {}", j["error"].dump());
            if (j.contains("message") && j["message"].is_object() && j["message"].contains("content"))
                token_text(j["message"]["content"]);
            if (j.value("done", false)) {
                done_ = true;
                stats_.stop = j.value("done_reason", std::string("stop"));
                auto num = [&](const char* key) { return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0; };
                stats_.prompt_tokens = static_cast<int>(num("prompt_eval_count"));
                stats_.gen_tokens = static_cast<int>(num("eval_count"));
                if (num("prompt_eval_duration") > 0) stats_.pp_ts = num("prompt_eval_count") / (num("prompt_eval_duration") * 1e-9);
                if (num("eval_duration") > 0) stats_.tg_ts = num("eval_count") / (num("eval_duration") * 1e-9);
            }
        }
    }

    TargetApi api_;
    clock::time_point t0_;
    std::string buffer_;
    StreamStats stats_;
    int chunks_ = 0;
    bool done_ = false;
};

nlohmann::json request_body(const Target& t, const std::string& prompt, int n_predict, const SamplingParams& s,
                            uint64_t seed) {
    nlohmann::json messages = nlohmann::json::array({{{"role", "user"}, {"content", prompt}}});
    const bool fixed_seed = seed != SamplingParams::kRandomSeed;
    if (t.api == TargetApi::OpenAI) {
        nlohmann::json b = {{"model", t.model.empty() ? "default" : t.model},
                            {"messages", messages},
                            {"stream", true},
                            {"stream_options", {{"include_usage", true}}},
                            {"max_tokens", n_predict},
                            {"temperature", s.temperature},
                            {"top_p", s.top_p}};
        if (fixed_seed) b["seed"] = seed;
        return b;
    }
    nlohmann::json options = {{"num_predict", n_predict}, {"temperature", s.temperature}, {"top_p", s.top_p},
                              {"top_k", s.top_k}};
    if (fixed_seed) options["seed"] = seed;
    return {{"model", t.model}, {"messages", messages}, {"stream", true}, {"options", options}};
}

}  // namespace

std::vector<CostSample> run_target(const Target& target, const std::vector<Prompt>& prompts,
                                   const RunOptions& options, PowerReader& power) {
    if (options.runs < 1) fail("--runs must be at least 1 (got {})", options.runs);
    httplib::Client client(target.base);
    client.set_connection_timeout(10);
    client.set_read_timeout(600);
    PowerSampler sampler(power);
    std::vector<CostSample> out;
    for (int run = 0; run < options.runs; ++run) {
        for (const Prompt& p : prompts) {
            const int n_predict = p.n_predict > 0 ? p.n_predict : options.n_predict;
            uint64_t seed = options.sampling.seed;
            if (seed != SamplingParams::kRandomSeed) seed += static_cast<uint64_t>(run);
            const std::string body = request_body(target, p.text, n_predict, options.sampling, seed).dump();

            const auto t0 = clock::now();
            StreamReader reader(target.api, t0);
            std::string error_body;
            int status = 0;
            httplib::Request req;
            req.method = "POST";
            req.path = target.path;
            req.body = body;
            req.set_header("Content-Type", "application/json");
            req.set_header("Accept", target.api == TargetApi::OpenAI ? "text/event-stream" : "application/x-ndjson");
            req.response_handler = [&](const httplib::Response& r) {
                status = r.status;
                return true;
            };
            std::string parse_error;
            req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
                if (status != 200) {
                    error_body.append(data, std::min<size_t>(n, 400 - std::min<size_t>(400, error_body.size())));
                    return true;
                }
                try {
                    reader.feed(data, n);
                } catch (const Error& e) {
                    parse_error = e.what();
                    return false;
                }
                return true;
            };
            sampler.start();
            httplib::Response res;
            httplib::Error err = httplib::Error::Success;
            const bool ok = client.send(req, res, err);
            const double total_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
            EnergyMeasurement e = sampler.stop();
            if (!parse_error.empty()) fail("--target {}: prompt {}: {}", target.label, p.id, parse_error);
            if (!ok && status == 0)
                fail("--target {}: prompt {}: request failed ({})", target.label, p.id, httplib::to_string(err));
            if (status != 200)
                fail("--target {}: prompt {}: HTTP {}: {}", target.label, p.id, status, error_body);
            StreamStats st;
            try {
                st = reader.finish();
            } catch (const Error& ex) {
                fail("--target {}: prompt {}: {}", target.label, p.id, ex.what());
            }

            CostSample s;
            s.model = target.label;
            s.backend = target.api == TargetApi::OpenAI ? "openai" : "ollama";
            s.prompt_id = p.id;
            s.category = p.category;
            s.run = run;
            s.prompt_tokens = st.prompt_tokens;
            s.gen_tokens = st.gen_tokens;
            s.pp_ts = st.pp_ts;
            s.tg_ts = st.tg_ts;
            s.ttft_ms = st.ttft_ms;
            s.total_ms = total_ms;
            s.temperature = options.sampling.temperature;
            s.stop = st.stop;
            apply_energy(s, e.joules, e.seconds, power);
            if (options.on_sample) options.on_sample(s);
            out.push_back(std::move(s));
        }
    }
    return out;
}

}  // namespace hearth::cost
