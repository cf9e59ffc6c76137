// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, MXFP4 weights (blocks of 32) against Q8_32 activations,
// AVX2. IQ4_NL and MXFP4 look their codes up in a 16-entry table (vpshufb) and are signed
// like Q8_0 (|values| ≤ 127, so the int16 pair sums stay below 2 · 127 · 127).
//
// For weight block b of row i and activation block b of token j:
//   Σ w·x = d_w · d_x · Σ q_w · q_x  +  c_w · s_x
// where q_w are the block's codes as unsigned bytes (Q4: 0..15, Q5: 0..31), c_w the weight
// block's offset coefficient (Q4_0: −8·d, Q5_0: −16·d, Q4_1/Q5_1: the min m) and s_x = d_x · Σ q_x
// (stored with the activations). Q8_0 codes are signed, so its products take the sign of the
// weight onto the activation (|q_w| · sign(q_w)·q_x) to feed maddubs its unsigned × signed
// operands. The integer products stay in int16 pairs without saturation: 2 · 31 · 127 for
// the unsigned codes, 2 · 128 · 127 for Q8_0.
//
// Rows are walked in runs of kRun blocks. Per run and weight row, the fp16 scales (and
// offset coefficients) of the run's blocks are gathered into float vectors once; the
// products d_w · d_x for each token go to a small table that the main loop broadcasts from.
// The offset term Σ_b c_w[b] · s_x[b] needs no codes, so it is a plain vector dot per run.
#if defined(__x86_64__)  // the build adds this file's -m flags on x86-64 only (CMakeLists.txt)
#include "ops/cpu/avx2_common.h"

namespace hearth::ops::cpu {
namespace {

constexpr int kRun = 32;  // blocks per run: four vectors of 8 scales

// Lanes i < n all ones.
inline __m256i first_lanes(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The fp16 at byte kOffset of each of the first n (<= 8) blocks from `blocks`, as floats.
template <size_t kBytes, size_t kOffset>
inline __m256 gather_halves(const uint8_t* blocks, int n) {
    const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                           _mm256_set1_epi32(static_cast<int>(kBytes)));
    // 4 bytes per lane, all inside the block (the fields sit at least 2 bytes before its end).
    __m256i v = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), reinterpret_cast<const int*>(blocks + kOffset),
                                            idx, first_lanes(n), 1);
    // The low 16 bits of each lane, packed into the low 128 bits.
    v = _mm256_shuffle_epi8(v, _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1, 0, 1, 4,
                                                5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1));
    v = _mm256_permute4x64_epi64(v, 0x08);
    return _mm256_cvtph_ps(_mm256_castsi256_si128(v));
}

inline __m256i nibbles(const uint8_t* qs) {
    // Low nibbles are elements 0..15, high nibbles 16..31.
    const __m128i raw = loadu128(qs);
    const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(raw), _mm_srli_epi16(raw, 4), 1);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// Bit i of qh (i = 0..31) as 0x10 in byte i, else 0.
inline __m256i fifth_bits(const uint8_t* qh_bytes) {
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(static_cast<int>(load_u32(qh_bytes))),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3,
                         3, 3, 3));
    const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ULL));
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
    return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// Blocks whose scale is an fp16 at byte 0.
template <size_t kBlockBytes>
struct Fp16Scale {
    static __m256 scales(const uint8_t* blocks, int n) { return gather_halves<kBlockBytes, 0>(blocks, n); }
};

struct Q4_0 : Fp16Scale<18> {
    static constexpr size_t kBytes = 18;  // d | qs[16]
    static constexpr bool kSigned = false;
    static __m256i codes(const uint8_t* b) { return nibbles(b + 2); }
    static constexpr bool kHasCoef = true;
    static __m256 coefs(const uint8_t*, __m256 d, int) { return _mm256_mul_ps(d, _mm256_set1_ps(-8.0f)); }
};

