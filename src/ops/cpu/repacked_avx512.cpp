// Q4_0, Q5_0, Q8_0, IQ4_NL, MXFP4, Q4_K and Q6_K weights in the x16 layout (repack.h) against Q8_32 / Q8_256
// activations, AVX-512 VNNI.
//
// Each 32-bit lane of a vector belongs to one of 16 weight rows. For a block of 32 elements,
// eight dpbusd of (4 code bytes per row) × (4 activation bytes of one token, broadcast) leave
// the 16 integer block sums in one vector; the block's float scales then apply to all 16
// rows at once. Compared with the row-layout kernels (one row per vector, a scale per block
// and row) this removes the per-block horizontal work: per block, token and 16 rows it is 8
// dpbusd + 1 convert + 3 float ops for 512 multiply-adds.
//
// Offsets and minimums use the activation sums s = d_x · Σq_x of the Q8 formats:
//   Q4_0   w = d·(c − 8)               → d·d_x·Σ c·q_x − 8·d·s  (Q5_0: c − 16, 16·d·s)
//   Q8_0   w = d·q, stored c = q + 128 → d·d_x·Σ c·q_x − 128·d·s
//   IQ4_NL w = d·v, looked up c = v + 128 (and MXFP4 c = v + 12, offset 12)
//   Q4_K   w = d·sc_g·c − dmin·m_g      → d_x·Σ_g d·sc_g·Σ c·q_x − Σ_g dmin·m_g·s_g
//   Q6_K   w = d·sc_g·(c − 32)           → d_x·Σ_g d·sc_g·Σ c·q_x − 32·Σ_g d·sc_g·s_g
#if defined(__x86_64__)  // the build adds this file's -m flags on x86-64 only (CMakeLists.txt)
#include "ops/cpu/avx512_common.h"

namespace hearth::ops::cpu {
namespace {

constexpr int kRows = 16;            // rows per group (repack.h's kInterleave)

inline __m512i bcast4(const int8_t* p) { return _mm512_set1_epi32(static_cast<int>(load_u32(reinterpret_cast<const uint8_t*>(p)))); }

// Σ over one block of 32: 8 code vectors (vector k pairs with activation bytes 4k..4k+3).
inline __m512i block_dot(const __m512i (&w)[8], const int8_t* x) {
    __m512i s0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[0], bcast4(x));
    __m512i s1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[1], bcast4(x + 4));
    s0 = _mm512_dpbusd_epi32(s0, w[2], bcast4(x + 8));
    s1 = _mm512_dpbusd_epi32(s1, w[3], bcast4(x + 12));
    s0 = _mm512_dpbusd_epi32(s0, w[4], bcast4(x + 16));
    s1 = _mm512_dpbusd_epi32(s1, w[5], bcast4(x + 20));
    s0 = _mm512_dpbusd_epi32(s0, w[6], bcast4(x + 24));
    s1 = _mm512_dpbusd_epi32(s1, w[7], bcast4(x + 28));
    return _mm512_add_epi32(s0, s1);
}

// The 8 code vectors of 4 chunks of packed nibbles: low nibbles of chunk m are vector m, high
// nibbles vector 4 + m.
inline void nibbles(const uint8_t* chunks, __m512i (&w)[8]) {
    const __m512i mask = set8(0x0F);
    for (int m = 0; m < 4; ++m) {
        const __m512i v = loadu512(chunks + 64 * m);
        w[m] = _mm512_and_si512(v, mask);
        w[4 + m] = _mm512_and_si512(_mm512_srli_epi16(v, 4), mask);
    }
}

inline void store_rows(const GemmArgs& a, int64_t r, int64_t r1, int64_t t, int j, __m512 v) {
    const int64_t n = r1 - r;
    const __mmask16 m = n >= kRows ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1);
    _mm512_mask_storeu_ps(a.y + (t + j) * a.y_stride + r, m, v);
}

// Blocks of 32 whose 16 rows' scales are fp16 at the start of the group block.
struct Fp16Scales {
    static __m512 scales(const uint8_t* blk) { return _mm512_cvtph_ps(loadu256(blk)); }
};

// Q4_0 / Q8_0: blocks of 32, one fp16 scale per row and block.
struct Q4_0x16 : Fp16Scales {
    static constexpr size_t kBlockBytes = 288;
    static constexpr float kOffset = -8.0f;
    static void codes(const uint8_t* blk, __m512i (&w)[8]) { nibbles(blk + 32, w); }
};

