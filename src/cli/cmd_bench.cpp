// hearth bench: llama-bench-style speed (pp/tg t/s, mean ± stddev over repetitions) plus
// what peers do not print: weight bytes per token, achieved GB/s and % of measured bandwidth.
#include <cstdio>
#include <unistd.h>
#include <map>

#include <nlohmann/json.hpp>

#include "common/bandwidth.h"
#include "bench/runner.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "common/thread_pool.h"
#include "ops/cpu/dispatch.h"

namespace hearth::cli {
namespace {

struct BenchFlags {
    ModelFlag model;
    int n_prompt = 512;
    int n_gen = 128;
    int repetitions = 5;
    std::vector<int> threads;
    std::string kv_type = "f16";
    bool json = false;
    bool no_bandwidth = false;
    bool refresh_bandwidth = false;
    bool quiet = false;
};

int run(const BenchFlags& f) {
    BenchConfig cfg;
    cfg.n_prompt = f.n_prompt;
    cfg.n_gen = f.n_gen;
    cfg.repetitions = f.repetitions;
    cfg.kv_type = parse_kv_type(f.kv_type);
    cfg.threads = f.threads.empty() ? std::vector<int>{ThreadPool::default_threads()} : f.threads;
    for (int t : cfg.threads)
        if (t < 1 || t > 1024) fail("-t/--threads: {} is not a thread count (1..1024)", t);

    // Resolved first so a bad HEARTH_CPU fails before a long load.
    const char* kernels = ops::cpu_path_name(ops::active_cpu_path());
    LoadedModel lm = load_model(f.model.resolve().path);
    const auto& file = *lm.file;
    // Progress rewrites one status line on a terminal and stays silent in logs.
    const bool show_progress = !f.quiet && isatty(fileno(stderr));
    auto note = [&](const std::string& msg) {
        if (show_progress) std::fprintf(stderr, "\r\033[Khearth bench: %s", msg.c_str());
    };
    std::vector<BenchResult> results = run_bench(*lm.model, cfg, note);
    // Read before the bandwidth probe, whose 1 GiB buffer would otherwise dominate it.
    const size_t rss = peak_rss_bytes();
    std::map<int, BandwidthProbe> bandwidth;
    if (!f.no_bandwidth && cfg.n_gen > 0)
        for (int t : cfg.threads) {
            note(fmt::format("measuring memory read bandwidth with {} threads (cached after the first time)", t));
            bandwidth[t] = cached_read_bandwidth(t, "", f.refresh_bandwidth);
        }
    if (show_progress) std::fprintf(stderr, "\r\033[K");

    const size_t model_size = model_weight_bytes(file);
    const uint64_t n_params = model_parameters(file);
    const std::string type = model_type_label(file);
    auto pct_of = [&](const BenchResult& r) -> double {
        auto it = bandwidth.find(r.n_threads);
        return (it == bandwidth.end() || r.gbps == 0) ? 0.0 : 100.0 * r.gbps / it->second.gbps;
    };

    if (f.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : results) {
            nlohmann::json j = {{"model_filename", f.model.path}, {"model_type", type}, {"model_size", model_size},
                                {"model_n_params", n_params}, {"n_prompt", r.n_prompt}, {"n_gen", r.n_gen},
                                {"n_threads", r.n_threads}, {"type_k", f.kv_type}, {"type_v", f.kv_type},
                                {"avg_ts", r.ts.mean}, {"stddev_ts", r.ts.stddev}, {"median_ts", r.ts.median},
                                {"min_ts", r.ts.min}, {"max_ts", r.ts.max}, {"samples_ts", r.samples_ts},
                                {"samples_ns", r.samples_ns}, {"avg_ns", summarize(r.samples_ns).mean},
                                {"load_ms", lm.load_ms}, {"peak_rss", rss}, {"cpu_path", kernels}};
            if (r.n_gen > 0) {
                j["bytes_per_token"] = r.bytes_per_token;
                j["gbps"] = r.gbps;
                auto it = bandwidth.find(r.n_threads);
                j["bandwidth_gbps"] = it == bandwidth.end() ? nullptr : nlohmann::json(it->second.gbps);
                j["pct_bandwidth"] = it == bandwidth.end() ? nullptr : nlohmann::json(pct_of(r));
            }
            out.push_back(j);
        }
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }

    std::printf("| %-24s | %10s | %8s | %7s | %7s | %20s | %8s | %17s | %7s | %6s |\n", "model", "size", "params",
                "threads", "test", "t/s (mean ± sd)", "median", "min … max", "GB/s", "% bw");
    std::printf("|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", std::string(26, '-').c_str(), std::string(12, '-').c_str(),
                std::string(10, '-').c_str(), std::string(9, '-').c_str(), std::string(9, '-').c_str(),
                std::string(22, '-').c_str(), std::string(10, '-').c_str(), std::string(19, '-').c_str(),
                std::string(9, '-').c_str(), std::string(8, '-').c_str());
    for (const auto& r : results) {
        std::string gbps = r.n_gen > 0 ? fmt::format("{:.2f}", r.gbps) : "";
        double pct = pct_of(r);
        std::string pct_s = pct > 0 ? fmt::format("{:.1f}", pct) : "";
        std::printf("| %-24s | %10s | %8s | %7d | %7s | %20s | %8.2f | %17s | %7s | %6s |\n", type.c_str(),
                    fmt::format("{:.2f} MiB", model_size / 1048576.0).c_str(),
                    fmt::format("{:.2f} M", n_params / 1e6).c_str(), r.n_threads, r.test.c_str(),
                    fmt::format("{:.2f} ± {:.2f}", r.ts.mean, r.ts.stddev).c_str(), r.ts.median,
                    fmt::format("{:.1f} … {:.1f}", r.ts.min, r.ts.max).c_str(), gbps.c_str(), pct_s.c_str());
    }
    std::printf("\nweights read per generated token: %.2f MiB; load %.1f ms; peak RSS %.1f MiB; %d repetitions; "
                "kernels %s\n",
                lm.model->bytes_per_token() / 1048576.0, lm.load_ms, rss / 1048576.0, cfg.repetitions, kernels);
    for (const auto& [t, bw] : bandwidth)
        std::printf("memory read bandwidth, %d threads: %.2f GB/s (%s)\n", t, bw.gbps,
                    bw.from_cache ? "cached measurement" : "measured now");
    return 0;
}

}  // namespace

CommandRunner add_bench_command(CLI::App& app) {
    auto flags = std::make_shared<BenchFlags>();
    CLI::App* cmd = app.add_subcommand("bench", "measure prompt (pp) and generation (tg) speed, llama-bench style");
    cmd->footer(
        "pp<N>: N random tokens as one batch; tg<N>: N tokens one at a time, from an empty context.\n"
        "GB/s = weight bytes read per generated token × t/s; % bw compares it with the machine's\n"
        "read bandwidth measured by a streaming probe (cached in ~/.cache/hearth/bandwidth.json).");
    flags->model.add(*cmd);
    cmd->add_option("-p,--n-prompt", flags->n_prompt, "prompt tokens for the pp test (0: skip)")->capture_default_str();
    cmd->add_option("-n,--n-gen", flags->n_gen, "generated tokens for the tg test (0: skip)")->capture_default_str();
    cmd->add_option("-r,--repetitions", flags->repetitions, "timed repetitions per test")->capture_default_str();
    cmd->add_option("-t,--threads", flags->threads, "thread counts, comma-separated (default: one per physical core)")
        ->delimiter(',');
    cmd->add_option("--kv-type", flags->kv_type, "KV cache type: f16 or f32")->capture_default_str();
    cmd->add_flag("--json", flags->json, "print a JSON array, one object per test (llama-bench field names)");
    cmd->add_flag("--no-bandwidth", flags->no_bandwidth, "skip the memory bandwidth probe");
    cmd->add_flag("--refresh-bandwidth", flags->refresh_bandwidth, "measure the bandwidth again instead of using the cache");
    cmd->add_flag("-q,--quiet", flags->quiet, "no progress on stderr");
    return [flags] { return run(*flags); };
}

}  // namespace hearth::cli