struct Q4_1 : Fp16Scale<20> {
    static constexpr size_t kBytes = 20;  // d | m | qs[16]
    static constexpr bool kSigned = false;
    static __m256i codes(const uint8_t* b) { return nibbles(b + 4); }
    static constexpr bool kHasCoef = true;
    static __m256 coefs(const uint8_t* blocks, __m256, int n) { return gather_halves<kBytes, 2>(blocks, n); }
};

struct Q5_0 : Fp16Scale<22> {
    static constexpr size_t kBytes = 22;  // d | qh[4] | qs[16]
    static constexpr bool kSigned = false;
    static __m256i codes(const uint8_t* b) { return _mm256_or_si256(nibbles(b + 6), fifth_bits(b + 2)); }
    static constexpr bool kHasCoef = true;
    static __m256 coefs(const uint8_t*, __m256 d, int) { return _mm256_mul_ps(d, _mm256_set1_ps(-16.0f)); }
};

struct Q5_1 : Fp16Scale<24> {
    static constexpr size_t kBytes = 24;  // d | m | qh[4] | qs[16]
    static constexpr bool kSigned = false;
    static __m256i codes(const uint8_t* b) { return _mm256_or_si256(nibbles(b + 8), fifth_bits(b + 4)); }
    static constexpr bool kHasCoef = true;
    static __m256 coefs(const uint8_t* blocks, __m256, int n) { return gather_halves<kBytes, 2>(blocks, n); }
};

struct Q8_0 : Fp16Scale<34> {
    static constexpr size_t kBytes = 34;  // d | qs[32]
    static constexpr bool kSigned = true;
    static __m256i codes(const uint8_t* b) { return loadu256(b + 2); }
    static constexpr bool kHasCoef = false;
    static __m256 coefs(const uint8_t*, __m256 d, int) { return d; }
};

// IQ4_NL: value = d · kIq4nlValues[code], signed, no offset.
struct IQ4_NL : Fp16Scale<18> {
    static constexpr size_t kBytes = 18;  // d | qs[16]
    static constexpr bool kSigned = true;
    static __m256i codes(const uint8_t* b) {
        const __m256i table = _mm256_broadcastsi128_si256(
            _mm_setr_epi8(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113));
        return _mm256_shuffle_epi8(table, nibbles(b + 2));
    }
    static constexpr bool kHasCoef = false;
    static __m256 coefs(const uint8_t*, __m256 d, int) { return d; }
};

// MXFP4: value = kMxfp4Values[code] · 2^(e − 128), e the block's first byte (E8M0).
struct MXFP4 {
    static constexpr size_t kBytes = 17;  // e | qs[16]
    static constexpr bool kSigned = true;
    static __m256i codes(const uint8_t* b) {
        const __m256i table = _mm256_broadcastsi128_si256(_mm_setr_epi8(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12));
        return _mm256_shuffle_epi8(table, nibbles(b + 1));
    }
    static constexpr bool kHasCoef = false;
    static __m256 coefs(const uint8_t*, __m256 d, int) { return d; }
    // The float 2^(e − 128) of each of the first n blocks: biased exponent e − 1, or for e < 2
    // the subnormal 0x00200000 << e (as ggml_e8m0_to_fp32_half).
    static __m256 scales(const uint8_t* blocks, int n) {
        const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(static_cast<int>(kBytes)));
        const __m256i raw = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), reinterpret_cast<const int*>(blocks), idx,
                                                        first_lanes(n), 1);
        const __m256i e = _mm256_and_si256(raw, _mm256_set1_epi32(0xFF));
        const __m256i normal = _mm256_slli_epi32(_mm256_sub_epi32(e, _mm256_set1_epi32(1)), 23);
        const __m256i tiny = _mm256_sllv_epi32(_mm256_set1_epi32(0x00200000), e);
        const __m256i small = _mm256_cmpgt_epi32(_mm256_set1_epi32(2), e);
        return _mm256_castsi256_ps(_mm256_blendv_epi8(normal, tiny, small));
    }
};

