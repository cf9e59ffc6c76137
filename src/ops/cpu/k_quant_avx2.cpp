// Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and IQ4_XS weights (super-blocks of 256) against Q8_256 activations, AVX2.
//
// Every K-quant value is (d_a · scale_g) · code − d_b · coef_g, where the code is unsigned
// and g is the element's group (16 or 32 elements):
//   Q2_K: code 0..3,  d_a = d, scale 4-bit,  d_b = dmin, coef = 4-bit min
//   Q3_K: code 0..7 (the signed −4..3 plus 4), d_a = d, scale −32..31, d_b = 4·d, coef = scale
//   Q4_K: code 0..15, d_a = d, scale 6-bit, d_b = dmin, coef = 6-bit min
//   Q5_K: code 0..31, as Q4_K
//   Q6_K: code 0..63 (the signed −32..31 plus 32), d_a = d, scale int8, d_b = 32·d, coef = scale
// so with activations d_x · q_x and the activation sums s_16 = d_x · Σ q_x over each run of 16:
//   Σ w·x = d_x · d_a · Σ_g scale_g · Σ code·q_x  −  d_b · Σ_16 coef · s_16
// IQ4_XS has signed table values and no offset term (kSigned, !kHasCoef): its values' signs
// move onto the activations as for Q8_0 (legacy_quant_avx2.cpp).
// The inner sums are integer: maddubs (code × q_x, pairs to int16), then madd with the
// group's scale (pairs to int32). A super-block of one weight row is decoded once (codes,
// per-chunk scale vectors) and then used for every token of the tile (k_quant_kernel.h; this
// file has the AVX2 decoders and vector operations).
#if defined(__x86_64__)  // the build adds this file's -m flags on x86-64 only (CMakeLists.txt)
#include "ops/cpu/avx2_common.h"
#include "ops/cpu/k_quant_kernel.h"

