// Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and IQ4_XS weights against Q8_256 activations, AVX-512 VNNI. The
// arithmetic is that of k_quant_avx2.cpp (see there); here a super-block is four chunks of
// 64 codes, maddubs makes int16 pairs and dpwssd multiplies them by the group scales and
// accumulates in int32 in one instruction. The tile loop is k_quant_kernel.h's; this file has
// the AVX-512 decoders and vector operations.
#if defined(__x86_64__)  // the build adds this file's -m flags on x86-64 only (CMakeLists.txt)
#include "ops/cpu/avx512_common.h"
#include "ops/cpu/k_quant_kernel.h"

namespace hearth::ops::cpu {
namespace {

struct Decoded {
    __m512i q[4];      // codes of elements 64p .. 64p + 63 (signed types: their magnitudes)
    __mmask64 neg[4];  // signed types (kSigned): the negative values, whose activations flip sign
    __m512i scale[4];  // int16 multiplier of each maddubs pair of chunk p
    __m256i coef;      // int16 coefficient of each group of 16 (times d_b: the offset/min term)
    float da, db;
};

// Chunk p of 32-element groups covers groups 2p, 2p + 1: 16 pairs each.
inline void scales_per_32(uint64_t packed, __m512i* out) {
    const __m512i s = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<int64_t>(packed))));
    for (int p = 0; p < 4; ++p) out[p] = _mm512_permutexvar_epi16(set16_halves(2 * p, 2 * p + 1), s);
}

// Chunk p of 16-element groups covers groups 4p .. 4p + 3: 8 pairs each.
inline void scales_per_16(__m256i s16, __m512i* out) {
    const __m512i s = _mm512_castsi256_si512(s16);
    for (int p = 0; p < 4; ++p) {
        const __m512i idx = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_setr_m128i(_mm_set1_epi16(static_cast<short>(4 * p)),
                                                     _mm_set1_epi16(static_cast<short>(4 * p + 1)))),
            _mm256_setr_m128i(_mm_set1_epi16(static_cast<short>(4 * p + 2)), _mm_set1_epi16(static_cast<short>(4 * p + 3))),
            1);
        out[p] = _mm512_permutexvar_epi16(idx, s);
    }
}

inline void unpack_k4_scales(const uint8_t* s, uint64_t* scales, uint64_t* mins) {
    const uint32_t a = load_u32(s), b = load_u32(s + 4), c = load_u32(s + 8);
    const uint32_t sc_lo = a & 0x3F3F3F3Fu;
    const uint32_t sc_hi = (c & 0x0F0F0F0Fu) | ((a >> 2) & 0x30303030u);
    const uint32_t m_lo = b & 0x3F3F3F3Fu;
    const uint32_t m_hi = ((c >> 4) & 0x0F0F0F0Fu) | ((b >> 2) & 0x30303030u);
    *scales = sc_lo | (static_cast<uint64_t>(sc_hi) << 32);
    *mins = m_lo | (static_cast<uint64_t>(m_hi) << 32);
}

inline __m256i coef_per_32(uint64_t mins) {
    const __m128i m = _mm_cvtsi64_si128(static_cast<int64_t>(mins));
    return _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m, m));
}

// The 2-bit fields of chunk p of a Q2_K/Q3_K super-block: 32 bytes of qs per 128 elements,
// field k (bits 2k..2k+1) of byte l is element 32k + l.
inline __m512i two_bit_chunk(const uint8_t* qs, int p) {
    const __m512i v = twice256(qs + 32 * (p / 2));
    const int s = 4 * (p % 2);
    return _mm512_and_si512(_mm512_srlv_epi16(v, set16_halves(s, s + 2)), set8(3));
}

// The K-quants: unsigned codes and an offset/min term.
struct UnsignedCodes {
    static constexpr bool kSigned = false, kHasCoef = true;
};

struct Q2K : UnsignedCodes {
    static constexpr size_t kBytes = 84;  // scales[16] | qs[64] | d | dmin
    static void decode(const uint8_t* b, Decoded& o) {
        const __m128i packed = loadu128(b);
        const __m128i lo4 = _mm_set1_epi8(0x0F);
        scales_per_16(_mm256_cvtepu8_epi16(_mm_and_si128(packed, lo4)), o.scale);
        o.coef = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), lo4));
        for (int p = 0; p < 4; ++p) o.q[p] = two_bit_chunk(b + 16, p);
        o.da = load_half(b + 80);
        o.db = load_half(b + 82);
    }
};

