// Matmul kernel micro-benchmark: every compute type under every dispatch path this CPU has.
//
//   gemv  one token (generation): GB/s of weights read, on a matrix far larger than the
//         caches ("mem") and on one that stays in L2 ("L2", the kernel's own speed)
//   gemm  a batch of tokens (prompt processing): GFLOP/s, 2 · rows · cols · tokens per call
//
// Build: cmake --build BUILD --target hearth_kernel_bench  (not part of `all`)
// Run:   BUILD/bin/hearth_kernel_bench [-t THREADS] [--types Q4_0,Q8_0,...] [--paths scalar,avx2,avx512]
//        [--mem-mb 256] [--tokens 128] [--rows 4096] [--cols 4096] [--seconds 0.3] [--cpu-time]
// Numbers are medians over repetitions; on a shared machine compare paths side by side, and
// consider --cpu-time: time = the process's CPU time / threads instead of wall-clock time, which
// other processes competing for the cores do not inflate (but idle waits do not count either).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <time.h>

#include "common/bandwidth.h"
#include "common/error.h"
#include "common/thread_pool.h"
#include "ops/cpu/dispatch.h"
#include "ops/ops.h"
#include "tensor/types.h"

namespace hearth {
namespace {

// The matrix as a model load leaves it: repacked where the active path prefers that
// (HEARTH_REPACK=0 measures the file's layout).
hearth::ops::Matrix as_used(const hearth::TypeTraits& tt, const std::vector<uint8_t>& w, int64_t cols, int64_t rows,
                            size_t rb) {
    hearth::ops::Matrix m;
    m.type = &tt;
    m.data = w.data();
    m.cols = cols;
    m.rows = rows;
    m.row_bytes = rb;
    m.name = "w";
    return hearth::ops::prefers_repacked(m) ? hearth::ops::repack(m) : m;
}

struct Options {
    int threads = 1;
    std::vector<std::string> types;  // empty: every type hearth computes with (the trait table)
    std::vector<std::string> paths;  // empty: all supported
    double mem_mb = 256;             // weight bytes of the out-of-cache gemv
    double l2_kb = 512;              // weight bytes of the in-cache gemv
    int64_t tokens = 128;
    int64_t rows = 4096;
    int64_t cols = 4096;
    double seconds = 0.3;            // per measurement
    bool probe = true;
    bool cpu_time = false;
};

// Seconds on the chosen clock: wall, or process CPU time divided by the threads.
double now_seconds(const Options& o) {
    if (!o.cpu_time) return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec)) / o.threads;
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
        size_t comma = s.find(',', start);
        if (comma == std::string::npos) comma = s.size();
        if (comma > start) out.push_back(s.substr(start, comma - start));
        start = comma + 1;
    }
    return out;
}

const TypeTraits& traits_named(const std::string& name) {
    for (uint32_t id = 0; id < 64; ++id)
        if (const TypeTraits* t = find_type_traits(id); t && name == t->name && t->supported()) return *t;
    fail("unknown or unsupported type '{}'", name);
}

// Random weights: uniform floats through the type's own quantizer, so every type (present or
// future) gets valid blocks with sane scales. Speed does not depend on the values.
std::vector<uint8_t> random_matrix(const TypeTraits& tt, int64_t rows, int64_t cols) {
    const size_t rb = row_bytes(tt, cols);
    std::vector<uint8_t> data(rb * static_cast<size_t>(rows));
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
        for (float& v : row) v = u(rng);
        tt.quantize_row(row.data(), data.data() + static_cast<size_t>(r) * rb, cols);
    }
    return data;
}

// Median seconds per call of fn, over repetitions filling about `seconds`.
template <class Fn>
double time_per_call(Fn&& fn, const Options& o, double seconds) {
    fn();  // warm up (page faults, scratch buffers)
    const double t0 = now_seconds(o);
    fn();
    const double once = now_seconds(o) - t0;
    const int reps = std::clamp(static_cast<int>(seconds / std::max(once, 1e-7)), 3, 2000);
    // Calls per sample so that one sample is at least ~2 ms (timer resolution).
    const int inner = std::max(1, static_cast<int>(0.002 / std::max(once, 1e-7)));
    std::vector<double> samples;
    for (int r = 0; r < std::max(3, reps / inner); ++r) {
        const double s = now_seconds(o);
        for (int i = 0; i < inner; ++i) fn();
        samples.push_back((now_seconds(o) - s) / inner);
    }
    std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
    return samples[samples.size() / 2];
}

struct Result {
    double gemv_mem_gbps = 0, gemv_l2_gbps = 0, gemm_gflops = 0;
};