namespace hearth::ops::cpu {
namespace {

// Everything the dot of one weight super-block with any activation super-block needs.
struct Decoded {
    __m256i q[8];      // codes of elements 32c .. 32c + 31 (signed types: their magnitudes)
    __m256i sgn[8];    // signed types (kSigned): the values, whose signs go onto the activations
    __m256i scale[8];  // int16 multiplier of each maddubs pair of chunk c
    __m256i coef;      // int16 coefficient of each group of 16 (times d_b: the offset/min term)
    float da, db;
};

// vpshufb masks that spread scale bytes over int16 lanes (0x80 selects zero).
struct ShuffleMasks {
    alignas(32) uint8_t m[8][32];
};

// Chunk c is group c: every int16 lane gets scale byte c, zero-extended.
constexpr ShuffleMasks masks_per_32() {
    ShuffleMasks s{};
    for (int c = 0; c < 8; ++c)
        for (int i = 0; i < 32; i += 2) {
            s.m[c][i] = static_cast<uint8_t>(c);
            s.m[c][i + 1] = 0x80;
        }
    return s;
}

// Chunk c covers groups 2c (low 128 bits of the pairs) and 2c + 1 (high 128 bits); the scale
// byte goes to the high byte of each int16 so an arithmetic shift sign-extends it.
constexpr ShuffleMasks masks_per_16() {
    ShuffleMasks s{};
    for (int c = 0; c < 8; ++c)
        for (int i = 0; i < 32; i += 2) {
            s.m[c][i] = 0x80;
            s.m[c][i + 1] = static_cast<uint8_t>(i < 16 ? 2 * c : 2 * c + 1);
        }
    return s;
}

constexpr ShuffleMasks kMasks32 = masks_per_32();
constexpr ShuffleMasks kMasks16 = masks_per_16();

// Scale vectors for eight 32-element groups with unsigned scales s[0..7] (bytes of `packed`).
inline void scales_per_32(uint64_t packed, __m256i* out) {
    const __m256i v = _mm256_set1_epi64x(static_cast<int64_t>(packed));
    for (int c = 0; c < 8; ++c) out[c] = _mm256_shuffle_epi8(v, loadu256(kMasks32.m[c]));
}

// Scale vectors for sixteen 16-element groups with signed scales (int8 lanes of `s`).
inline void scales_per_16(__m128i s, __m256i* out) {
    const __m256i v = _mm256_broadcastsi128_si256(s);
    for (int c = 0; c < 8; ++c) out[c] = _mm256_srai_epi16(_mm256_shuffle_epi8(v, loadu256(kMasks16.m[c])), 8);
}

inline __m256i mask8(int v) { return _mm256_set1_epi8(static_cast<char>(v)); }

// Moves bit `from` of every byte to bit `to` (other bits are garbage; mask afterwards).
template <int From, int To>
inline __m256i move_bit(__m256i v) {
    if constexpr (From > To) return _mm256_srli_epi16(v, From - To);
    else if constexpr (From < To) return _mm256_slli_epi16(v, To - From);
    else return v;
}

// The 8 six-bit scales and 8 six-bit mins of Q4_K / Q5_K, as bytes of two u64.
inline void unpack_k4_scales(const uint8_t* s, uint64_t* scales, uint64_t* mins) {
    const uint32_t a = load_u32(s), b = load_u32(s + 4), c = load_u32(s + 8);
    const uint32_t sc_lo = a & 0x3F3F3F3Fu;
    const uint32_t sc_hi = (c & 0x0F0F0F0Fu) | ((a >> 2) & 0x30303030u);
    const uint32_t m_lo = b & 0x3F3F3F3Fu;
    const uint32_t m_hi = ((c >> 4) & 0x0F0F0F0Fu) | ((b >> 2) & 0x30303030u);
    *scales = sc_lo | (static_cast<uint64_t>(sc_hi) << 32);
    *mins = m_lo | (static_cast<uint64_t>(m_hi) << 32);
}

// Each min applies to a 32-group, i.e. to two consecutive runs of 16.
inline __m256i coef_per_32(uint64_t mins) {
    const __m128i m = _mm_cvtsi64_si128(static_cast<int64_t>(mins));
    return _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m, m));
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
        scales_per_16(_mm_and_si128(packed, lo4), o.scale);
        o.coef = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), lo4));
        for (int h = 0; h < 2; ++h) {
            const __m256i v = loadu256(b + 16 + 32 * h);
            o.q[4 * h + 0] = _mm256_and_si256(v, mask8(3));
            o.q[4 * h + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 2), mask8(3));
            o.q[4 * h + 2] = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask8(3));
            o.q[4 * h + 3] = _mm256_and_si256(_mm256_srli_epi16(v, 6), mask8(3));
        }
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
        scales_per_16(scales, o.scale);
        o.coef = _mm256_cvtepi8_epi16(scales);
        const __m256i hm = loadu256(b);
        const __m256i third = mask8(4);
        // code = 2-bit field + 4 · (bit c of hmask): the signed −4..3 plus 4.
        const __m256i v0 = loadu256(b + 32), v1 = loadu256(b + 64);
        o.q[0] = _mm256_or_si256(_mm256_and_si256(v0, mask8(3)), _mm256_and_si256(move_bit<0, 2>(hm), third));
        o.q[1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v0, 2), mask8(3)),
                                 _mm256_and_si256(move_bit<1, 2>(hm), third));
        o.q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v0, 4), mask8(3)),
                                 _mm256_and_si256(move_bit<2, 2>(hm), third));
        o.q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v0, 6), mask8(3)),
                                 _mm256_and_si256(move_bit<3, 2>(hm), third));
        o.q[4] = _mm256_or_si256(_mm256_and_si256(v1, mask8(3)), _mm256_and_si256(move_bit<4, 2>(hm), third));
        o.q[5] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v1, 2), mask8(3)),
                                 _mm256_and_si256(move_bit<5, 2>(hm), third));
        o.q[6] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v1, 4), mask8(3)),
                                 _mm256_and_si256(move_bit<6, 2>(hm), third));
        o.q[7] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v1, 6), mask8(3)),
                                 _mm256_and_si256(move_bit<7, 2>(hm), third));
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
            const __m256i v = loadu256(b + 16 + 32 * p);
            o.q[2 * p] = _mm256_and_si256(v, mask8(0x0F));
            o.q[2 * p + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask8(0x0F));
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
        const __m256i hb = loadu256(b + 16);
        const __m256i fifth = mask8(0x10);
        __m256i high[8];
        high[0] = move_bit<0, 4>(hb);
        high[1] = move_bit<1, 4>(hb);
        high[2] = move_bit<2, 4>(hb);
        high[3] = move_bit<3, 4>(hb);
        high[4] = move_bit<4, 4>(hb);
        high[5] = move_bit<5, 4>(hb);
        high[6] = move_bit<6, 4>(hb);
        high[7] = move_bit<7, 4>(hb);
        for (int p = 0; p < 4; ++p) {
            const __m256i v = loadu256(b + 48 + 32 * p);
            o.q[2 * p] = _mm256_or_si256(_mm256_and_si256(v, mask8(0x0F)), _mm256_and_si256(high[2 * p], fifth));
            o.q[2 * p + 1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), mask8(0x0F)),
                                             _mm256_and_si256(high[2 * p + 1], fifth));
        }
        o.da = load_half(b);
        o.db = load_half(b + 2);
    }
};

