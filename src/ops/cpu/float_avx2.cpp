// F32, F16 and BF16 weights with float activations, AVX2 + FMA + F16C. Each weight vector
// is converted to float once per tile and multiplied into R × T accumulators; the
// activations stay float32, so the only difference from the scalar reference is the
// order of the additions.
#if defined(__x86_64__)  // the build adds this file's -m flags on x86-64 only (CMakeLists.txt)
#include "ops/cpu/avx2_common.h"

namespace hearth::ops::cpu {
namespace {

struct F32Weights {
    static constexpr size_t kElemBytes = 4;
    static __m256 load8(const uint8_t* row, int64_t k) {
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
    static __m256 load8(const uint8_t* row, int64_t k) { return _mm256_cvtph_ps(loadu128(row + 2 * k)); }
    static float load1(const uint8_t* row, int64_t k) { return load_half(row + 2 * k); }
};

struct BF16Weights {
    static constexpr size_t kElemBytes = 2;
    // bfloat16 is the top half of a float32.
    static __m256 load8(const uint8_t* row, int64_t k) {
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
struct FloatKernel {
    template <int R, int T>
    static void tile(const GemmArgs& a, int64_t r, int64_t t) {
        const uint8_t* w[R];
        const float* x[T];
        for (int i = 0; i < R; ++i) w[i] = a.w + static_cast<size_t>(r + i) * a.w_stride;
        for (int j = 0; j < T; ++j) x[j] = reinterpret_cast<const float*>(a.x + static_cast<size_t>(t + j) * a.x_stride);
        __m256 acc[R][T];
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
        int64_t k = 0;
        const size_t ahead = R * a.w_stride;  // prefetch the same place in the next row tile
        for (; k + 8 <= a.cols; k += 8) {
            __m256 wv[R];
            for (int i = 0; i < R; ++i) {
                _mm_prefetch(reinterpret_cast<const char*>(w[i] + k * W::kElemBytes + ahead), _MM_HINT_T0);
                wv[i] = W::load8(w[i], k);
            }
            for (int j = 0; j < T; ++j) {
                const __m256 xv = _mm256_loadu_ps(x[j] + k);
                for (int i = 0; i < R; ++i) acc[i][j] = _mm256_fmadd_ps(wv[i], xv, acc[i][j]);
            }
        }
        for (int i = 0; i < R; ++i) {
            for (int j = 0; j < T; ++j) {
                float s = hsum(acc[i][j]);
                for (int64_t kk = k; kk < a.cols; ++kk) s += W::load1(w[i], kk) * x[j][kk];
                a.y[(t + j) * a.y_stride + r + i] = s;
            }
        }
    }
};

template <class W>
void gemm_float(const GemmArgs& a, int64_t r0, int64_t r1) {
    gemm_entry<FloatKernel<W>, 4, 2, 4>(a, r0, r1);
}

}  // namespace

void add_float_kernels_avx2(KernelTable& table) {
    table.by_type[slot(TensorType::F32)] = Kernel{gemm_float<F32Weights>};
    table.by_type[slot(TensorType::F16)] = Kernel{gemm_float<F16Weights>};
    table.by_type[slot(TensorType::BF16)] = Kernel{gemm_float<BF16Weights>};
}

}  // namespace hearth::ops::cpu

#endif  // __x86_64__