// Q5_0: Q4_0's nibbles plus a fifth bit (value = d·(c − 16)); the group's 16 u32 of fifth
// bits are arranged so that one shift per chunk brings each byte's bit to bit 4 (repack.cpp).
struct Q5_0x16 : Fp16Scales {
    static constexpr size_t kBlockBytes = 352;
    static constexpr float kOffset = -16.0f;
    static void codes(const uint8_t* blk, __m512i (&w)[8]) {
        nibbles(blk + 96, w);
        const __m512i h = loadu512(blk + 32), bit4 = set8(0x10);
        w[0] = _mm512_ternarylogic_epi32(w[0], _mm512_slli_epi32(h, 4), bit4, 0xF8);  // w | (h & bit4)
        w[1] = _mm512_ternarylogic_epi32(w[1], _mm512_slli_epi32(h, 3), bit4, 0xF8);
        w[2] = _mm512_ternarylogic_epi32(w[2], _mm512_slli_epi32(h, 2), bit4, 0xF8);
        w[3] = _mm512_ternarylogic_epi32(w[3], _mm512_slli_epi32(h, 1), bit4, 0xF8);
        w[4] = _mm512_ternarylogic_epi32(w[4], h, bit4, 0xF8);
        w[5] = _mm512_ternarylogic_epi32(w[5], _mm512_srli_epi32(h, 1), bit4, 0xF8);
        w[6] = _mm512_ternarylogic_epi32(w[6], _mm512_srli_epi32(h, 2), bit4, 0xF8);
        w[7] = _mm512_ternarylogic_epi32(w[7], _mm512_srli_epi32(h, 3), bit4, 0xF8);
    }
};

struct Q8_0x16 : Fp16Scales {
    static constexpr size_t kBlockBytes = 544;
    static constexpr float kOffset = -128.0f;
    static void codes(const uint8_t* blk, __m512i (&w)[8]) {
        for (int m = 0; m < 8; ++m) w[m] = loadu512(blk + 32 + 64 * m);
    }
};

// Codebook types: a nibble indexes 16 signed values; the lookup (vpshufb) returns them plus
// an offset that makes them unsigned for dpbusd, taken back through the activation sums.
inline void lookup(__m512i table, __m512i (&w)[8]) {
    for (__m512i& v : w) v = _mm512_shuffle_epi8(table, v);
}

// IQ4_NL: Q4_0's layout, value = d · kIq4nlValues[code] (−127 … 113), stored + 128.
struct IQ4_NLx16 : Fp16Scales {
    static constexpr size_t kBlockBytes = 288;
    static constexpr float kOffset = -128.0f;
    static void codes(const uint8_t* blk, __m512i (&w)[8]) {
        nibbles(blk + 32, w);
        lookup(_mm512_broadcast_i32x4(_mm_setr_epi8(1, 24, 45, 63, 79, 93, 106, 118, -127, -115, -103, -90, -75, -59,
                                                    -39, -15)),
               w);
    }
};

// MXFP4: value = kMxfp4Values[code] (−12 … 12) · 2^(e − 128), stored + 12; the 16 rows'
// E8M0 exponents are the first 16 bytes of the group block.
struct MXFP4x16 {
    static constexpr size_t kBlockBytes = 272;
    static constexpr float kOffset = -12.0f;
    static void codes(const uint8_t* blk, __m512i (&w)[8]) {
        nibbles(blk + 16, w);
        lookup(_mm512_broadcast_i32x4(_mm_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0)), w);
    }
    static __m512 scales(const uint8_t* blk) { return e8m0_half_to_float(_mm512_cvtepu8_epi32(loadu128(blk))); }
};

constexpr size_t kLegacyAhead = 4;

template <class B>
struct LegacyX16 {
    static constexpr int kTokens = 8;  // tokens per register tile
    // Rows r..r+16G-1 (G consecutive groups) × tokens t..t+T-1.
    template <int G, int T>
    static void tile(const GemmArgs& a, int64_t r, int64_t r1, int64_t t) {
        const int64_t nb = a.cols / 32;
        const uint8_t* group[G];
        for (int gi = 0; gi < G; ++gi) group[gi] = a.w + static_cast<size_t>(r / kRows + gi) * a.w_stride;
        TokenRow x[T];
        token_rows(a, t, T, x);
        __m512 acc[G][T];
        for (int gi = 0; gi < G; ++gi)
            for (int j = 0; j < T; ++j) acc[gi][j] = _mm512_setzero_ps();
        for (int64_t b = 0; b < nb; ++b) {
            for (int gi = 0; gi < G; ++gi) {
                const uint8_t* blk = group[gi] + b * B::kBlockBytes;
                for (size_t off = 0; off < B::kBlockBytes; off += 64)  // a few blocks ahead
                    _mm_prefetch(reinterpret_cast<const char*>(blk) + kLegacyAhead * B::kBlockBytes + off, _MM_HINT_T0);
                const __m512 d = B::scales(blk);
                const __m512 offset = _mm512_mul_ps(d, _mm512_set1_ps(B::kOffset));
                __m512i w[8];
                B::codes(blk, w);
                for (int j = 0; j < T; ++j) {
                    const __m512 dot = _mm512_cvtepi32_ps(block_dot(w, x[j].q + 32 * b));
                    acc[gi][j] = _mm512_fmadd_ps(_mm512_mul_ps(dot, _mm512_set1_ps(x[j].d[b])), d, acc[gi][j]);
                    acc[gi][j] = _mm512_fmadd_ps(offset, _mm512_set1_ps(x[j].s[b]), acc[gi][j]);
                }
            }
        }
        for (int gi = 0; gi < G; ++gi)
            for (int j = 0; j < T; ++j) store_rows(a, r + kRows * gi, r1, t, j, acc[gi][j]);
    }
};