struct Q3K : UnsignedCodes {
    static constexpr size_t kBytes = 110;  // hmask[32] | qs[64] | scales[12] | d
    static void decode(const uint8_t* b, Decoded& o) {
        const uint8_t* s = b + 96;
        const uint32_t a0 = load_u32(s), a1 = load_u32(s + 4), t = load_u32(s + 8);
        const uint32_t s0 = (a0 & 0x0F0F0F0Fu) | ((t << 4) & 0x30303030u);
        const uint32_t s1 = (a1 & 0x0F0F0F0Fu) | ((t << 2) & 0x30303030u);
        const uint32_t s2 = ((a0 >> 4) & 0x0F0F0F0Fu) | (t & 0x30303030u);
        const uint32_t s3 = ((a1 >> 4) & 0x0F0F0F0Fu) | ((t >> 2) & 0x30303030u);
        const __m128i scales = _mm_sub_epi8(
            _mm_setr_epi32(static_cast<int>(s0), static_cast<int>(s1), static_cast<int>(s2), static_cast<int>(s3)),
            _mm_set1_epi8(32));
        o.coef = _mm256_cvtepi8_epi16(scales);
        scales_per_16(o.coef, o.scale);
        // code = 2-bit field + 4 · (bit c of hmask[l]) for element 32c + l.
        const __m512i hm = twice256(b);
        for (int p = 0; p < 4; ++p) {
            const __mmask64 high = _mm512_test_epi8_mask(hm, set8_halves(1 << (2 * p), 1 << (2 * p + 1)));
            const __m512i f = two_bit_chunk(b + 32, p);
            o.q[p] = _mm512_mask_add_epi8(f, high, f, set8(4));
        }
        const float d = load_half(b + 108);
        o.da = d;
        o.db = 4.0f * d;
    }
};

struct Q4K : UnsignedCodes {
    static constexpr size_t kBytes = 144;  // d | dmin | scales[12] | qs[128]
    static void decode(const uint8_t* b, Decoded& o) {
        uint64_t scales, mins;
        unpack_k4_scales(b + 4, &scales, &mins);
        scales_per_32(scales, o.scale);
        o.coef = coef_per_32(mins);
        for (int p = 0; p < 4; ++p) {
            // 32 bytes: low nibbles are group 2p, high nibbles group 2p + 1.
            const __m512i v = twice256(b + 16 + 32 * p);
            o.q[p] = _mm512_and_si512(_mm512_mask_srli_epi16(v, 0xFFFF0000u, v, 4), set8(0x0F));
        }
        o.da = load_half(b);
        o.db = load_half(b + 2);
    }
};

struct Q5K : UnsignedCodes {
    static constexpr size_t kBytes = 176;  // d | dmin | scales[12] | qh[32] | qs[128]
    static void decode(const uint8_t* b, Decoded& o) {
        uint64_t scales, mins;
        unpack_k4_scales(b + 4, &scales, &mins);
        scales_per_32(scales, o.scale);
        o.coef = coef_per_32(mins);
        const __m512i hb = twice256(b + 16);
        for (int p = 0; p < 4; ++p) {
            const __m512i v = twice256(b + 48 + 32 * p);
            const __m512i nib = _mm512_and_si512(_mm512_mask_srli_epi16(v, 0xFFFF0000u, v, 4), set8(0x0F));
            // Fifth bit of element 32c + l: bit c of qh[l].
            const __mmask64 high = _mm512_test_epi8_mask(hb, set8_halves(1 << (2 * p), 1 << (2 * p + 1)));
            o.q[p] = _mm512_mask_add_epi8(nib, high, nib, set8(16));
        }
        o.da = load_half(b);
        o.db = load_half(b + 2);
    }
};

struct Q6K : UnsignedCodes {
    static constexpr size_t kBytes = 210;  // ql[128] | qh[64] | scales[16] | d
    static void decode(const uint8_t* b, Decoded& o) {
        o.coef = _mm256_cvtepi8_epi16(loadu128(b + 192));
        scales_per_16(o.coef, o.scale);
        for (int h = 0; h < 2; ++h) {
            // Half h, chunk k (32 elements): low 4 bits from ql[64h + 32(k % 2) + l] (low nibble
            // for k < 2), high 2 bits from bits 2k..2k+1 of qh[32h + l].
            const __m512i l = loadu512(b + 64 * h);
            const __m512i hb = twice256(b + 128 + 32 * h);
            const __m512i top = set8(0x30);
            const __m512i hi01 = _mm512_and_si512(_mm512_sllv_epi16(hb, set16_halves(4, 2)), top);
            const __m512i hi23 = _mm512_and_si512(_mm512_srlv_epi16(hb, set16_halves(0, 2)), top);
            o.q[2 * h] = _mm512_or_si512(_mm512_and_si512(l, set8(0x0F)), hi01);
            o.q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), set8(0x0F)), hi23);
        }
        const float d = load_half(b + 208);
        o.da = d;
        o.db = 32.0f * d;
    }
};