struct Q6K : UnsignedCodes {
    static constexpr size_t kBytes = 210;  // ql[128] | qh[64] | scales[16] | d
    static void decode(const uint8_t* b, Decoded& o) {
        const __m128i scales = loadu128(b + 192);
        scales_per_16(scales, o.scale);
        o.coef = _mm256_cvtepi8_epi16(scales);
        const __m256i top = mask8(0x30);
        for (int h = 0; h < 2; ++h) {
            const __m256i l0 = loadu256(b + 64 * h), l1 = loadu256(b + 64 * h + 32);
            const __m256i hb = loadu256(b + 128 + 32 * h);
            // Chunk k of the half: low 4 bits from l[k % 2] (low nibble for k < 2), high 2 bits
            // from bits 2k..2k+1 of hb, moved to bits 4..5.
            o.q[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(l0, mask8(0x0F)),
                                             _mm256_and_si256(move_bit<0, 4>(hb), top));
            o.q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, mask8(0x0F)),
                                             _mm256_and_si256(move_bit<2, 4>(hb), top));
            o.q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), mask8(0x0F)),
                                             _mm256_and_si256(move_bit<4, 4>(hb), top));
            o.q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), mask8(0x0F)),
                                             _mm256_and_si256(move_bit<6, 4>(hb), top));
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
        const __m256i table = _mm256_broadcastsi128_si256(
            _mm_setr_epi8(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113));
        const __m256i s = _mm256_broadcastsi128_si256(iq4_xs_scales(b));
        for (int c = 0; c < 8; ++c) {
            o.scale[c] = _mm256_shuffle_epi8(s, _mm256_set1_epi16(static_cast<short>(0x0100 + 0x0202 * c)));  // lane c everywhere
            // Low nibbles are elements 0..15 of the sub-block, high nibbles 16..31.
            const __m128i raw = loadu128(b + 8 + 16 * c);
            const __m256i idx = _mm256_and_si256(
                _mm256_inserti128_si256(_mm256_castsi128_si256(raw), _mm_srli_epi16(raw, 4), 1), mask8(0x0F));
            o.sgn[c] = _mm256_shuffle_epi8(table, idx);
            o.q[c] = _mm256_sign_epi8(o.sgn[c], o.sgn[c]);
        }
        o.coef = _mm256_setzero_si256();
        o.da = load_half(b);
        o.db = 0;
    }
};

// The vector operations of the width-generic kernel (k_quant_kernel.h): eight chunks of 32
// codes, maddubs then madd with the scales; the 16 coefficients in two float vectors.
struct Avx2 {
    using Vec = __m256;
    using IVec = __m256i;
    using Decoded = cpu::Decoded;
    struct Coef {
        __m256 lo, hi;
    };
    static constexpr int kChunks = 8;
    static constexpr int kChunkBytes = 32;
    static Vec zero() { return _mm256_setzero_ps(); }
    static IVec izero() { return _mm256_setzero_si256(); }
    static Vec set1(float v) { return _mm256_set1_ps(v); }
    static Vec broadcast(const float* p) { return _mm256_broadcast_ss(p); }
    static Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
    static Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
    static Vec to_float(IVec v) { return _mm256_cvtepi32_ps(v); }
    static IVec iadd(IVec a, IVec b) { return _mm256_add_epi32(a, b); }
    static IVec load_x(const int8_t* p) { return loadu256(p); }
    // Signed types: |w| × sign(w)·x keeps maddubs' operands unsigned × signed.
    static IVec signed_x(IVec x, const Decoded& d, int c) { return _mm256_sign_epi8(x, d.sgn[c]); }
    static IVec dot(IVec acc, IVec q, IVec x, IVec scale) {
        return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(q, x), scale));
    }
    static Coef coef(const Decoded& d) {
        const __m256 db = _mm256_set1_ps(d.db);
        return {_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(d.coef))), db),
                _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_extracti128_si256(d.coef, 1))), db)};
    }
    static Vec sub_coef(Vec acc, const Coef& c, const float* sums) {
        acc = _mm256_fnmadd_ps(c.lo, _mm256_loadu_ps(sums), acc);
        return _mm256_fnmadd_ps(c.hi, _mm256_loadu_ps(sums + 8), acc);
    }
    static float hsum(Vec v) { return cpu::hsum(v); }
};

template <class K>
void gemm_k(const GemmArgs& a, int64_t r0, int64_t r1) {
    gemm_entry<KQuantKernel<Avx2, K>, 1, 1, 4>(a, r0, r1);
}

}  // namespace

void add_k_quant_kernels_avx2(KernelTable& table) {
    table.by_type[slot(TensorType::Q2_K)] = Kernel{gemm_k<Q2K>};
    table.by_type[slot(TensorType::Q3_K)] = Kernel{gemm_k<Q3K>};
    table.by_type[slot(TensorType::Q4_K)] = Kernel{gemm_k<Q4K>};
    table.by_type[slot(TensorType::Q5_K)] = Kernel{gemm_k<Q5K>};
    table.by_type[slot(TensorType::Q6_K)] = Kernel{gemm_k<Q6K>};
    table.by_type[slot(TensorType::IQ4_XS)] = Kernel{gemm_k<IQ4XS>};
}

}  // namespace hearth::ops::cpu

#endif  // __x86_64__
