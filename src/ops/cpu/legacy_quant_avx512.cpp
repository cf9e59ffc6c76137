// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, MXFP4 weights (blocks of 32) against Q8_32 activations,
// AVX-512 VNNI. IQ4_NL and MXFP4 look their codes up in a 16-entry table (vpshufb) and are
// signed like Q8_0.
// The arithmetic is that of legacy_quant_avx2.cpp; here two blocks share a 512-bit vector
// (block b in bytes 0..31, block b + 1 in 32..63) and dpbusd does the unsigned × signed
// products and their sums in one instruction. The int32 lanes 0..7 then belong to block b
// and 8..15 to block b + 1, so the float scale vector is [d_b ×8 | d_b+1 ×8].
//
// Rows are walked in runs of kRun blocks. Per run and weight row, the fp16 scales (and
// offset coefficients) of the run's blocks are gathered into float vectors once; the
// products d_w · d_x for each token go to a small table, from which the main loop expands
// one pair of scales per step. The offset/min term Σ_b c_w[b] · s_x[b] needs no codes, so
// it is a plain vector dot product per run.
#if defined(__x86_64__)  // the build adds this file's -m flags on x86-64 only (CMakeLists.txt)
#include "ops/cpu/avx512_common.h"

namespace hearth::ops::cpu {
namespace {

constexpr int kRun = 32;  // blocks per run: two vectors of 16 scales

// Codes of two Q4 blocks from their 16-byte nibble arrays: low nibbles are elements 0..15 of
// a block, high nibbles 16..31.
inline __m512i nibble_pair(const uint8_t* qs_a, const uint8_t* qs_b) {
    const __m512i v = join256(_mm256_broadcastsi128_si256(loadu128(qs_a)), _mm256_broadcastsi128_si256(loadu128(qs_b)));
    // 16-bit lanes 8..15 and 24..31 (the upper 16 bytes of each block) take the high nibbles.
    const __m512i shifted = _mm512_mask_srli_epi16(v, 0xFF00FF00u, v, 4);
    return _mm512_and_si512(shifted, set8(0x0F));
}

// Adds 16 to the codes whose fifth bit is set: bit i of the 32-bit qh of each block.
inline __m512i with_fifth_bits(__m512i codes, const uint8_t* qh_a, const uint8_t* qh_b) {
    const __mmask64 m = static_cast<__mmask64>(load_u32(qh_a)) | (static_cast<__mmask64>(load_u32(qh_b)) << 32);
    return _mm512_mask_add_epi8(codes, m, codes, set8(16));
}

inline __mmask16 first_lanes(int n) {
    return n >= 16 ? static_cast<__mmask16>(0xFFFF) : n <= 0 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << n) - 1);
}

// The fp16 at byte kOffset of each of the first n (<= 16) blocks from `blocks`, as floats.
template <size_t kBytes, size_t kOffset>
inline __m512 gather_halves(const uint8_t* blocks, int n) {
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32(static_cast<int>(kBytes)));
    // 4 bytes per lane, all inside the block (the fields sit at least 2 bytes before its end).
    const __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), first_lanes(n), idx, blocks + kOffset, 1);
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v));
}

// Blocks whose scale is an fp16 at byte 0.
template <size_t kBlockBytes>
struct Fp16Scale {
    static __m512 scales(const uint8_t* blocks, int n) { return gather_halves<kBlockBytes, 0>(blocks, n); }
};

// The 16 values of a codebook as bytes in every 128-bit lane, for vpshufb lookups.
inline __m512i iq4nl_table() {
    return _mm512_broadcast_i32x4(_mm_setr_epi8(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113));
}
inline __m512i mxfp4_table() {
    return _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12));
}

struct Q4_0 : Fp16Scale<18> {
    static constexpr size_t kBytes = 18;  // d | qs[16]
    static constexpr bool kSigned = false, kHasCoef = true;
    static __m512i codes(const uint8_t* a, const uint8_t* b) { return nibble_pair(a + 2, b + 2); }
    static __m512 coefs(const uint8_t*, __m512 d, int) { return _mm512_mul_ps(d, _mm512_set1_ps(-8.0f)); }
};

