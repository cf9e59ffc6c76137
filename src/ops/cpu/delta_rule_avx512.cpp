// The gated delta rule's kernels (delta_rule_kernel.h), AVX-512: 16-lane float vectors; the
// matrix products keep 4 rows × 4 vectors of accumulators, the token loop 2 vectors (32 columns) of S.
#if defined(__x86_64__)  // the build adds this file's -m flags on x86-64 only (CMakeLists.txt)
#include "ops/cpu/avx512_common.h"
#include "ops/cpu/delta_rule_kernel.h"

namespace hearth::ops::cpu {
namespace {

struct Avx512 {
    using Vec = __m512;
    static constexpr int kLanes = 16;
    static constexpr int kGemmVectors = 4;
    static constexpr int kTokenVectors = 2;
    static Vec zero() { return _mm512_setzero_ps(); }
    static Vec set1(float x) { return _mm512_set1_ps(x); }
    static Vec load(const float* p) { return _mm512_loadu_ps(p); }
    static void store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
    static Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
    static Vec mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
    static Vec sub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
};

}  // namespace

void add_delta_rule_kernels_avx512(KernelTable& table) {
    table.small_gemm_f32 = &DeltaRuleKernel<Avx512>::gemm;
    table.delta_tokens = &DeltaRuleKernel<Avx512>::tokens;
}

}  // namespace hearth::ops::cpu
#endif  // __x86_64__
