#pragma once
// llama-bench-style measurements: pp<N> (prompt processing, one batch of N tokens) and
// tg<N> (N tokens generated one at a time), each repeated, per thread count.
#include <functional>
#include <string>
#include <vector>

#include "bench/stats.h"
#include "engine/loader.h"

namespace hearth {

struct BenchConfig {
    int n_prompt = 512;              // 0 skips the pp test
    int n_gen = 128;                 // 0 skips the tg test
    int repetitions = 5;
    std::vector<int> threads;        // one set of tests per entry
    ops::KvType kv_type = ops::KvType::F16;
    bool warmup = true;              // one untimed run first, as llama-bench does
};

struct BenchResult {
    std::string test;                // "pp512", "tg128"
    int n_prompt = 0, n_gen = 0, n_threads = 0;
    std::vector<double> samples_ts;  // tokens per second, one per repetition
    std::vector<double> samples_ns;  // wall time per repetition
    Summary ts;
    size_t bytes_per_token = 0;      // weights read per generated token (tg only)
    double gbps = 0;                 // bytes_per_token × mean t/s (tg only)
};

// `progress` is called before each timed repetition with a short description.
std::vector<BenchResult> run_bench(const Model& model, const BenchConfig& config,
                                   const std::function<void(const std::string&)>& progress = {});

// "llama 1.2B Q4_0"-style description: architecture, size class, dominant matrix type.
std::string model_type_label(const gguf::File& file);
size_t model_weight_bytes(const gguf::File& file);
uint64_t model_parameters(const gguf::File& file);
// Peak resident set size of this process, bytes.
size_t peak_rss_bytes();

}  // namespace hearth