// Q4_K: super-blocks of 256 = 8 sub-blocks of 32 with 6-bit scales and mins.
struct Q4_Kx16Blocks {
    static constexpr int kTokens = 8;
    static constexpr size_t kBlockBytes = 2368;
    static constexpr size_t kScales = 64, kMins = 192, kCodes = 320;

    static __m512 bytes_as_floats(const uint8_t* p) { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(loadu128(p))); }

    template <int T>
    static void super_block(const uint8_t* blk, const TokenRow (&x)[T], int64_t sb, __m512 (&acc)[T]) {
        const __m512 d = _mm512_cvtph_ps(loadu256(blk));
        const __m512 dmin = _mm512_cvtph_ps(loadu256(blk + 32));
        __m512 sums[T];
        for (int j = 0; j < T; ++j) sums[j] = _mm512_setzero_ps();
        for (int g = 0; g < 8; ++g) {
            // The next super-block of this group, 5 lines per sub-block (37 in all).
            for (int l = 0; l < 5; ++l)
                _mm_prefetch(reinterpret_cast<const char*>(blk) + kBlockBytes + 64 * (5 * g + l), _MM_HINT_T0);
            const uint8_t* chunks = blk + kCodes + 512 * (g / 2);
            __m512i w[8];
            const __m512i mask = set8(0x0F);
            for (int m = 0; m < 8; ++m) {
                const __m512i v = loadu512(chunks + 64 * m);
                w[m] = _mm512_and_si512(g % 2 ? _mm512_srli_epi16(v, 4) : v, mask);
            }
            const __m512 scale = _mm512_mul_ps(d, bytes_as_floats(blk + kScales + 16 * g));
            const __m512 min = _mm512_mul_ps(dmin, bytes_as_floats(blk + kMins + 16 * g));
            for (int j = 0; j < T; ++j) {
                const int8_t* xq = x[j].q + 256 * sb + 32 * g;
                sums[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(block_dot(w, xq)), scale, sums[j]);
                const float* s = x[j].s + 16 * sb + 2 * g;  // sums of the two runs of 16
                acc[j] = _mm512_fnmadd_ps(min, _mm512_set1_ps(s[0] + s[1]), acc[j]);
            }
        }
        for (int j = 0; j < T; ++j) acc[j] = _mm512_fmadd_ps(sums[j], _mm512_set1_ps(x[j].d[sb]), acc[j]);
    }
};

// Σ over 16 elements: 4 code vectors from w[first].
inline __m512i group_dot(const __m512i (&w)[8], int first, const int8_t* x) {
    __m512i s0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[first], bcast4(x));
    __m512i s1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[first + 1], bcast4(x + 4));
    s0 = _mm512_dpbusd_epi32(s0, w[first + 2], bcast4(x + 8));
    s1 = _mm512_dpbusd_epi32(s1, w[first + 3], bcast4(x + 12));
    return _mm512_add_epi32(s0, s1);
}

// Q6_K: super-blocks of 256 = 16 groups of 16 with int8 scales; w = d·sc_g·(c − 32), c the
// 6-bit code (4 bits in ql, 2 in qh). Walked as 2 halves × 4 quarters of 32 elements:
// quarter k of half n takes the low (k < 2) or high nibbles of ql bytes 64n + 32(k & 1) + l
// and bits 2k, 2k+1 of qh byte 32n + l (l = 0..31), and groups 8n + 2k, 8n + 2k + 1.
struct Q6_Kx16Blocks {
    static constexpr int kTokens = 8;
    static constexpr size_t kBlockBytes = 3360;
    static constexpr size_t kScales = 32, kLow = 288, kHigh = 2336;

