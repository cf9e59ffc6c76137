#pragma once
// The counters and histograms behind `GET /metrics` (Prometheus text exposition format 0.0.4).
// The server counts into a Metrics as requests end; gauges (queue, slots, models, memory) are
// read from the server at scrape time and passed to render(). Thread-safe.
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace hearth::serve {

// Cumulative-bucket histogram of seconds (Prometheus `le` buckets plus +Inf).
class Histogram {
public:
    explicit Histogram(std::vector<double> upper_bounds);
    void observe(double seconds, uint64_t times = 1);
    // `name`_bucket/_sum/_count lines (no HELP/TYPE).
    void render(const std::string& name, std::string& out) const;

private:
    std::vector<double> bounds_;
    std::vector<uint64_t> counts_;  // per bucket, not cumulative; the last is +Inf
    double sum_ = 0;
    uint64_t count_ = 0;
};

struct LoadedModelGauge {
    std::string name;
    uint64_t bytes = 0;  // the GGUF file's size (its weights are mapped from it)
};

// What the server is doing right now, read at scrape time.
struct ServerGauges {
    int slots = 0;
    int slots_busy = 0;
    int queue_depth = 0;
    bool ready = true;
    uint64_t prompt_cache_hits = 0;
    uint64_t prompt_cache_tokens = 0;
    std::vector<LoadedModelGauge> models;
};

class Metrics {
public:
    Metrics();
    // `route`: a served route's path, or "other" (keeps the label set bounded).
    void count_request(const std::string& route, int status);
    void count_tokens(const std::string& model, uint64_t prompt, uint64_t generated);
    void observe_time_to_first_token(double seconds);
    // The mean time between a reply's tokens, once per interval (n_generated - 1 times).
    void observe_time_per_token(double seconds, uint64_t intervals);
    // The whole exposition: counters, histograms, the gauges given, process memory, build info.
    std::string render(const ServerGauges& gauges) const;

private:
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int>, uint64_t> requests_;
    std::map<std::string, std::array<uint64_t, 2>> tokens_;  // model -> {prompt, generated}
    Histogram ttft_;
    Histogram per_token_;
};

// A label value escaped as the exposition format wants (\\, \", \n).
std::string prometheus_label_value(const std::string& value);
// This process's resident set size in bytes (/proc/self/statm; 0 where unreadable).
uint64_t resident_memory_bytes();

}  // namespace hearth::serve
