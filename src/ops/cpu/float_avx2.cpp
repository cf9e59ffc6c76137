// F32, F16 and BF16 weights with float activations, AVX2 + FMA + F16C: the 8-lane loads of
// each weight format and the vector operations for the width-generic kernel (float_kernel.h).
// The last partial vector of a row is summed in scalar.
#if defined(__x86_64__)  // the build adds this file's -m flags on x86-64 only (CMakeLists.txt)
#include "ops/cpu/avx2_common.h"
#include "ops/cpu/float_kernel.h"

namespace hearth::ops::cpu {
namespace {

struct Avx2 {
    using Vec = __m256;
    static constexpr int kLanes = 8;
    static constexpr bool kMaskedTail = false;
    static Vec zero() { return _mm256_setzero_ps(); }
    static Vec load(const float* p) { return _mm256_loadu_ps(p); }
    static Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
    static float hsum(Vec v) { return cpu::hsum(v); }
};

struct F32Weights {
    static constexpr size_t kElemBytes = 4;
    static __m256 load(const uint8_t* row, int64_t k) {
        return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + k);
    }
    static float load1(const uint8_t* row, int64_t k) {
        float v;
        std::memcpy(&v, row + 4 * k, sizeof v);
        return v;
    }
};

struct F16Weights {
    static constexpr size_t kElemBytes = 2;
    static __m256 load(const uint8_t* row, int64_t k) { return _mm256_cvtph_ps(loadu128(row + 2 * k)); }
    static float load1(const uint8_t* row, int64_t k) { return load_half(row + 2 * k); }
};

struct BF16Weights {
    static constexpr size_t kElemBytes = 2;
    // bfloat16 is the top half of a float32.
    static __m256 load(const uint8_t* row, int64_t k) {
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(loadu128(row + 2 * k)), 16));
    }
    static float load1(const uint8_t* row, int64_t k) {
        uint16_t b;
        std::memcpy(&b, row + 2 * k, sizeof b);
        const uint32_t bits = static_cast<uint32_t>(b) << 16;
        float v;
        std::memcpy(&v, &bits, sizeof v);
        return v;
    }
};

template <class W>
void gemm_float(const GemmArgs& a, int64_t r0, int64_t r1) {
    gemm_entry<FloatKernel<Avx2, W>, 4, 2, 4>(a, r0, r1);
}

}  // namespace

void add_float_kernels_avx2(KernelTable& table) {
    table.by_type[slot(TensorType::F32)] = Kernel{gemm_float<F32Weights>};
    table.by_type[slot(TensorType::F16)] = Kernel{gemm_float<F16Weights>};
    table.by_type[slot(TensorType::BF16)] = Kernel{gemm_float<BF16Weights>};
}

}  // namespace hearth::ops::cpu

#endif  // __x86_64__
