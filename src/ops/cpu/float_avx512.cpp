// F32, F16 and BF16 weights with float activations, AVX-512. As float_avx2.cpp with 16 lanes
// and masked loads for the last partial vector of a row.
#if defined(__x86_64__)  // the build adds this file's -m flags on x86-64 only (CMakeLists.txt)
#include "ops/cpu/avx512_common.h"

namespace hearth::ops::cpu {
namespace {

struct F32Weights {
    static constexpr size_t kElemBytes = 4;
    static __m512 load16(const uint8_t* row, int64_t k) {
        return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + k);
    }
    static __m512 load_part(const uint8_t* row, int64_t k, __mmask16 m) {
        return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + k);
    }
};

struct F16Weights {
    static constexpr size_t kElemBytes = 2;
    static __m512 load16(const uint8_t* row, int64_t k) { return _mm512_cvtph_ps(loadu256(row + 2 * k)); }
    static __m512 load_part(const uint8_t* row, int64_t k, __mmask16 m) {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + 2 * k));
    }
};

struct BF16Weights {
    static constexpr size_t kElemBytes = 2;
    // bfloat16 is the top half of a float32.
    static __m512 widen(__m256i v) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16)); }
    static __m512 load16(const uint8_t* row, int64_t k) { return widen(loadu256(row + 2 * k)); }
    static __m512 load_part(const uint8_t* row, int64_t k, __mmask16 m) {
        return widen(_mm256_maskz_loadu_epi16(m, row + 2 * k));
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
        __m512 acc[R][T];
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j) acc[i][j] = _mm512_setzero_ps();
        int64_t k = 0;
        const size_t ahead = R * a.w_stride;  // prefetch the same place in the next row tile
        for (; k + 16 <= a.cols; k += 16) {
            __m512 wv[R];
            for (int i = 0; i < R; ++i) {
                _mm_prefetch(reinterpret_cast<const char*>(w[i] + k * W::kElemBytes + ahead), _MM_HINT_T0);
                wv[i] = W::load16(w[i], k);
            }
            for (int j = 0; j < T; ++j) {
                const __m512 xv = _mm512_loadu_ps(x[j] + k);
                for (int i = 0; i < R; ++i) acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
            }
        }
        if (k < a.cols) {
            const __mmask16 m = static_cast<__mmask16>((1u << (a.cols - k)) - 1);
            __m512 wv[R];
            for (int i = 0; i < R; ++i) wv[i] = W::load_part(w[i], k, m);
            for (int j = 0; j < T; ++j) {
                const __m512 xv = _mm512_maskz_loadu_ps(m, x[j] + k);
                for (int i = 0; i < R; ++i) acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
            }
        }
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j) a.y[(t + j) * a.y_stride + r + i] = hsum(acc[i][j]);
    }
};

template <class W>
void gemm_float(const GemmArgs& a, int64_t r0, int64_t r1) {
    gemm_entry<FloatKernel<W>, 4, 4, 4>(a, r0, r1);
}

}  // namespace

void add_float_kernels_avx512(KernelTable& table) {
    table.by_type[slot(TensorType::F32)] = Kernel{gemm_float<F32Weights>};
    table.by_type[slot(TensorType::F16)] = Kernel{gemm_float<F16Weights>};
    table.by_type[slot(TensorType::BF16)] = Kernel{gemm_float<BF16Weights>};
}

}  // namespace hearth::ops::cpu

#endif  // __x86_64__
