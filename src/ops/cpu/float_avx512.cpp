// F32, F16 and BF16 weights with float activations, AVX-512: the 16-lane loads of each weight
// format and the vector operations for the width-generic kernel (float_kernel.h), with masked
// loads for the last partial vector of a row.
#if defined(__x86_64__)  // the build adds this file's -m flags on x86-64 only (CMakeLists.txt)
#include "ops/cpu/avx512_common.h"
#include "ops/cpu/float_kernel.h"

namespace hearth::ops::cpu {
namespace {

struct Avx512 {
    using Vec = __m512;
    using Mask = __mmask16;
    static constexpr int kLanes = 16;
    static constexpr bool kMaskedTail = true;
    static Vec zero() { return _mm512_setzero_ps(); }
    static Vec load(const float* p) { return _mm512_loadu_ps(p); }
    static Vec load_part(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
    static Mask tail_mask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1); }
    static Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
    static float hsum(Vec v) { return cpu::hsum(v); }
};

struct F32Weights {
    static constexpr size_t kElemBytes = 4;
    static __m512 load(const uint8_t* row, int64_t k) {
        return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + k);
    }
    static __m512 load_part(const uint8_t* row, int64_t k, __mmask16 m) {
        return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + k);
    }
};

struct F16Weights {
    static constexpr size_t kElemBytes = 2;
    static __m512 load(const uint8_t* row, int64_t k) { return _mm512_cvtph_ps(loadu256(row + 2 * k)); }
    static __m512 load_part(const uint8_t* row, int64_t k, __mmask16 m) {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + 2 * k));
    }
};

struct BF16Weights {
    static constexpr size_t kElemBytes = 2;
    // bfloat16 is the top half of a float32.
    static __m512 widen(__m256i v) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16)); }
    static __m512 load(const uint8_t* row, int64_t k) { return widen(loadu256(row + 2 * k)); }
    static __m512 load_part(const uint8_t* row, int64_t k, __mmask16 m) {
        return widen(_mm256_maskz_loadu_epi16(m, row + 2 * k));
    }
};

template <class W>
void gemm_float(const GemmArgs& a, int64_t r0, int64_t r1) {
    gemm_entry<FloatKernel<Avx512, W>, 4, 4, 4>(a, r0, r1);
}

}  // namespace

void add_float_kernels_avx512(KernelTable& table) {
    table.by_type[slot(TensorType::F32)] = Kernel{gemm_float<F32Weights>};
    table.by_type[slot(TensorType::F16)] = Kernel{gemm_float<F16Weights>};
    table.by_type[slot(TensorType::BF16)] = Kernel{gemm_float<BF16Weights>};
}

}  // namespace hearth::ops::cpu

#endif  // __x86_64__
