#include "cost/target.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include <httplib.h>
#include <fmt/format.h>
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

bool is_local_target(const Target& target) {
    std::string host = target.base.substr(target.base.find("://") + 3);
    if (!host.empty() && host.front() == '[') host = host.substr(1, host.find(']') - 1);  // [::1]:port
    else host = host.substr(0, host.rfind(':'));
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

namespace {

using clock = std::chrono::steady_clock;

// Why a stream is not a usable response: the sample's status and error.
struct StreamFailure {
    const char* status;
    std::string message;
};

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
        if (!done_) throw StreamFailure{kStatusInvalidStream, "the stream ended before its final message"};
        if (!stats_.tokens_reported) stats_.gen_tokens = chunks_;
        stats_.tg_ts = generation_rate(stats_.gen_tokens, stats_.ttft_ms, stats_.last_ms);
        if (stats_.prompt_tokens > 0 && stats_.ttft_ms > 0) stats_.pp_ts = stats_.prompt_tokens / (stats_.ttft_ms / 1000.0);
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
            throw StreamFailure{kStatusInvalidStream, "the server sent a line that is not JSON: '" + text.substr(0, 120) + "'"};
        }
    }

    static double number(const nlohmann::json& j, const char* key) {
        return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
    }

    void handle(const std::string& line) {
        if (api_ == TargetApi::OpenAI) handle_sse(line);
        else handle_ndjson(line);
    }

    // Server-sent events: "data: {...}" lines, "data: [DONE]" at the end.
    void handle_sse(const std::string& line) {
        if (line.rfind("data:", 0) != 0) return;
        std::string payload = line.substr(5);
        while (!payload.empty() && payload.front() == ' ') payload.erase(0, 1);
        if (payload == "[DONE]") {
            done_ = true;
            return;
        }
        nlohmann::json j = parse_json(payload);
        if (!j.is_object()) throw StreamFailure{kStatusInvalidStream, "a stream event is not a JSON object"};
        if (j.contains("error")) throw StreamFailure{kStatusServerError, "the server reported an error: " + j["error"].dump()};
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
            if (u.contains("completion_tokens") && u["completion_tokens"].is_number_integer()) {
                stats_.gen_tokens = u["completion_tokens"].get<int>();
                stats_.tokens_reported = true;
            }
        }
        // llama-server's own timings of the engine, in the last event.
        if (j.contains("timings") && j["timings"].is_object()) {
            const auto& t = j["timings"];
            stats_.engine_pp_ts = number(t, "prompt_per_second");
            stats_.engine_tg_ts = number(t, "predicted_per_second");
            if (!stats_.tokens_reported && t.contains("predicted_n") && t["predicted_n"].is_number_integer()) {
                stats_.gen_tokens = t["predicted_n"].get<int>();
                stats_.tokens_reported = true;
                if (stats_.prompt_tokens == 0) stats_.prompt_tokens = static_cast<int>(number(t, "prompt_n"));
            }
        }
    }

    // Ollama: one JSON object per line; the last has "done": true and the server's counts and
    // durations (nanoseconds).
    void handle_ndjson(const std::string& line) {
        nlohmann::json j = parse_json(line);
        if (!j.is_object()) throw StreamFailure{kStatusInvalidStream, "a stream line is not a JSON object"};
        if (j.contains("error")) throw StreamFailure{kStatusServerError, "the server reported an error: " + j["error"].dump()};
        if (j.contains("message") && j["message"].is_object() && j["message"].contains("content"))
            token_text(j["message"]["content"]);
        if (j.contains("done") && j["done"].is_boolean() && j["done"].get<bool>()) {
            done_ = true;
            stats_.stop = j.contains("done_reason") && j["done_reason"].is_string() ? j["done_reason"].get<std::string>() : "stop";
            if (j.contains("eval_count") && j["eval_count"].is_number_integer()) {
                stats_.gen_tokens = j["eval_count"].get<int>();
                stats_.tokens_reported = true;
            }
            stats_.prompt_tokens = static_cast<int>(number(j, "prompt_eval_count"));
            if (number(j, "prompt_eval_duration") > 0)
                stats_.engine_pp_ts = number(j, "prompt_eval_count") / (number(j, "prompt_eval_duration") * 1e-9);
            if (number(j, "eval_duration") > 0)
                stats_.engine_tg_ts = number(j, "eval_count") / (number(j, "eval_duration") * 1e-9);
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
                              {"top_k", s.top_k},         {"min_p", s.min_p},             {"repeat_penalty", s.repeat_penalty}};
    if (fixed_seed) options["seed"] = seed;
    return {{"model", t.model}, {"messages", messages}, {"stream", true}, {"options", options}};
}