template <class B>
struct LegacyKernel {
    template <int R, int T>
    static void tile(const GemmArgs& a, int64_t r, int64_t t) {
        const int64_t nb = a.cols / 32;
        const uint8_t* w[R];
        TokenRow x_rows[T];
        token_rows(a, t, T, x_rows);
        for (int i = 0; i < R; ++i) w[i] = a.w + static_cast<size_t>(r + i) * a.w_stride;
        __m256 acc[R][T];
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
        const __m256i ones = _mm256_set1_epi16(1);
        alignas(32) float products[R][T][kRun];
        const size_t ahead = R * a.w_stride;
        for (int64_t run = 0; run < nb; run += kRun) {
            const int n = static_cast<int>(nb - run < kRun ? nb - run : kRun);
            for (int g = 0; g < kRun / 8 && 8 * g < n; ++g) {
                const __m256i m = first_lanes(n - 8 * g);
                for (int i = 0; i < R; ++i) {
                    const uint8_t* first = w[i] + (run + 8 * g) * B::kBytes;
                    const __m256 d = B::scales(first, n - 8 * g);
                    const __m256 c = B::coefs(first, d, n - 8 * g);
                    for (int j = 0; j < T; ++j) {
                        _mm256_store_ps(products[i][j] + 8 * g, _mm256_mul_ps(d, _mm256_maskload_ps(x_rows[j].d + run + 8 * g, m)));
                        // The offset term lands in the same accumulator: only its total matters.
                        if constexpr (B::kHasCoef)
                            acc[i][j] = _mm256_fmadd_ps(c, _mm256_maskload_ps(x_rows[j].s + run + 8 * g, m), acc[i][j]);
                    }
                }
            }
            for (int k = 0; k < n; ++k) {
                const int64_t b = run + k;
                __m256i q[R], uq[R];
                for (int i = 0; i < R; ++i) {
                    const uint8_t* blk = w[i] + b * B::kBytes;
                    // Prefetch the same place in the next row tile (see legacy_quant_avx512.cpp).
                    _mm_prefetch(reinterpret_cast<const char*>(blk) + ahead, _MM_HINT_T0);
                    q[i] = B::codes(blk);
                    uq[i] = B::kSigned ? _mm256_sign_epi8(q[i], q[i]) : q[i];
                }
                for (int j = 0; j < T; ++j) {
                    const __m256i xv = loadu256(x_rows[j].q + 32 * b);
                    for (int i = 0; i < R; ++i) {
                        const __m256i sx = B::kSigned ? _mm256_sign_epi8(xv, q[i]) : xv;
                        const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(uq[i], sx), ones);
                        acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_broadcast_ss(products[i][j] + k),
                                                    acc[i][j]);
                    }
                }
            }
        }
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j) a.y[(t + j) * a.y_stride + r + i] = hsum(acc[i][j]);
    }
};

template <class B>
void gemm_legacy(const GemmArgs& a, int64_t r0, int64_t r1) {
    gemm_entry<LegacyKernel<B>, 4, 2, 4>(a, r0, r1);
}

}  // namespace

void add_legacy_quant_kernels_avx2(KernelTable& table) {
    table.by_type[slot(TensorType::Q4_0)] = Kernel{gemm_legacy<Q4_0>};
    table.by_type[slot(TensorType::Q4_1)] = Kernel{gemm_legacy<Q4_1>};
    table.by_type[slot(TensorType::Q5_0)] = Kernel{gemm_legacy<Q5_0>};
    table.by_type[slot(TensorType::Q5_1)] = Kernel{gemm_legacy<Q5_1>};
    table.by_type[slot(TensorType::Q8_0)] = Kernel{gemm_legacy<Q8_0>};
    table.by_type[slot(TensorType::IQ4_NL)] = Kernel{gemm_legacy<IQ4_NL>};
    table.by_type[slot(TensorType::MXFP4)] = Kernel{gemm_legacy<MXFP4>};
}

}  // namespace hearth::ops::cpu

#endif  // __x86_64__