// The 8 sub-block scales ls − 32 of an IQ4_XS super-block as int16 lanes: the low 4 bits from
// nibble c % 2 of scales_l[c / 2], the high 2 from bits 2c..2c+1 of scales_h (moved to bits 4..5
// by a multiply by 2^(14 − 2c) and a shift right by 10). No scalar loop: gemv decodes every block.
inline __m128i iq4_xs_scales(const uint8_t* b) {
    const __m128i l = _mm_shuffle_epi8(_mm_cvtsi32_si128(static_cast<int>(load_u32(b + 4))),
                                       _mm_setr_epi8(0, -1, 0, -1, 1, -1, 1, -1, 2, -1, 2, -1, 3, -1, 3, -1));
    const __m128i lo = _mm_and_si128(_mm_blend_epi16(l, _mm_srli_epi16(l, 4), 0xAA), _mm_set1_epi16(0x0F));
    const short h = static_cast<short>(b[2] | (b[3] << 8));
    const __m128i shifted = _mm_mullo_epi16(_mm_set1_epi16(h), _mm_setr_epi16(1 << 14, 1 << 12, 1 << 10, 1 << 8, 1 << 6,
                                                                               1 << 4, 1 << 2, 1));
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(shifted, 10), _mm_set1_epi16(0x30));
    return _mm_sub_epi16(_mm_or_si128(lo, hi), _mm_set1_epi16(32));
}

// IQ4_XS: 8 sub-blocks of 32, code → kIq4nlValues (signed, no offset), value = d · (ls − 32) · table.
struct IQ4XS {
    static constexpr size_t kBytes = 136;  // d | scales_h (u16) | scales_l[4] | qs[128]
    static constexpr bool kSigned = true, kHasCoef = false;
    static void decode(const uint8_t* b, Decoded& o) {
        const __m512i table = _mm512_broadcast_i32x4(
            _mm_setr_epi8(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113));
        const __m512i s = _mm512_castsi128_si512(iq4_xs_scales(b));
        for (int p = 0; p < 4; ++p) {
            o.scale[p] = _mm512_permutexvar_epi16(set16_halves(2 * p, 2 * p + 1), s);
            // 128-bit lanes [A A B B] from sub-blocks A = 2p, B = 2p + 1; lanes 1 and 3 take the
            // high nibbles (elements 16..31 of each sub-block).
            const __m512i v = _mm512_shuffle_i64x2(twice256(b + 8 + 32 * p), twice256(b + 8 + 32 * p), 0x50);
            const __m512i idx = _mm512_and_si512(_mm512_mask_srli_epi16(v, 0xFF00FF00u, v, 4), set8(0x0F));
            const __m512i val = _mm512_shuffle_epi8(table, idx);
            o.q[p] = _mm512_abs_epi8(val);
            o.neg[p] = _mm512_movepi8_mask(val);
        }
        o.coef = _mm256_setzero_si256();
        o.da = load_half(b);
        o.db = 0;
    }
};

// The vector operations of the width-generic kernel (k_quant_kernel.h): four chunks of 64
// codes, maddubs then dpwssd with the scales; the 16 coefficients in one float vector.
struct Avx512 {
    using Vec = __m512;
    using IVec = __m512i;
    using Decoded = cpu::Decoded;
    using Coef = __m512;
    static constexpr int kChunks = 4;
    static constexpr int kChunkBytes = 64;
    static Vec zero() { return _mm512_setzero_ps(); }
    static IVec izero() { return _mm512_setzero_si512(); }
    static Vec set1(float v) { return _mm512_set1_ps(v); }
    static Vec broadcast(const float* p) { return _mm512_set1_ps(*p); }
    static Vec mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
    static Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
    static Vec to_float(IVec v) { return _mm512_cvtepi32_ps(v); }
    static IVec iadd(IVec a, IVec b) { return _mm512_add_epi32(a, b); }
    static IVec load_x(const int8_t* p) { return loadu512(p); }
    // Signed types: |w| × sign(w)·x keeps maddubs' operands unsigned × signed.
    static IVec signed_x(IVec x, const Decoded& d, int c) {
        return _mm512_mask_sub_epi8(x, d.neg[c], _mm512_setzero_si512(), x);
    }
    static IVec dot(IVec acc, IVec q, IVec x, IVec scale) {
        return _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(q, x), scale);
    }
    static Coef coef(const Decoded& d) {
        return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(d.coef)), _mm512_set1_ps(d.db));
    }
    static Vec sub_coef(Vec acc, Coef c, const float* sums) { return _mm512_fnmadd_ps(c, _mm512_loadu_ps(sums), acc); }
    static float hsum(Vec v) { return cpu::hsum(v); }
};

template <class K>
void gemm_k(const GemmArgs& a, int64_t r0, int64_t r1) {
    gemm_entry<KQuantKernel<Avx512, K>, 1, 1, 8>(a, r0, r1);
}

}  // namespace

void add_k_quant_kernels_avx512(KernelTable& table) {
    table.by_type[slot(TensorType::Q2_K)] = Kernel{gemm_k<Q2K>};
    table.by_type[slot(TensorType::Q3_K)] = Kernel{gemm_k<Q3K>};
    table.by_type[slot(TensorType::Q4_K)] = Kernel{gemm_k<Q4K>};
    table.by_type[slot(TensorType::Q5_K)] = Kernel{gemm_k<Q5K>};
    table.by_type[slot(TensorType::Q6_K)] = Kernel{gemm_k<Q6K>};
    table.by_type[slot(TensorType::IQ4_XS)] = Kernel{gemm_k<IQ4XS>};
}

}  // namespace hearth::ops::cpu

#endif  // __x86_64__
