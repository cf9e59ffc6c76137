#include "ops/cpu/dispatch.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "common/error.h"

namespace hearth::ops {
namespace {

#if defined(__x86_64__)
// CPUID leaf 1, ECX bit 29. Not __builtin_cpu_supports("f16c"): clang before 15 rejects that
// name (the fuzz build uses clang). The OS's saving of the YMM registers is covered by "avx2".
bool has_f16c() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
}
#endif

bool detect(CpuPath path) {
    switch (path) {
        case CpuPath::Scalar: return true;
#if defined(__x86_64__)  // the SIMD files are built for x86-64 only
        // __builtin_cpu_supports checks cpuid and that the OS saves the wider registers (xgetbv).
        case CpuPath::Avx2:
            return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
        case CpuPath::Avx512:
            return detect(CpuPath::Avx2) && __builtin_cpu_supports("avx512f") &&
                   __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                   __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni");
#else
        default: return false;
#endif
    }
    return false;
}

CpuPath best_path() {
    if (detect(CpuPath::Avx512)) return CpuPath::Avx512;
    if (detect(CpuPath::Avx2)) return CpuPath::Avx2;
    return CpuPath::Scalar;
}

std::atomic<int> g_path{-1};
std::once_flag g_init;

void init_from_environment() {
    CpuPath path = best_path();
    if (const char* env = std::getenv("HEARTH_CPU"); env && *env) {
        path = parse_cpu_path(env);
        if (!detect(path)) fail("HEARTH_CPU={}: this CPU does not support the {} path", env, env);
    }
    g_path.store(static_cast<int>(path));
}

}  // namespace

const char* cpu_path_name(CpuPath path) {
    switch (path) {
        case CpuPath::Scalar: return "scalar";
        case CpuPath::Avx2: return "avx2";
        case CpuPath::Avx512: return "avx512";
    }
    return "?";
}

bool cpu_path_supported(CpuPath path) { return detect(path); }

std::vector<CpuPath> supported_cpu_paths() {
    std::vector<CpuPath> paths;
    for (CpuPath p : {CpuPath::Scalar, CpuPath::Avx2, CpuPath::Avx512})
        if (detect(p)) paths.push_back(p);
    return paths;
}

CpuPath parse_cpu_path(const char* name) {
    for (CpuPath p : {CpuPath::Scalar, CpuPath::Avx2, CpuPath::Avx512})
        if (std::strcmp(name, cpu_path_name(p)) == 0) return p;
    fail("unknown CPU path '{}' (expected scalar, avx2 or avx512)", name);
}

CpuPath active_cpu_path() {
    // An invalid HEARTH_CPU throws here, every time it is asked, not only the first.
    if (g_path.load(std::memory_order_acquire) < 0) {
        std::call_once(g_init, init_from_environment);
    }
    return static_cast<CpuPath>(g_path.load(std::memory_order_acquire));
}

void set_cpu_path(CpuPath path) {
    if (!detect(path)) fail("this CPU does not support the {} path", cpu_path_name(path));
    std::call_once(g_init, [] {});  // an explicit choice replaces the environment's
    g_path.store(static_cast<int>(path), std::memory_order_release);
}

}  // namespace hearth::ops