struct Q4_1 : Fp16Scale<20> {
    static constexpr size_t kBytes = 20;  // d | m | qs[16]
    static constexpr bool kSigned = false, kHasCoef = true;
    static __m512i codes(const uint8_t* a, const uint8_t* b) { return nibble_pair(a + 4, b + 4); }
    static __m512 coefs(const uint8_t* blocks, __m512, int n) { return gather_halves<kBytes, 2>(blocks, n); }
};

struct Q5_0 : Fp16Scale<22> {
    static constexpr size_t kBytes = 22;  // d | qh[4] | qs[16]
    static constexpr bool kSigned = false, kHasCoef = true;
    static __m512i codes(const uint8_t* a, const uint8_t* b) {
        return with_fifth_bits(nibble_pair(a + 6, b + 6), a + 2, b + 2);
    }
    static __m512 coefs(const uint8_t*, __m512 d, int) { return _mm512_mul_ps(d, _mm512_set1_ps(-16.0f)); }
};

struct Q5_1 : Fp16Scale<24> {
    static constexpr size_t kBytes = 24;  // d | m | qh[4] | qs[16]
    static constexpr bool kSigned = false, kHasCoef = true;
    static __m512i codes(const uint8_t* a, const uint8_t* b) {
        return with_fifth_bits(nibble_pair(a + 8, b + 8), a + 4, b + 4);
    }
    static __m512 coefs(const uint8_t* blocks, __m512, int n) { return gather_halves<kBytes, 2>(blocks, n); }
};

struct Q8_0 : Fp16Scale<34> {
    static constexpr size_t kBytes = 34;  // d | qs[32]
    static constexpr bool kSigned = true, kHasCoef = false;
    static __m512i codes(const uint8_t* a, const uint8_t* b) { return join256(loadu256(a + 2), loadu256(b + 2)); }
    static __m512 coefs(const uint8_t*, __m512 d, int) { return d; }
};

// IQ4_NL: value = d · kIq4nlValues[code], signed, no offset.
struct IQ4_NL : Fp16Scale<18> {
    static constexpr size_t kBytes = 18;  // d | qs[16]
    static constexpr bool kSigned = true, kHasCoef = false;
    static __m512i codes(const uint8_t* a, const uint8_t* b) { return _mm512_shuffle_epi8(iq4nl_table(), nibble_pair(a + 2, b + 2)); }
    static __m512 coefs(const uint8_t*, __m512 d, int) { return d; }
};

// MXFP4: value = kMxfp4Values[code] · 2^(e − 128), e the block's first byte (E8M0).
struct MXFP4 {
    static constexpr size_t kBytes = 17;  // e | qs[16]
    static constexpr bool kSigned = true, kHasCoef = false;
    static __m512i codes(const uint8_t* a, const uint8_t* b) { return _mm512_shuffle_epi8(mxfp4_table(), nibble_pair(a + 1, b + 1)); }
    static __m512 coefs(const uint8_t*, __m512 d, int) { return d; }
    // The float 2^(e − 128) of each of the first n blocks.
    static __m512 scales(const uint8_t* blocks, int n) {
        const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                               _mm512_set1_epi32(static_cast<int>(kBytes)));
        const __m512i raw = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), first_lanes(n), idx, blocks, 1);
        return e8m0_half_to_float(_mm512_and_si512(raw, _mm512_set1_epi32(0xFF)));
    }
};