    static __m512 scale_of(const uint8_t* blk, int g, __m512 d) {
        const __m512i s = _mm512_cvtepi8_epi32(loadu128(blk + kScales + 16 * g));
        return _mm512_mul_ps(d, _mm512_cvtepi32_ps(s));
    }

    // One token (matrix × vector): decoding dominates, so every ql and qh byte is loaded once
    // and gives all the codes it holds; the integer sums of the 16 groups stay in registers.
    static void super_block_gemv(const uint8_t* blk, const TokenRow& x, int64_t sb, __m512& acc) {
        const __m512i low = set8(0x0F), top = set8(0x30);
        const int8_t* xq = x.q + 256 * sb;
        const float* s = x.s + 16 * sb;  // d_x · Σq of each group of 16
        const __m512 dx = _mm512_set1_ps(x.d[sb]);
        __m512 part[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int n = 0; n < 2; ++n) {
            for (int l = 0; l < 27; ++l)  // half of the next super-block (53 lines in all)
                _mm_prefetch(reinterpret_cast<const char*>(blk) + kBlockBytes + 64 * (27 * n + l), _MM_HINT_T0);
            __m512i isum[8];  // group 8n + g
            for (__m512i& v : isum) v = _mm512_setzero_si512();
            for (int m = 0; m < 8; ++m) {
                const __m512i lo0 = loadu512(blk + kLow + 64 * (16 * n + m));
                const __m512i lo1 = loadu512(blk + kLow + 64 * (16 * n + 8 + m));
                const __m512i hi = loadu512(blk + kHigh + 64 * (8 * n + m));
                // Quarter k: nibbles of lo(k & 1) (high ones for k >= 2) | bits 2k, 2k+1 of hi at 4, 5.
                const __m512i c[4] = {
                    _mm512_ternarylogic_epi32(lo0, _mm512_and_si512(_mm512_slli_epi16(hi, 4), top), low, 0xEC),
                    _mm512_ternarylogic_epi32(lo1, _mm512_and_si512(_mm512_slli_epi16(hi, 2), top), low, 0xEC),
                    _mm512_ternarylogic_epi32(_mm512_srli_epi16(lo0, 4), _mm512_and_si512(hi, top), low, 0xEC),
                    _mm512_ternarylogic_epi32(_mm512_srli_epi16(lo1, 4), _mm512_and_si512(_mm512_srli_epi16(hi, 2), top),
                                              low, 0xEC),
                };
                const int h = m / 4;
                for (int k = 0; k < 4; ++k)
                    isum[2 * k + h] = _mm512_dpbusd_epi32(isum[2 * k + h], c[k], bcast4(xq + 128 * n + 32 * k + 4 * m));
            }
            for (int i = 0; i < 8; ++i) {
                const int g = 8 * n + i;  // i = 2k + h
                const __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(loadu128(blk + kScales + 16 * g)));
                const __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[i]), dx, _mm512_set1_ps(-32.0f * s[g]));
                part[i & 1] = _mm512_fmadd_ps(v, sc, part[i & 1]);
            }
        }
        acc = _mm512_fmadd_ps(_mm512_add_ps(part[0], part[1]), _mm512_cvtph_ps(loadu256(blk)), acc);
    }

    template <int T>
    static void super_block(const uint8_t* blk, const TokenRow (&x)[T], int64_t sb, __m512 (&acc)[T]) {
        if constexpr (T == 1) {
            super_block_gemv(blk, x[0], sb, acc[0]);
            return;
        }
        const __m512 d = _mm512_cvtph_ps(loadu256(blk));
        __m512 sums[T];
        for (int j = 0; j < T; ++j) sums[j] = _mm512_setzero_ps();
        for (int n = 0; n < 2; ++n) {
            for (int k = 0; k < 4; ++k) {
                // The next super-block of this group, 7 lines per quarter (53 in all).
                for (int l = 0; l < 7; ++l)
                    _mm_prefetch(reinterpret_cast<const char*>(blk) + kBlockBytes + 64 * (7 * (4 * n + k) + l), _MM_HINT_T0);
                __m512i w[8];
                for (int m = 0; m < 8; ++m) {
                    const __m512i lo = loadu512(blk + kLow + 64 * (16 * n + 8 * (k & 1) + m));
                    const __m512i hi = loadu512(blk + kHigh + 64 * (8 * n + m));
                    // Bits 2k, 2k+1 of qh moved to bits 4, 5, then (nibble & 0x0F) | top in one
                    // ternary-logic op (0xEC: (A & C) | B).
                    const __m512i top = _mm512_and_si512(k < 3 ? _mm512_slli_epi16(hi, 4 - 2 * k) : _mm512_srli_epi16(hi, 2),
                                                         set8(0x30));
                    w[m] = _mm512_ternarylogic_epi32(k >= 2 ? _mm512_srli_epi16(lo, 4) : lo, top, set8(0x0F), 0xEC);
                }
                const int g = 8 * n + 2 * k;
                const __m512 sc0 = scale_of(blk, g, d), sc1 = scale_of(blk, g + 1, d);
                const __m512 off0 = _mm512_mul_ps(sc0, _mm512_set1_ps(-32.0f));
                const __m512 off1 = _mm512_mul_ps(sc1, _mm512_set1_ps(-32.0f));
                for (int j = 0; j < T; ++j) {
                    const int8_t* xq = x[j].q + 256 * sb + 16 * g;
                    sums[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(group_dot(w, 0, xq)), sc0, sums[j]);
                    sums[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(group_dot(w, 4, xq + 16)), sc1, sums[j]);
                    const float* s = x[j].s + 16 * sb + g;  // d_x · Σq of groups g, g + 1
                    acc[j] = _mm512_fmadd_ps(off0, _mm512_set1_ps(s[0]), acc[j]);
                    acc[j] = _mm512_fmadd_ps(off1, _mm512_set1_ps(s[1]), acc[j]);
                }
            }
        }
        for (int j = 0; j < T; ++j) acc[j] = _mm512_fmadd_ps(sums[j], _mm512_set1_ps(x[j].d[sb]), acc[j]);
    }
};