// One request, measured; a failure is a sample with its status and error, not an exception.
CostSample measure_once(httplib::Client& client, const Target& target, const std::string& body, double timeout_s,
                        PowerSampler& sampler, PowerReader& power) {
    CostSample s;
    const auto t0 = clock::now();
    auto last_data = t0;
    StreamReader reader(target.api, t0);
    std::string error_body;
    int status = 0;
    size_t received = 0;
    std::optional<StreamFailure> failure;
    httplib::Request req;
    req.method = "POST";
    req.path = target.path;
    req.body = body;
    req.set_header("Content-Type", "application/json");
    req.set_header("Accept", target.api == TargetApi::OpenAI ? "text/event-stream" : "application/x-ndjson");
    req.response_handler = [&](const httplib::Response& r) {
        status = r.status;
        last_data = clock::now();
        return true;
    };
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
        last_data = clock::now();
        received += n;
        if (status != 200) {
            error_body.append(data, std::min<size_t>(n, 400 - std::min<size_t>(400, error_body.size())));
            return true;
        }
        try {
            reader.feed(data, n);
        } catch (const StreamFailure& f) {
            failure = f;
            return false;
        }
        return true;
    };
    sampler.start();
    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    const bool sent = client.send(req, res, err);
    s.total_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
    EnergyMeasurement e = sampler.stop();
    apply_energy(s, e.joules, e.seconds, power);

    auto failed = [&](const char* st, std::string message) {
        s.status = st;
        s.error = std::move(message);
        return s;
    };
    if (failure) return failed(failure->status, failure->message);
    if (status != 0 && status != 200) return failed(kStatusHttpError, fmt::format("HTTP {}: {}", status, error_body));
    if (!sent) {
        const double quiet_s = std::chrono::duration<double>(clock::now() - last_data).count();
        if (err == httplib::Error::ConnectionTimeout || (err == httplib::Error::Read && quiet_s >= timeout_s * 0.9))
            return failed(kStatusTimeout, fmt::format("nothing came from the server for {:g} s", timeout_s));
        return failed(kStatusConnection, received > 0 ? fmt::format("the connection dropped after {} bytes of the stream ({})",
                                                                   received, httplib::to_string(err))
                                                      : fmt::format("request failed ({})", httplib::to_string(err)));
    }
    StreamStats st;
    try {
        st = reader.finish();
    } catch (const StreamFailure& f) {
        return failed(f.status, f.message);
    }
    s.prompt_tokens = st.prompt_tokens;
    s.gen_tokens = st.gen_tokens;
    s.tokens_reported = st.tokens_reported;
    s.pp_ts = st.pp_ts;
    s.tg_ts = st.tg_ts;
    s.engine_pp_ts = st.engine_pp_ts;
    s.engine_tg_ts = st.engine_tg_ts;
    s.ttft_ms = st.ttft_ms;
    s.stop = st.stop;
    apply_energy(s, e.joules, e.seconds, power);  // again: per-token energy needs the token count
    return s;
}

}  // namespace

std::vector<CostSample> run_target(const Target& target, const std::vector<Prompt>& prompts,
                                   const RunOptions& options, PowerReader& power) {
    if (options.runs < 1) fail("--runs must be at least 1 (got {})", options.runs);
    const double timeout_s = options.request_timeout_s > 0 ? options.request_timeout_s : 600;
    httplib::Client client(target.base);
    const auto timeout_us = static_cast<long>(timeout_s * 1e6);
    client.set_connection_timeout(std::min<long>(timeout_us, 10'000'000) / 1'000'000, std::min<long>(timeout_us, 10'000'000) % 1'000'000);
    client.set_read_timeout(timeout_us / 1'000'000, timeout_us % 1'000'000);
    // Headers and body go out as two writes: with Nagle's algorithm the body waits for the
    // server's (delayed, ~40 ms) ACK of the headers, which would count against every runtime's TTFT.
    client.set_tcp_nodelay(true);
    PowerSampler sampler(power);
    const std::string backend = !target.backend.empty() ? target.backend : target.api == TargetApi::OpenAI ? "openai" : "ollama";
    std::vector<CostSample> out;
    auto pending = [&](const Prompt& p, int run) { return !options.skip || !options.skip({target.label, p.id, run}); };
    bool any_pending = false;
    for (int run = 0; run < options.runs; ++run)
        for (const Prompt& p : prompts) any_pending = any_pending || pending(p, run);
    if (!any_pending) return out;
    if (options.warmup) {  // as for local models: one short unrecorded response first, its outcome ignored
        const std::string body = request_body(target, prompts.front().text, 4, options.sampling, options.sampling.seed).dump();
        measure_once(client, target, body, timeout_s, sampler, power);
    }
    for (int run = 0; run < options.runs; ++run) {
        for (const Prompt& p : prompts) {
            if (!pending(p, run)) continue;
            if (should_stop(options, out.empty() ? nullptr : &out.back())) return out;
            const int n_predict = p.n_predict > 0 ? p.n_predict : options.n_predict;
            uint64_t seed = options.sampling.seed;
            if (seed != SamplingParams::kRandomSeed) seed += static_cast<uint64_t>(run);
            const std::string body = request_body(target, p.text, n_predict, options.sampling, seed).dump();

            CostSample s;
            for (int attempt = 1; attempt <= 1 + std::max(0, options.retries); ++attempt) {
                s = measure_once(client, target, body, timeout_s, sampler, power);
                s.attempts = attempt;
                if (s.ok() || (options.stop && options.stop->load())) break;
            }
            s.model = target.label;
            s.backend = backend;
            s.prompt_id = p.id;
            s.category = p.category;
            s.run = run;
            s.max_tokens = n_predict;
            s.temperature = options.sampling.temperature;
            if (s.ok() && s.tokens_reported && s.gen_tokens > n_predict)
                s.warning = fmt::format("the server returned {} tokens where {} were asked for: it ignored max_tokens",
                                        s.gen_tokens, n_predict);
            if (options.on_sample) options.on_sample(s);
            out.push_back(std::move(s));
        }
    }
    return out;
}

}  // namespace hearth::cost