template <class B>
struct LegacyKernel {
    // Blocks b, b + 1 (`kPair`) or the single last block b of a row (`!kPair`: its partner
    // lanes read the same block again and get scale 0, so nothing past the row is touched).
    // dd[i][j] points at the scale products of row i, token j for block b.
    template <int R, int T, bool kPair>
    static inline void step(const uint8_t* const* w, size_t ahead, const TokenRow* x_rows, int64_t b,
                            const float* const (&dd)[R][T], __m512 (&acc)[R][T]) {
        const __m512i expand = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
        __m512i uq[R];
        __mmask64 neg[R];
        for (int i = 0; i < R; ++i) {
            const uint8_t* blk_a = w[i] + b * B::kBytes;
            // Prefetch the same place in the next row tile: the rows of a tile are separate
            // streams that page boundaries interrupt, and the hardware prefetcher alone leaves
            // matrix × vector waiting on memory.
            _mm_prefetch(reinterpret_cast<const char*>(blk_a) + ahead, _MM_HINT_T0);
            const __m512i q = B::codes(blk_a, kPair ? blk_a + B::kBytes : blk_a);
            if constexpr (B::kSigned) {
                uq[i] = _mm512_abs_epi8(q);
                neg[i] = _mm512_movepi8_mask(q);
            } else {
                uq[i] = q;
                neg[i] = 0;
            }
        }
        for (int j = 0; j < T; ++j) {
            const __m512i xv = loadu512(x_rows[j].q + 32 * b);
            for (int i = 0; i < R; ++i) {
                const __m512i sx = B::kSigned ? _mm512_mask_sub_epi8(xv, neg[i], _mm512_setzero_si512(), xv) : xv;
                const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), uq[i], sx);
                const __m512 scale = kPair ? _mm512_permutexvar_ps(expand, _mm512_castps128_ps512(_mm_castpd_ps(
                                                                               _mm_load_sd(reinterpret_cast<const double*>(dd[i][j])))))
                                           : _mm512_maskz_broadcastss_ps(0x00FF, _mm_load_ss(dd[i][j]));
                acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc[i][j]);
            }
        }
    }

    template <int R, int T>
    static void tile(const GemmArgs& a, int64_t r, int64_t t) {
        const int64_t nb = a.cols / 32;
        const uint8_t* w[R];
        TokenRow x_rows[T];
        token_rows(a, t, T, x_rows);
        for (int i = 0; i < R; ++i) w[i] = a.w + static_cast<size_t>(r + i) * a.w_stride;
        __m512 acc[R][T];
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j) acc[i][j] = _mm512_setzero_ps();
        alignas(64) float products[R][T][kRun];
        const size_t ahead = R * a.w_stride;  // the same place in the next tile's rows
        for (int64_t run = 0; run < nb; run += kRun) {
            const int n = static_cast<int>(nb - run < kRun ? nb - run : kRun);
            const __mmask16 m0 = first_lanes(n), m1 = first_lanes(n - 16);
            for (int i = 0; i < R; ++i) {
                const uint8_t* first = w[i] + run * B::kBytes;
                const uint8_t* second = first + 16 * B::kBytes;
                const __m512 d0 = B::scales(first, n);
                const __m512 d1 = B::scales(second, n - 16);
                __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps();
                if constexpr (B::kHasCoef) {
                    c0 = B::coefs(first, d0, n);
                    c1 = B::coefs(second, d1, n - 16);
                }
                for (int j = 0; j < T; ++j) {
                    _mm512_store_ps(products[i][j], _mm512_mul_ps(d0, _mm512_maskz_loadu_ps(m0, x_rows[j].d + run)));
                    _mm512_store_ps(products[i][j] + 16, _mm512_mul_ps(d1, _mm512_maskz_loadu_ps(m1, x_rows[j].d + run + 16)));
                    if constexpr (B::kHasCoef) {
                        // The offset term lands in the same accumulator: only its total matters.
                        acc[i][j] = _mm512_fmadd_ps(c0, _mm512_maskz_loadu_ps(m0, x_rows[j].s + run), acc[i][j]);
                        acc[i][j] = _mm512_fmadd_ps(c1, _mm512_maskz_loadu_ps(m1, x_rows[j].s + run + 16), acc[i][j]);
                    }
                }
            }
            int k = 0;
            for (; k + 2 <= n; k += 2) {
                const float* dd[R][T];
                for (int i = 0; i < R; ++i)
                    for (int j = 0; j < T; ++j) dd[i][j] = products[i][j] + k;
                step<R, T, true>(w, ahead, x_rows, run + k, dd, acc);
            }
            if (k < n) {
                const float* dd[R][T];
                for (int i = 0; i < R; ++i)
                    for (int j = 0; j < T; ++j) dd[i][j] = products[i][j] + k;
                step<R, T, false>(w, ahead, x_rows, run + k, dd, acc);
            }
        }
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j) a.y[(t + j) * a.y_stride + r + i] = hsum(acc[i][j]);
    }
};

template <class B>
void gemm_legacy(const GemmArgs& a, int64_t r0, int64_t r1) {
    gemm_entry<LegacyKernel<B>, 4, 2, 8>(a, r0, r1);
}

}  // namespace

void add_legacy_quant_kernels_avx512(KernelTable& table) {
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
