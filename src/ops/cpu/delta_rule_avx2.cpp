// The gated delta rule's kernels (delta_rule_kernel.h), AVX2 + FMA: 8-lane float vectors; the
// matrix products keep 4 rows × 2 vectors of accumulators, the token loop 4 vectors (32 columns) of S.
#if defined(__x86_64__)  // the build adds this file's -m flags on x86-64 only (CMakeLists.txt)
#include "ops/cpu/avx2_common.h"
#include "ops/cpu/delta_rule_kernel.h"

namespace hearth::ops::cpu {
namespace {

struct Avx2 {
    using Vec = __m256;
    static constexpr int kLanes = 8;
    static constexpr int kGemmVectors = 2;
    static constexpr int kTokenVectors = 4;
    static Vec zero() { return _mm256_setzero_ps(); }
    static Vec set1(float x) { return _mm256_set1_ps(x); }
    static Vec load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
    static Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
    static Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
    static Vec sub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
};

}  // namespace

void add_delta_rule_kernels_avx2(KernelTable& table) {
    table.small_gemm_f32 = &DeltaRuleKernel<Avx2>::gemm;
    table.delta_tokens = &DeltaRuleKernel<Avx2>::tokens;
}

}  // namespace hearth::ops::cpu
#endif  // __x86_64__
