#include "serve/metrics.h"

#include <cmath>
#include <cstdio>
#include <unistd.h>

#include <fmt/format.h>

#include "common/version.h"

namespace hearth::serve {

namespace {

// Go's strconv 'g' style is what Prometheus writes; any float the parser accepts will do, but
// integers stay integers for readability.
std::string number(double v) {
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (std::isnan(v)) return "NaN";
    if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
    return fmt::format("{}", v);
}

void header(std::string& out, const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double seconds, uint64_t times) {
    size_t i = 0;
    while (i < bounds_.size() && seconds > bounds_[i]) ++i;
    counts_[i] += times;
    sum_ += seconds * static_cast<double>(times);
    count_ += times;
}

void Histogram::render(const std::string& name, std::string& out) const {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds_.size(); ++i) {
        cumulative += counts_[i];
        out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, number(bounds_[i]), cumulative);
    }
    out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, count_);
    out += fmt::format("{}_sum {}\n{}_count {}\n", name, number(sum_), name, count_);
}

// Buckets: first tokens take from milliseconds (cached prompt, tiny model) to tens of seconds
// (a long prompt on a CPU); one token from about a millisecond to a second.
Metrics::Metrics()
    : ttft_({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
      per_token_({0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28}) {}

void Metrics::count_request(const std::string& route, int status) {
    std::lock_guard lock(mutex_);
    ++requests_[{route, status}];
}

void Metrics::count_tokens(const std::string& model, uint64_t prompt, uint64_t generated) {
    std::lock_guard lock(mutex_);
    auto& t = tokens_[model];
    t[0] += prompt;
    t[1] += generated;
}

void Metrics::observe_time_to_first_token(double seconds) {
    std::lock_guard lock(mutex_);
    ttft_.observe(seconds);
}

void Metrics::observe_time_per_token(double seconds, uint64_t intervals) {
    if (intervals == 0) return;
    std::lock_guard lock(mutex_);
    per_token_.observe(seconds, intervals);
}

std::string Metrics::render(const ServerGauges& g) const {
    std::string out;
    {
        std::lock_guard lock(mutex_);
        header(out, "hearth_requests_total", "counter", "HTTP requests answered, by route and status.");
        for (const auto& [key, n] : requests_)
            out += fmt::format("hearth_requests_total{{route=\"{}\",status=\"{}\"}} {}\n",
                               prometheus_label_value(key.first), key.second, n);
        header(out, "hearth_prompt_tokens_total", "counter", "Prompt tokens of finished generations (cached ones included).");
        for (const auto& [model, t] : tokens_)
            out += fmt::format("hearth_prompt_tokens_total{{model=\"{}\"}} {}\n", prometheus_label_value(model), t[0]);
        header(out, "hearth_generated_tokens_total", "counter", "Tokens generated.");
        for (const auto& [model, t] : tokens_)
            out += fmt::format("hearth_generated_tokens_total{{model=\"{}\"}} {}\n", prometheus_label_value(model), t[1]);
        header(out, "hearth_time_to_first_token_seconds", "histogram",
               "From a generation request's arrival to its first token (queue wait and prompt evaluation included).");
        ttft_.render("hearth_time_to_first_token_seconds", out);
        header(out, "hearth_time_per_output_token_seconds", "histogram",
               "Time between generated tokens (a reply's mean, once per token after the first).");
        per_token_.render("hearth_time_per_output_token_seconds", out);
    }
    header(out, "hearth_queue_depth", "gauge", "Generation requests waiting for a slot.");
    out += fmt::format("hearth_queue_depth {}\n", g.queue_depth);
    header(out, "hearth_slots_busy", "gauge", "Slots decoding a request now.");
    out += fmt::format("hearth_slots_busy {}\n", g.slots_busy);
    header(out, "hearth_slots", "gauge", "Slots (requests decoded together, --parallel).");
    out += fmt::format("hearth_slots {}\n", g.slots);
    header(out, "hearth_ready", "gauge", "1 while the server takes new requests (what /ready says), 0 while draining.");
    out += fmt::format("hearth_ready {}\n", g.ready ? 1 : 0);
    header(out, "hearth_prompt_cache_hits_total", "counter", "Requests that reused a slot's cached prompt prefix.");
    out += fmt::format("hearth_prompt_cache_hits_total {}\n", g.prompt_cache_hits);
    header(out, "hearth_prompt_cache_tokens_total", "counter", "Prompt tokens taken from the cache instead of evaluated.");
    out += fmt::format("hearth_prompt_cache_tokens_total {}\n", g.prompt_cache_tokens);
    header(out, "hearth_model_loaded", "gauge", "1 for each model this server has loaded.");
    for (const LoadedModelGauge& m : g.models)
        out += fmt::format("hearth_model_loaded{{model=\"{}\"}} 1\n", prometheus_label_value(m.name));
    header(out, "hearth_model_bytes", "gauge", "Size of each loaded model's GGUF file (its memory-mapped weights).");
    for (const LoadedModelGauge& m : g.models)
        out += fmt::format("hearth_model_bytes{{model=\"{}\"}} {}\n", prometheus_label_value(m.name), m.bytes);
    header(out, "process_resident_memory_bytes", "gauge", "Resident memory of the hearth process.");
    out += fmt::format("process_resident_memory_bytes {}\n", resident_memory_bytes());
    header(out, "hearth_build_info", "gauge", "Always 1; the labels name the build.");
    out += fmt::format("hearth_build_info{{version=\"{}\",commit=\"{}\"}} 1\n", prometheus_label_value(version()),
                       prometheus_label_value(git_commit()));
    return out;
}

std::string prometheus_label_value(const std::string& value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

uint64_t resident_memory_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long long size = 0, resident = 0;
    const int n = std::fscanf(f, "%llu %llu", &size, &resident);
    std::fclose(f);
    if (n != 2) return 0;
    const long page = sysconf(_SC_PAGESIZE);
    return resident * static_cast<uint64_t>(page > 0 ? page : 4096);
}

}  // namespace hearth::serve
