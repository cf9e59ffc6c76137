#include "common/bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/thread_pool.h"

namespace hearth {
namespace {

// Sums a range with independent lanes so the loop runs at load-port speed, not add latency.
// (Prefetching past the end of the range is harmless: a prefetch never faults.)
uint64_t sum_range(const uint64_t* p, size_t n) {
    uint64_t acc[8] = {};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        // Software prefetch as the matmul kernels do: on some VMs the hardware prefetcher alone
        // reaches only ~70% of the rate the kernels achieve, and the probe would understate it.
        __builtin_prefetch(p + i + 256);
        for (int j = 0; j < 8; ++j) acc[j] += p[i + j];
    }
    for (; i < n; ++i) acc[0] += p[i];
    uint64_t s = 0;
    for (uint64_t a : acc) s += a;
    return s;
}

std::filesystem::path default_cache_file() {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
        return std::filesystem::path(xdg) / "hearth" / "bandwidth.json";
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home && *home ? home : "/tmp") / ".cache" / "hearth" / "bandwidth.json";
}

}  // namespace

BandwidthProbe measure_read_bandwidth(int threads, size_t buffer_bytes, int passes) {
    const size_t n = buffer_bytes / sizeof(uint64_t);
    std::unique_ptr<uint64_t[]> buf(new uint64_t[n]);
    ThreadPool pool(threads);
    // Touch every page from the threads that will read it (first-touch placement).
    pool.parallel_for(static_cast<int64_t>(n), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) buf[i] = static_cast<uint64_t>(i);
    });
    std::vector<uint64_t> sinks(static_cast<size_t>(threads) + 1);
    double best = 0;
    for (int pass = 0; pass < passes; ++pass) {
        auto t0 = std::chrono::steady_clock::now();
        pool.parallel_for(static_cast<int64_t>(n), [&](int64_t b, int64_t e) {
            uint64_t s = sum_range(buf.get() + b, static_cast<size_t>(e - b));
            sinks[static_cast<size_t>(b * threads / static_cast<int64_t>(n))] += s;
        });
        double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::max(best, static_cast<double>(n * sizeof(uint64_t)) / sec / 1e9);
    }
    // Keep the sums observable so the reads are not optimized away.
    volatile uint64_t keep = 0;
    for (uint64_t s : sinks) keep = keep + s;
    (void)keep;
    BandwidthProbe r;
    r.gbps = best;
    r.threads = threads;
    r.buffer_bytes = n * sizeof(uint64_t);
    return r;
}

BandwidthProbe cached_read_bandwidth(int threads, const std::string& cache_file, bool refresh) {
    namespace fs = std::filesystem;
    fs::path path = cache_file.empty() ? default_cache_file() : fs::path(cache_file);
    nlohmann::json cache = nlohmann::json::object();
    {
        std::ifstream in(path);
        if (in) {
            try {
                cache = nlohmann::json::parse(in);
            } catch (const nlohmann::json::exception&) {
                cache = nlohmann::json::object();  // a damaged cache is simply measured again
            }
        }
    }
    const std::string key = std::to_string(threads);
    if (!refresh && cache.is_object() && cache.contains(key) && cache[key].is_object() &&
        cache[key].contains("gbps") && cache[key]["gbps"].is_number()) {
        BandwidthProbe r;
        r.gbps = cache[key]["gbps"].get<double>();
        r.threads = threads;
        r.buffer_bytes = cache[key].value("buffer_bytes", size_t(0));
        r.from_cache = true;
        return r;
    }
    BandwidthProbe r = measure_read_bandwidth(threads);
    if (!cache.is_object()) cache = nlohmann::json::object();
    cache[key] = {{"gbps", r.gbps}, {"buffer_bytes", r.buffer_bytes}};
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    std::string tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp);
        out << cache.dump(2) << "\n";
    }
    fs::rename(tmp, path, ec);  // best effort: failing to cache only costs a re-measure
    return r;
}

double best_cached_read_bandwidth(const std::string& cache_file) {
    std::ifstream in(cache_file.empty() ? default_cache_file() : std::filesystem::path(cache_file));
    if (!in) return 0;
    double best = 0;
    try {
        const nlohmann::json j = nlohmann::json::parse(in);
        if (!j.is_object()) return 0;
        for (const auto& [key, v] : j.items())
            if (v.is_object() && v.contains("gbps") && v["gbps"].is_number()) best = std::max(best, v["gbps"].get<double>());
    } catch (const nlohmann::json::exception&) {
        return 0;  // a damaged cache counts as none
    }
    return best;
}

}  // namespace hearth
