// Scalar reference dequantizers, written from the GGUF block layouts. Every block is read
// byte by byte at fixed offsets (little-endian, no struct overlays, no alignment needs), and
// where each element's bits live is derived from its index inside the block, so each
// function can be checked against the layout description above it line by line.
//
// Bit-exactness with ggml: each value is `scale * q` or `scale * q - min` (or `+ min`) where
// the scale is an fp16 times a small integer. Every such product fits in float's 24-bit
// significand (at most 11 + 7 + 5 bits), so it is exact, and the final add/subtract is the
// only rounding. That makes the result independent of the evaluation order of the
// products and of FMA contraction; the code still follows ggml's order
// ((d * sc) * q - dmin * m) so the argument is easy to re-check.
#include "tensor/dequantize.h"

#include <bit>
#include <cstring>

#include "common/error.h"
#include "tensor/fp16_impl.h"

namespace hearth {
namespace {

constexpr int kQK = 32;    // elements per block of the legacy quants (Q4_0 .. Q8_0)
constexpr int kQK_K = 256; // elements per K-quant super-block

uint16_t load_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

uint32_t load_u32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
           (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

float load_f16(const uint8_t* p) { return detail::half_to_float(load_u16(p)); }

const uint8_t* bytes(const void* src) { return static_cast<const uint8_t*>(src); }

void check_length(int64_t n, int64_t block_size, const char* type) {
    if (n < 0 || n % block_size != 0)
        fail("dequantize {}: row length {} is not a multiple of the block size {}", type, n,
             block_size);
}

}  // namespace

// ---- plain floats ----------------------------------------------------------------------

void dequantize_row_f32(const void* src, float* dst, int64_t n) {
    check_length(n, 1, "F32");
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    } else {
        const uint8_t* p = bytes(src);
        for (int64_t i = 0; i < n; ++i) dst[i] = std::bit_cast<float>(load_u32(p + 4 * i));
    }
}

void dequantize_row_f16(const void* src, float* dst, int64_t n) {
    check_length(n, 1, "F16");
    const uint8_t* p = bytes(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = detail::half_to_float(load_u16(p + 2 * i));
}

void dequantize_row_bf16(const void* src, float* dst, int64_t n) {
    check_length(n, 1, "BF16");
    const uint8_t* p = bytes(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = detail::bf16_to_float(load_u16(p + 2 * i));
}

// ---- legacy quants: blocks of 32 ---------------------------------------------------------
// The 4-bit codes of a block are packed two per byte in qs[16]: element i (0..15) is the low
// nibble of qs[i], element i + 16 is the high nibble of qs[i].

// Q4_0, 18 bytes: d (fp16) | qs[16]. value = (q - 8) * d, q in 0..15.
void dequantize_row_q4_0(const void* src, float* dst, int64_t n) {
    check_length(n, kQK, "Q4_0");
    const uint8_t* block = bytes(src);
    for (int64_t b = 0; b < n / kQK; ++b, block += 18, dst += kQK) {
        const float d = load_f16(block);
        const uint8_t* qs = block + 2;
        for (int i = 0; i < 16; ++i) {
            dst[i] = static_cast<float>((qs[i] & 0x0F) - 8) * d;
            dst[i + 16] = static_cast<float>((qs[i] >> 4) - 8) * d;
        }
    }
}

// Q4_1, 20 bytes: d (fp16) | m (fp16) | qs[16]. value = q * d + m, q in 0..15.
void dequantize_row_q4_1(const void* src, float* dst, int64_t n) {
    check_length(n, kQK, "Q4_1");
    const uint8_t* block = bytes(src);
    for (int64_t b = 0; b < n / kQK; ++b, block += 20, dst += kQK) {
        const float d = load_f16(block);
        const float m = load_f16(block + 2);
        const uint8_t* qs = block + 4;
        for (int i = 0; i < 16; ++i) {
            dst[i] = static_cast<float>(qs[i] & 0x0F) * d + m;
            dst[i + 16] = static_cast<float>(qs[i] >> 4) * d + m;
        }
    }
}

// Q5_0, 22 bytes: d (fp16) | qh (u32 LE) | qs[16]. The 5-bit code of element i (0..31) is its
// nibble (as above) plus bit i of qh as bit 4. value = (q - 16) * d.
void dequantize_row_q5_0(const void* src, float* dst, int64_t n) {
    check_length(n, kQK, "Q5_0");
    const uint8_t* block = bytes(src);
    for (int64_t b = 0; b < n / kQK; ++b, block += 22, dst += kQK) {
        const float d = load_f16(block);
        const uint32_t qh = load_u32(block + 2);
        const uint8_t* qs = block + 6;
        for (int i = 0; i < 16; ++i) {
            const int lo = (qs[i] & 0x0F) | static_cast<int>(((qh >> i) & 1u) << 4);
            const int hi = (qs[i] >> 4) | static_cast<int>(((qh >> (i + 16)) & 1u) << 4);
            dst[i] = static_cast<float>(lo - 16) * d;
            dst[i + 16] = static_cast<float>(hi - 16) * d;
        }
    }
}

// Q5_1, 24 bytes: d (fp16) | m (fp16) | qh (u32 LE) | qs[16]. Codes as Q5_0; value = q * d + m.
void dequantize_row_q5_1(const void* src, float* dst, int64_t n) {
    check_length(n, kQK, "Q5_1");
    const uint8_t* block = bytes(src);
    for (int64_t b = 0; b < n / kQK; ++b, block += 24, dst += kQK) {
        const float d = load_f16(block);
        const float m = load_f16(block + 2);
        const uint32_t qh = load_u32(block + 4);
        const uint8_t* qs = block + 8;
        for (int i = 0; i < 16; ++i) {
            const int lo = (qs[i] & 0x0F) | static_cast<int>(((qh >> i) & 1u) << 4);
            const int hi = (qs[i] >> 4) | static_cast<int>(((qh >> (i + 16)) & 1u) << 4);
            dst[i] = static_cast<float>(lo) * d + m;
            dst[i + 16] = static_cast<float>(hi) * d + m;
        }
    }
}

// Q8_0, 34 bytes: d (fp16) | qs[32] (int8). value = q * d.
void dequantize_row_q8_0(const void* src, float* dst, int64_t n) {
    check_length(n, kQK, "Q8_0");
    const uint8_t* block = bytes(src);
    for (int64_t b = 0; b < n / kQK; ++b, block += 34, dst += kQK) {
        const float d = load_f16(block);
        const uint8_t* qs = block + 2;
        for (int i = 0; i < kQK; ++i) dst[i] = static_cast<float>(static_cast<int8_t>(qs[i])) * d;
    }
}

// ---- K-quants: super-blocks of 256 --------------------------------------------------------
// Where the bits of element e (0..255) of a super-block live:
//
// Q2_K / Q3_K 2-bit field: the super-block is two halves of 128 elements with 32 bytes of qs
//   each; element e is bits 2s..2s+1 of byte qs[32 * (e / 128) + e % 32], s = (e % 128) / 32.
// Q4_K / Q5_K 4-bit field: four chunks of 64 elements with 32 bytes of qs each; element e is
//   in byte qs[32 * (e / 64) + e % 32], the low nibble for the first 32 elements of the
//   chunk and the high nibble for the last 32.
// Q3_K / Q5_K extra high bit: bit e / 32 of byte [e % 32] of the 32-byte hmask / qh.
//
// The scale groups (16 or 32 elements) never straddle those 32-element runs, so the
// functions below find the bytes and shift of a group's first element once and then walk
// the group's consecutive bytes.

// The 12 scale bytes of Q4_K / Q5_K hold 8 six-bit scales and 8 six-bit mins:
//   bytes 0..3:  low 6 bits = scale j (j = 0..3),   top 2 bits = bits 4..5 of scale j + 4
//   bytes 4..7:  low 6 bits = min j   (j = 0..3),   top 2 bits = bits 4..5 of min j + 4
//   bytes 8..11: low nibble = bits 0..3 of scale j + 4, high nibble = bits 0..3 of min j + 4
ScaleMin unpack_k4_scale_min(const uint8_t* s, int j) {
    if (j < 4) return {static_cast<uint8_t>(s[j] & 63), static_cast<uint8_t>(s[j + 4] & 63)};
    const int k = j - 4;
    const int scale = (s[8 + k] & 0x0F) | ((s[k] >> 6) << 4);
    const int min = (s[8 + k] >> 4) | ((s[k + 4] >> 6) << 4);
    return {static_cast<uint8_t>(scale), static_cast<uint8_t>(min)};
}

// The 12 scale bytes of Q3_K hold 16 six-bit scales (stored with an offset of 32):
//   bits 0..3 of scale j: low nibble of byte j for j < 8, high nibble of byte j - 8 for j >= 8
//   bits 4..5 of scale j: bits 2 * (j / 4) .. 2 * (j / 4) + 1 of byte 8 + j % 4
int unpack_q3_k_scale(const uint8_t* s, int j) {
    const int low = j < 8 ? (s[j] & 0x0F) : (s[j - 8] >> 4);
    const int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (low | (high << 4)) - 32;
}

// Q2_K, 84 bytes: scales[16] | qs[64] | d (fp16) | dmin (fp16). Sixteen groups of 16; group g
// has scale byte scales[g]: low nibble = scale, high nibble = min.
// value = (d * scale) * q - (dmin * min), q = the 2-bit field in 0..3.
void dequantize_row_q2_k(const void* src, float* dst, int64_t n) {
    check_length(n, kQK_K, "Q2_K");
    const uint8_t* block = bytes(src);
    for (int64_t b = 0; b < n / kQK_K; ++b, block += 84, dst += kQK_K) {
        const uint8_t* scales = block;
        const uint8_t* qs = block + 16;
        const float d = load_f16(block + 80);
        const float dmin = load_f16(block + 82);
        for (int g = 0; g < 16; ++g) {
            const int e0 = 16 * g;
            const uint8_t* q = qs + 32 * (e0 / 128) + e0 % 32;
            const int shift = 2 * ((e0 % 128) / 32);
            const float dl = d * static_cast<float>(scales[g] & 0x0F);
            const float ml = dmin * static_cast<float>(scales[g] >> 4);
            for (int i = 0; i < 16; ++i)
                dst[e0 + i] = dl * static_cast<float>((q[i] >> shift) & 3) - ml;
        }
    }
}

// Q3_K, 110 bytes: hmask[32] | qs[64] | scales[12] | d (fp16). Sixteen groups of 16 with a
// signed 6-bit scale each (unpack_q3_k_scale). Element e's third bit is bit e / 32 of
// hmask[e % 32]; q = the 2-bit field - (that bit set ? 0 : 4), in -4..3.
// value = (d * scale) * q.
void dequantize_row_q3_k(const void* src, float* dst, int64_t n) {
    check_length(n, kQK_K, "Q3_K");
    const uint8_t* block = bytes(src);
    for (int64_t b = 0; b < n / kQK_K; ++b, block += 110, dst += kQK_K) {
        const uint8_t* hmask = block;
        const uint8_t* qs = block + 32;
        const uint8_t* scales = block + 96;
        const float d = load_f16(block + 108);
        for (int g = 0; g < 16; ++g) {
            const int e0 = 16 * g;
            const uint8_t* q = qs + 32 * (e0 / 128) + e0 % 32;
            const int shift = 2 * ((e0 % 128) / 32);
            const uint8_t* hm = hmask + e0 % 32;
            const int hbit = e0 / 32;
            const float dl = d * static_cast<float>(unpack_q3_k_scale(scales, g));
            for (int i = 0; i < 16; ++i) {
                const bool high = (hm[i] >> hbit) & 1;
                const int v = ((q[i] >> shift) & 3) - (high ? 0 : 4);
                dst[e0 + i] = dl * static_cast<float>(v);
            }
        }
    }
}

// Q4_K, 144 bytes: d (fp16) | dmin (fp16) | scales[12] | qs[128]. Eight groups of 32 with a
// 6-bit scale and min each (unpack_k4_scale_min).
// value = (d * scale) * q - (dmin * min), q = the 4-bit field in 0..15.
void dequantize_row_q4_k(const void* src, float* dst, int64_t n) {
    check_length(n, kQK_K, "Q4_K");
    const uint8_t* block = bytes(src);
    for (int64_t b = 0; b < n / kQK_K; ++b, block += 144, dst += kQK_K) {
        const float d = load_f16(block);
        const float dmin = load_f16(block + 2);
        const uint8_t* scales = block + 4;
        const uint8_t* qs = block + 16;
        for (int g = 0; g < 8; ++g) {
            const uint8_t* q = qs + 32 * (g / 2);
            const int shift = 4 * (g % 2);
            const ScaleMin sm = unpack_k4_scale_min(scales, g);
            const float dl = d * static_cast<float>(sm.scale);
            const float ml = dmin * static_cast<float>(sm.min);
            for (int i = 0; i < 32; ++i)
                dst[32 * g + i] = dl * static_cast<float>((q[i] >> shift) & 0x0F) - ml;
        }
    }
}

// Q5_K, 176 bytes: d (fp16) | dmin (fp16) | scales[12] | qh[32] | qs[128]. As Q4_K, plus a
// fifth bit per element: bit e / 32 of qh[e % 32]. q in 0..31.
void dequantize_row_q5_k(const void* src, float* dst, int64_t n) {
    check_length(n, kQK_K, "Q5_K");
    const uint8_t* block = bytes(src);
    for (int64_t b = 0; b < n / kQK_K; ++b, block += 176, dst += kQK_K) {
        const float d = load_f16(block);
        const float dmin = load_f16(block + 2);
        const uint8_t* scales = block + 4;
        const uint8_t* qh = block + 16;
        const uint8_t* qs = block + 48;
        for (int g = 0; g < 8; ++g) {
            const uint8_t* q = qs + 32 * (g / 2);
            const int shift = 4 * (g % 2);
            const ScaleMin sm = unpack_k4_scale_min(scales, g);
            const float dl = d * static_cast<float>(sm.scale);
            const float ml = dmin * static_cast<float>(sm.min);
            for (int i = 0; i < 32; ++i) {
                const int v = ((q[i] >> shift) & 0x0F) | (((qh[i] >> g) & 1) << 4);
                dst[32 * g + i] = dl * static_cast<float>(v) - ml;
            }
        }
    }
}

// Q6_K, 210 bytes: ql[128] | qh[64] | scales[16] (int8) | d (fp16). Two halves of 128; in
// half h, element e = 128 h + 32 k + l (k = 0..3, l = 0..31) has
//   low 4 bits:  byte ql[64 h + 32 (k % 2) + l], low nibble for k < 2, high nibble for k >= 2
//   high 2 bits: bits 2k..2k+1 of qh[32 h + l]
// q = those 6 bits - 32 (in -32..31); group of 16 g = e / 16 has scale scales[g].
// value = (d * scale) * q.
void dequantize_row_q6_k(const void* src, float* dst, int64_t n) {
    check_length(n, kQK_K, "Q6_K");
    const uint8_t* block = bytes(src);
    for (int64_t b = 0; b < n / kQK_K; ++b, block += 210, dst += kQK_K) {
        const uint8_t* ql = block;
        const uint8_t* qh = block + 128;
        const uint8_t* scales = block + 192;
        const float d = load_f16(block + 208);
        for (int g = 0; g < 16; ++g) {
            const int e0 = 16 * g;
            const int h = e0 / 128, k = (e0 % 128) / 32, l0 = e0 % 32;
            const uint8_t* lo = ql + 64 * h + 32 * (k % 2) + l0;
            const int lo_shift = k < 2 ? 0 : 4;
            const uint8_t* hi = qh + 32 * h + l0;
            const int hi_shift = 2 * k;
            const float dl = d * static_cast<float>(static_cast<int8_t>(scales[g]));
            for (int i = 0; i < 16; ++i) {
                const int v = ((lo[i] >> lo_shift) & 0x0F) | (((hi[i] >> hi_shift) & 3) << 4);
                dst[e0 + i] = dl * static_cast<float>(v - 32);
            }
        }
    }
}

}  // namespace hearth