// The tile of a K-quant type B whose `super_block` adds one super-block of 16 rows to the
// accumulators of T tokens.
template <class B>
struct KQuantX16 : B {
    static constexpr int kTokens = B::kTokens;

    template <int G, int T>
    static void tile(const GemmArgs& a, int64_t r, int64_t r1, int64_t t) {
        const int64_t nsb = a.cols / 256;
        const uint8_t* group[G];
        for (int gi = 0; gi < G; ++gi) group[gi] = a.w + static_cast<size_t>(r / kRows + gi) * a.w_stride;
        TokenRow x[T];
        token_rows(a, t, T, x);
        __m512 acc[G][T];
        for (int gi = 0; gi < G; ++gi)
            for (int j = 0; j < T; ++j) acc[gi][j] = _mm512_setzero_ps();
        for (int64_t sb = 0; sb < nsb; ++sb)
            for (int gi = 0; gi < G; ++gi) B::template super_block<T>(group[gi] + sb * B::kBlockBytes, x, sb, acc[gi]);
        for (int gi = 0; gi < G; ++gi)
            for (int j = 0; j < T; ++j) store_rows(a, r + kRows * gi, r1, t, j, acc[gi][j]);
    }
};
using Q4_Kx16 = KQuantX16<Q4_Kx16Blocks>;
using Q6_Kx16 = KQuantX16<Q6_Kx16Blocks>;

// Rows [r0, r1) (r0 a multiple of 16), all tokens.
template <class K>
void gemm_x16(const GemmArgs& a, int64_t r0, int64_t r1) {
    if (a.n_tokens == 1) {
        // Matrix × vector is bound by memory: two groups at once are two read streams, which
        // the hardware prefetchers serve faster than one.
        int64_t r = r0;
        for (; r + kRows < r1; r += 2 * kRows) K::template tile<2, 1>(a, r, r1, 0);
        if (r < r1) K::template tile<1, 1>(a, r, r1, 0);
        return;
    }
    x16_gemm_tokens<K, kRows>(a, r0, r1);
}

}  // namespace

void add_repacked_kernels_avx512(KernelTable& table) {
    table.x16[slot(TensorType::Q4_0)] = Kernel{gemm_x16<LegacyX16<Q4_0x16>>};
    table.x16[slot(TensorType::Q5_0)] = Kernel{gemm_x16<LegacyX16<Q5_0x16>>};
    table.x16[slot(TensorType::Q8_0)] = Kernel{gemm_x16<LegacyX16<Q8_0x16>>};
    table.x16[slot(TensorType::IQ4_NL)] = Kernel{gemm_x16<LegacyX16<IQ4_NLx16>>};
    table.x16[slot(TensorType::MXFP4)] = Kernel{gemm_x16<LegacyX16<MXFP4x16>>};
    table.x16[slot(TensorType::Q4_K)] = Kernel{gemm_x16<Q4_Kx16>};
    table.x16[slot(TensorType::Q6_K)] = Kernel{gemm_x16<Q6_Kx16>};
}

}  // namespace hearth::ops::cpu

#endif  // __x86_64__
