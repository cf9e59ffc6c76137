#include "bench/runner.h"

#include <chrono>
#include <map>
#include <random>
#include <sys/resource.h>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/session.h"

namespace hearth {
namespace {

std::vector<int32_t> random_tokens(int n, int n_vocab, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (auto& id : t) id = static_cast<int32_t>(rng() % static_cast<uint64_t>(n_vocab));
    return t;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::vector<BenchResult> run_bench(const Model& model, const BenchConfig& cfg,
                                   const std::function<void(const std::string&)>& progress) {
    if (cfg.repetitions < 1) fail("-r/--repetitions must be at least 1 (got {})", cfg.repetitions);
    if (cfg.n_prompt < 0 || cfg.n_gen < 0) fail("-p and -n must not be negative");
    if (cfg.n_prompt == 0 && cfg.n_gen == 0) fail("nothing to measure: -p and -n are both 0");
    const int n_vocab = model.hparams().n_vocab;
    std::vector<BenchResult> results;
    for (int threads : cfg.threads) {
        SessionOptions opt;
        opt.n_threads = threads;
        opt.kv_type = cfg.kv_type;
        opt.n_ctx = std::max(cfg.n_prompt, cfg.n_gen);
        opt.n_batch = std::max(1, cfg.n_prompt);
        Session session(model, opt);

        if (cfg.n_prompt > 0) {
            BenchResult r;
            r.test = fmt::format("pp{}", cfg.n_prompt);
            r.n_prompt = cfg.n_prompt;
            r.n_threads = session.n_threads();
            for (int rep = cfg.warmup ? -1 : 0; rep < cfg.repetitions; ++rep) {
                if (progress && rep >= 0) progress(fmt::format("{} t={} rep {}/{}", r.test, r.n_threads, rep + 1, cfg.repetitions));
                auto tokens = random_tokens(cfg.n_prompt, n_vocab, 1234 + static_cast<uint64_t>(rep + 1));
                session.reset();
                auto t0 = std::chrono::steady_clock::now();
                session.eval(tokens);
                double s = seconds_since(t0);
                if (rep < 0) continue;
                r.samples_ns.push_back(s * 1e9);
                r.samples_ts.push_back(cfg.n_prompt / s);
            }
            r.ts = summarize(r.samples_ts);
            results.push_back(std::move(r));
        }
        if (cfg.n_gen > 0) {
            BenchResult r;
            r.test = fmt::format("tg{}", cfg.n_gen);
            r.n_gen = cfg.n_gen;
            r.n_threads = session.n_threads();
            r.bytes_per_token = model.bytes_per_token();
            for (int rep = cfg.warmup ? -1 : 0; rep < cfg.repetitions; ++rep) {
                if (progress && rep >= 0) progress(fmt::format("{} t={} rep {}/{}", r.test, r.n_threads, rep + 1, cfg.repetitions));
                auto tokens = random_tokens(cfg.n_gen, n_vocab, 5678 + static_cast<uint64_t>(rep + 1));
                session.reset();
                // A warmup run only needs a few tokens to fault in the weights.
                int n = rep < 0 ? std::min(cfg.n_gen, 4) : cfg.n_gen;
                auto t0 = std::chrono::steady_clock::now();
                for (int i = 0; i < n; ++i) session.eval({tokens[static_cast<size_t>(i)]});
                double s = seconds_since(t0);
                if (rep < 0) continue;
                r.samples_ns.push_back(s * 1e9);
                r.samples_ts.push_back(cfg.n_gen / s);
            }
            r.ts = summarize(r.samples_ts);
            r.gbps = static_cast<double>(r.bytes_per_token) * r.ts.mean / 1e9;
            results.push_back(std::move(r));
        }
    }
    return results;
}

size_t model_weight_bytes(const gguf::File& file) {
    size_t total = 0;
    for (const auto& t : file.tensors()) total += t.n_bytes;
    return total;
}

uint64_t model_parameters(const gguf::File& file) {
    uint64_t total = 0;
    for (const auto& t : file.tensors()) total += static_cast<uint64_t>(t.n_elements);
    return total;
}

std::string model_type_label(const gguf::File& file) {
    std::map<std::string, uint64_t> bytes_by_type;
    for (const auto& t : file.tensors())
        if (t.dims.size() >= 2) bytes_by_type[t.traits->name] += t.n_bytes;
    std::string dominant = "?";
    uint64_t best = 0;
    for (const auto& [name, b] : bytes_by_type)
        if (b > best) best = b, dominant = name;
    double p = static_cast<double>(model_parameters(file));
    std::string size = p >= 1e9 ? fmt::format("{:.1f}B", p / 1e9) : p >= 1e6 ? fmt::format("{:.0f}M", p / 1e6)
                                                                             : fmt::format("{:.0f}K", p / 1e3);
    return fmt::format("{} {} {}", file.get_string("general.architecture").value_or("?"), size, dominant);
}

size_t peak_rss_bytes() {
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<size_t>(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace hearth
