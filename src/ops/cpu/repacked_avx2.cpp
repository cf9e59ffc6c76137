// Q4_0 and Q4_K weights in the x16 layout (repack.h) against Q8_32 / Q8_256 activations,
// AVX2. The arithmetic is that of repacked_avx512.cpp with 8 rows per 256-bit vector: each
// 64-byte chunk of the layout is two vectors, rows 0..7 and rows 8..15 ("halves"). Without
// VNNI, maddubs multiplies the 4 code bytes of a row by 4 broadcast activation bytes into two
// int16 pair sums, eight of them (one block of 32) are added in int16 and one madd turns the
// pairs into the row's int32 sum. The int16 sums cannot overflow for 4-bit codes: 8 · 2 · 15
// · 127 = 30480 < 32767. (Q8_0's codes, stored +128, would overflow; it keeps its row-layout
// kernel on this path.)
#if defined(__x86_64__)  // the build adds this file's -m flags on x86-64 only (CMakeLists.txt)
#include "ops/cpu/avx2_common.h"

namespace hearth::ops::cpu {
namespace {

constexpr int kRows = 16;          // rows per group of the layout
constexpr int kHalf = 8;           // rows per vector

inline __m256i bcast4(const int8_t* p) {
    return _mm256_set1_epi32(static_cast<int>(load_u32(reinterpret_cast<const uint8_t*>(p))));
}

// Σ over one block of 32 for 8 rows: code vector k pairs with activation bytes 4k..4k+3.
inline __m256i block_dot(const __m256i (&w)[8], const int8_t* x) {
    __m256i p0 = _mm256_maddubs_epi16(w[0], bcast4(x));
    __m256i p1 = _mm256_maddubs_epi16(w[1], bcast4(x + 4));
    p0 = _mm256_add_epi16(p0, _mm256_maddubs_epi16(w[2], bcast4(x + 8)));
    p1 = _mm256_add_epi16(p1, _mm256_maddubs_epi16(w[3], bcast4(x + 12)));
    p0 = _mm256_add_epi16(p0, _mm256_maddubs_epi16(w[4], bcast4(x + 16)));
    p1 = _mm256_add_epi16(p1, _mm256_maddubs_epi16(w[5], bcast4(x + 20)));
    p0 = _mm256_add_epi16(p0, _mm256_maddubs_epi16(w[6], bcast4(x + 24)));
    p1 = _mm256_add_epi16(p1, _mm256_maddubs_epi16(w[7], bcast4(x + 28)));
    return _mm256_madd_epi16(_mm256_add_epi16(p0, p1), _mm256_set1_epi16(1));
}

// Codes of 8 chunks (each `stride` bytes apart) for rows of half h: `high` picks the high
// nibbles.
inline void nibble_codes(const uint8_t* chunks, size_t stride, int h, bool high, __m256i (&w)[8], int first, int n) {
    const __m256i mask = _mm256_set1_epi8(0x0F);
    for (int m = 0; m < n; ++m) {
        const __m256i v = loadu256(chunks + stride * m + 32 * h);
        w[first + m] = _mm256_and_si256(high ? _mm256_srli_epi16(v, 4) : v, mask);
    }
}

// y for rows r.. r+7 (those below r1) of token t + j.
inline void store_rows(const GemmArgs& a, int64_t r, int64_t r1, int64_t t, int j, __m256 v) {
    float* y = a.y + (t + j) * a.y_stride + r;
    const int64_t n = r1 - r;
    if (n >= kHalf) {
        _mm256_storeu_ps(y, v);
        return;
    }
    alignas(32) float tmp[kHalf];
    _mm256_store_ps(tmp, v);
    for (int64_t i = 0; i < n; ++i) y[i] = tmp[i];
}

inline __m256 half_scales(const uint8_t* fp16x16, int h) { return _mm256_cvtph_ps(loadu128(fp16x16 + 16 * h)); }

// Q4_0: blocks of 32; w = d·(c − 8).
struct Q4_0x16 {
    static constexpr size_t kBlockBytes = 288;
    static constexpr int kTokens = 4;