Result run_one(const TypeTraits& tt, ops::CpuPath path, const Options& o, ThreadPool& pool) {
    ops::set_cpu_path(path);
    ops::Context ctx{&pool};
    Result res;
    const int64_t cols = o.cols;
    const size_t rb = row_bytes(tt, cols);
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(cols * o.tokens));
    for (auto& v : x) v = normal(rng);

    auto gemv_gbps = [&](double bytes_target) {
        const int64_t rows = std::max<int64_t>(16, static_cast<int64_t>(bytes_target / static_cast<double>(rb)));
        std::vector<uint8_t> w = random_matrix(tt, rows, cols);
        const ops::Matrix m = as_used(tt, w, cols, rows, rb);
        std::vector<float> y(static_cast<size_t>(rows));
        const double s = time_per_call([&] { ops::matmul(ctx, m, x.data(), 1, y.data()); }, o, o.seconds);
        return static_cast<double>(w.size()) / s / 1e9;
    };
    res.gemv_mem_gbps = gemv_gbps(o.mem_mb * 1e6);
    res.gemv_l2_gbps = gemv_gbps(o.l2_kb * 1e3);

    std::vector<uint8_t> w = random_matrix(tt, o.rows, cols);
    const ops::Matrix m = as_used(tt, w, cols, o.rows, rb);
    std::vector<float> y(static_cast<size_t>(o.rows * o.tokens));
    const double s = time_per_call([&] { ops::matmul(ctx, m, x.data(), o.tokens, y.data()); }, o,
                                   path == ops::CpuPath::Scalar ? o.seconds / 3 : o.seconds);
    res.gemm_gflops = 2.0 * static_cast<double>(o.rows * cols * o.tokens) / s / 1e9;
    return res;
}

int main_impl(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) fail("{} needs a value", a);
            return argv[++i];
        };
        if (a == "-t" || a == "--threads") o.threads = std::stoi(next());
        else if (a == "--types") o.types = split(next());
        else if (a == "--paths") o.paths = split(next());
        else if (a == "--mem-mb") o.mem_mb = std::stod(next());
        else if (a == "--l2-kb") o.l2_kb = std::stod(next());
        else if (a == "--tokens") o.tokens = std::stoll(next());
        else if (a == "--rows") o.rows = std::stoll(next());
        else if (a == "--cols") o.cols = std::stoll(next());
        else if (a == "--seconds") o.seconds = std::stod(next());
        else if (a == "--no-probe") o.probe = false;
        else if (a == "--cpu-time") o.cpu_time = true;
        else fail("unknown option '{}' (see the comment at the top of bench/kernels/matmul_bench.cpp)", a);
    }
    std::vector<ops::CpuPath> paths;
    if (o.paths.empty()) paths = ops::supported_cpu_paths();
    else
        for (const auto& p : o.paths) paths.push_back(ops::parse_cpu_path(p.c_str()));

    ThreadPool pool(o.threads);
    std::printf("clock: %s\n", o.cpu_time ? "process CPU time / threads" : "wall");
    std::printf("threads %d; gemv: %.0f MB of weights (mem) and %.0f KB (L2), cols %lld; gemm: %lld x %lld, %lld tokens\n",
                o.threads, o.mem_mb, o.l2_kb, static_cast<long long>(o.cols), static_cast<long long>(o.rows),
                static_cast<long long>(o.cols), static_cast<long long>(o.tokens));
    if (o.probe) {
        const BandwidthProbe bw = measure_read_bandwidth(o.threads, size_t(512) << 20, 3);
        std::printf("streaming read bandwidth (probe): %.1f GB/s\n", bw.gbps);
    }
    std::printf("%-6s %-7s %14s %14s %14s\n", "type", "path", "gemv mem GB/s", "gemv L2 GB/s", "gemm GFLOP/s");
    std::vector<std::string> types = o.types;
    if (types.empty())
        for (uint32_t id = 0; id < 64; ++id)
            if (const TypeTraits* t = find_type_traits(id); t && t->supported()) types.push_back(t->name);
    for (const auto& name : types) {
        const TypeTraits& tt = traits_named(name);
        for (ops::CpuPath p : paths) {
            const Result r = run_one(tt, p, o, pool);
            std::printf("%-6s %-7s %14.1f %14.1f %14.1f\n", tt.name, ops::cpu_path_name(p), r.gemv_mem_gbps,
                        r.gemv_l2_gbps, r.gemm_gflops);
            std::fflush(stdout);
        }
    }
    return 0;
}

}  // namespace
}  // namespace hearth

int main(int argc, char** argv) {
    try {
        return hearth::main_impl(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hearth_kernel_bench: error: %s\n", e.what());
        return 1;
    }
}