    // Rows r..r+8H-1 (H halves from row r, r a multiple of 8) × tokens t..t+T-1.
    template <int H, int T>
    static void tile(const GemmArgs& a, int64_t r, int64_t r1, int64_t t) {
        const int64_t nb = a.cols / 32;
        const uint8_t* group = a.w + static_cast<size_t>(r / kRows) * a.w_stride;
        const int h0 = static_cast<int>((r / kHalf) % 2);
        TokenRow x[T];
        token_rows(a, t, T, x);
        __m256 acc[H][T];
        for (int h = 0; h < H; ++h)
            for (int j = 0; j < T; ++j) acc[h][j] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; ++b) {
            const uint8_t* blk = group + b * kBlockBytes;
            for (int h = 0; h < H; ++h) {
                const __m256 d = half_scales(blk, h0 + h);
                const __m256 offset = _mm256_mul_ps(d, _mm256_set1_ps(-8.0f));
                __m256i w[8];
                nibble_codes(blk + 32, 64, h0 + h, false, w, 0, 4);
                nibble_codes(blk + 32, 64, h0 + h, true, w, 4, 4);
                for (int j = 0; j < T; ++j) {
                    const __m256 dot = _mm256_cvtepi32_ps(block_dot(w, x[j].q + 32 * b));
                    acc[h][j] = _mm256_fmadd_ps(_mm256_mul_ps(dot, _mm256_set1_ps(x[j].d[b])), d, acc[h][j]);
                    acc[h][j] = _mm256_fmadd_ps(offset, _mm256_set1_ps(x[j].s[b]), acc[h][j]);
                }
            }
        }
        for (int h = 0; h < H; ++h)
            for (int j = 0; j < T; ++j) store_rows(a, r + kHalf * h, r1, t, j, acc[h][j]);
    }
};

// Q4_K: super-blocks of 256 = 8 sub-blocks of 32; w = d·sc_g·c − dmin·m_g.
struct Q4_Kx16 {
    static constexpr size_t kBlockBytes = 2368;
    static constexpr size_t kScales = 64, kMins = 192, kCodes = 320;
    static constexpr int kTokens = 4;

    static __m256 bytes_as_floats(const uint8_t* p) {
        return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
    }

    template <int H, int T>
    static void tile(const GemmArgs& a, int64_t r, int64_t r1, int64_t t) {
        const int64_t nsb = a.cols / 256;
        const uint8_t* group = a.w + static_cast<size_t>(r / kRows) * a.w_stride;
        const int h0 = static_cast<int>((r / kHalf) % 2);
        TokenRow x[T];
        token_rows(a, t, T, x);
        __m256 acc[H][T];
        for (int h = 0; h < H; ++h)
            for (int j = 0; j < T; ++j) acc[h][j] = _mm256_setzero_ps();
        for (int64_t sb = 0; sb < nsb; ++sb) {
            const uint8_t* blk = group + sb * kBlockBytes;
            for (int h = 0; h < H; ++h) {
                const int hh = h0 + h;
                const __m256 d = half_scales(blk, hh);
                const __m256 dmin = half_scales(blk + 32, hh);
                __m256 sums[T];
                for (int j = 0; j < T; ++j) sums[j] = _mm256_setzero_ps();
                for (int g = 0; g < 8; ++g) {
                    __m256i w[8];
                    nibble_codes(blk + kCodes + 512 * (g / 2), 64, hh, g % 2 != 0, w, 0, 8);
                    const __m256 scale = _mm256_mul_ps(d, bytes_as_floats(blk + kScales + 16 * g + kHalf * hh));
                    const __m256 min = _mm256_mul_ps(dmin, bytes_as_floats(blk + kMins + 16 * g + kHalf * hh));
                    for (int j = 0; j < T; ++j) {
                        const int8_t* xq = x[j].q + 256 * sb + 32 * g;
                        sums[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_dot(w, xq)), scale, sums[j]);
                        const float* s = x[j].s + 16 * sb + 2 * g;  // sums of the two runs of 16
                        acc[h][j] = _mm256_fnmadd_ps(min, _mm256_set1_ps(s[0] + s[1]), acc[h][j]);
                    }
                }
                for (int j = 0; j < T; ++j)
                    acc[h][j] = _mm256_fmadd_ps(sums[j], _mm256_set1_ps(x[j].d[sb]), acc[h][j]);
            }
        }
        for (int h = 0; h < H; ++h)
            for (int j = 0; j < T; ++j) store_rows(a, r + kHalf * h, r1, t, j, acc[h][j]);
    }
};

// Rows [r0, r1) (r0 a multiple of 16), all tokens.
template <class K>
void gemm_x16(const GemmArgs& a, int64_t r0, int64_t r1) {
    if (a.n_tokens == 1) {
        // Both halves of a group per pass: each cache line of the layout holds both.
        for (int64_t r = r0; r < r1; r += kRows) {
            if (r + kHalf < r1) K::template tile<2, 1>(a, r, r1, 0);
            else K::template tile<1, 1>(a, r, r1, 0);
        }
        return;
    }
    x16_gemm_tokens<K, kHalf>(a, r0, r1);
}

}  // namespace

void add_repacked_kernels_avx2(KernelTable& table) {
    table.x16[slot(TensorType::Q4_0)] = Kernel{gemm_x16<Q4_0x16>};
    table.x16[slot(TensorType::Q4_K)] = Kernel{gemm_x16<Q4_Kx16>};
}

}  // namespace hearth::ops::cpu

#endif  // __x86_64__
