#include "tensor/quantize.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "tensor/fp16_impl.h"

namespace hearth {
namespace {

constexpr int kQK = 32;
constexpr int kQK_K = 256;

void check_length(int64_t n, int64_t block, const char* type) {
    if (n % block != 0) fail("quantize {}: {} values are not a whole number of {}-value blocks", type, n, block);
}

void store_f16(uint8_t* p, float v) {
    uint16_t h = detail::float_to_half(v);
    std::memcpy(p, &h, 2);
}

// The value with the largest magnitude, keeping its sign.
float signed_absmax(const float* x, int n) {
    float amax = 0, max = 0;
    for (int i = 0; i < n; ++i)
        if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), max = x[i];
    return max;
}

// ---- legacy 32-value blocks: plain rounding ---------------------------------------------

void pack_nibbles(const uint8_t* codes, uint8_t* qs) {
    for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>((codes[j] & 0x0F) | ((codes[j + 16] & 0x0F) << 4));
}

uint32_t pack_fifth_bits(const uint8_t* codes) {
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
        qh |= static_cast<uint32_t>((codes[j] >> 4) & 1) << j;
        qh |= static_cast<uint32_t>((codes[j + 16] >> 4) & 1) << (j + 16);
    }
    return qh;
}

// Symmetric 4/5-bit: d = (signed absmax) / −half, codes = trunc(x/d + half + 0.5) capped.
void quantize_symmetric_block(const float* x, int half, uint8_t* codes, float& d) {
    const float max = signed_absmax(x, kQK);
    d = max / static_cast<float>(-half);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const int cap = 2 * half - 1;
    for (int j = 0; j < kQK; ++j) {
        int v = static_cast<int8_t>(x[j] * id + (static_cast<float>(half) + 0.5f));
        codes[j] = static_cast<uint8_t>(std::min(cap, v));
    }
}

// Asymmetric 4/5-bit: codes = trunc((x − min)/d + 0.5) with d = (max − min)/levels.
void quantize_asymmetric_block(const float* x, int levels, bool cap, uint8_t* codes, float& d, float& min) {
    min = FLT_MAX;
    float max = -FLT_MAX;
    for (int j = 0; j < kQK; ++j) min = std::min(min, x[j]), max = std::max(max, x[j]);
    d = (max - min) / static_cast<float>(levels);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < kQK; ++j) {
        int v = static_cast<uint8_t>((x[j] - min) * id + 0.5f);
        codes[j] = static_cast<uint8_t>(cap ? std::min(levels, v) : v);
    }
}

// ---- K-quants: searched group scales ----------------------------------------------------

// std::lround without the libm call, which took a quarter of K-quant quantization time: rounds
// half away from zero (exact for float inputs). NaN and huge values go to the ends; callers
// clamp to their code range anyway.
inline int round_half_away(double v) {
    if (!(v > -1e9)) return -1000000000;
    if (v > 1e9) return 1000000000;
    return static_cast<int>(v < 0 ? v - 0.5 : v + 0.5);
}

// Least weighted squared error fit x ≈ scale·q − offset with q in 0..nmax and offset ≥ 0.
// Tries a sweep of candidate scales around (max − min)/nmax, refits scale and offset by
// least squares for each candidate's codes, keeps the best. Returns the codes in L.
void fit_scale_offset(const float* x, const float* w, int n, int nmax, uint8_t* L, float& scale, float& offset) {
    float min = x[0], max = x[0];
    for (int i = 1; i < n; ++i) min = std::min(min, x[i]), max = std::max(max, x[i]);
    if (min > 0) min = 0;  // the offset only ever lowers values: a group of positives starts at 0
    if (max <= min) {
        std::fill(L, L + n, 0);
        scale = 0;
        offset = -min;
        return;
    }
    double best_err = DBL_MAX;
    uint8_t trial[32];
    for (int step = -10; step <= 10; ++step) {
        const float iscale = (static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / (max - min);
        for (int i = 0; i < n; ++i)
            trial[i] = static_cast<uint8_t>(std::clamp(round_half_away(iscale * (x[i] - min)), 0, nmax));
        double s = 1.0 / iscale, m = min;
        // Alternate: fit (scale, offset) to the codes by least squares, then re-round the codes
        // to the fitted grid. A few rounds settle dense clusters onto grid points.
        for (int round = 0; round < 4; ++round) {
            double sw = 0, swq = 0, swq2 = 0, swx = 0, swqx = 0;
            for (int i = 0; i < n; ++i) {
                const double q = trial[i];
                sw += w[i], swq += w[i] * q, swq2 += w[i] * q * q, swx += w[i] * x[i], swqx += w[i] * q * x[i];
            }
            // Solve [swq2 swq; swq sw]·[s; m] = [swqx; swx] for x ≈ s·q + m, then require m ≤ 0.
            const double det = sw * swq2 - swq * swq;
            if (det > 0) {
                s = (sw * swqx - swq * swx) / det;
                m = (swq2 * swx - swq * swqx) / det;
            }
            if (m > 0) {
                m = 0;
                s = swq2 > 0 ? swqx / swq2 : 0;
            }
            if (!(s > 0)) break;
            double err = 0;
            for (int i = 0; i < n; ++i) {
                const double diff = s * trial[i] + m - x[i];
                err += w[i] * diff * diff;
            }
            if (err < best_err) {
                best_err = err;
                scale = static_cast<float>(s);
                offset = static_cast<float>(-m);
                std::copy(trial, trial + n, L);
            }
            bool changed = false;
            for (int i = 0; i < n; ++i) {
                const auto q = static_cast<uint8_t>(std::clamp(round_half_away((x[i] - m) / s), 0, nmax));
                changed |= q != trial[i];
                trial[i] = q;
            }
            if (!changed) break;
        }
    }
    if (best_err == DBL_MAX) {  // no candidate gave a usable fit: fall back to the plain range
        scale = (max - min) / nmax;
        offset = -min;
        for (int i = 0; i < n; ++i)
            L[i] = static_cast<uint8_t>(std::clamp(round_half_away((x[i] - min) / scale), 0, nmax));
    }
}

// Least weighted squared error fit x ≈ scale·q with q in −nneg..npos; returns the fitted
// (signed) scale. Candidates as above, around −nneg / (signed absmax).
float fit_scale_symmetric(const float* x, const float* w, int n, int nneg, int npos) {
    const float max = signed_absmax(x, n);
    if (max == 0) return 0;
    double best_err = DBL_MAX;
    float best = 0;
    for (int step = -10; step <= 10; ++step) {
        const float iscale = -(static_cast<float>(nneg) + 0.1f * static_cast<float>(step)) / max;
        double swq2 = 0, swqx = 0;
        for (int i = 0; i < n; ++i) {
            int q = std::clamp(round_half_away(iscale * x[i]), -nneg, npos);
            swq2 += w[i] * q * q, swqx += w[i] * q * x[i];
        }
        if (swq2 <= 0) continue;
        const double s = swqx / swq2;
        double err = 0;
        for (int i = 0; i < n; ++i) {
            int q = std::clamp(round_half_away(x[i] / s), -nneg, npos);
            double diff = s * q - x[i];
            err += w[i] * diff * diff;
        }
        if (err < best_err) best_err = err, best = static_cast<float>(s);
    }
    return best;
}

// Importance of each value: large values matter more, but small ones are not free.
void magnitude_weights(const float* x, int n, float* w) {
    double sum_sq = 0;
    for (int i = 0; i < n; ++i) sum_sq += static_cast<double>(x[i]) * x[i];
    const float av = static_cast<float>(std::sqrt(sum_sq / n));
    for (int i = 0; i < n; ++i) w[i] = av + std::fabs(x[i]);
}

void squared_weights(const float* x, int n, float* w) {
    for (int i = 0; i < n; ++i) w[i] = x[i] * x[i] + 1e-12f;
}

int nearest_code(float v, float step, int lo, int hi) {
    if (step == 0) return 0;
    return std::clamp(round_half_away(v / step), lo, hi);
}

// Rounding a group's scale and offset to their stored codes can land one step off the best
// pair: try the neighbours and keep the pair (and value codes) with the least weighted error.
void refine_group_codes(const float* x, const float* w, int n, int nmax, float d, float dmin, int code_max,
                        int& s_code, int& m_code, uint8_t* codes) {
    double best = DBL_MAX;
    int best_s = s_code, best_m = m_code;
    for (int ds = -1; ds <= 1; ++ds)
        for (int dm = -1; dm <= 1; ++dm) {
            const int sc = s_code + ds, mc = m_code + dm;
            if (sc < 0 || sc > code_max || mc < 0 || mc > code_max) continue;
            const float s = d * sc, m = dmin * mc;
            double err = 0;
            for (int i = 0; i < n; ++i) {
                const int q = s > 0 ? nearest_code(x[i] + m, s, 0, nmax) : 0;
                const double diff = static_cast<double>(s) * q - m - x[i];
                err += w[i] * diff * diff;
            }
            if (err < best) best = err, best_s = sc, best_m = mc;
        }
    s_code = best_s, m_code = best_m;
    const float s = d * s_code, m = dmin * m_code;
    for (int i = 0; i < n; ++i) codes[i] = static_cast<uint8_t>(s > 0 ? nearest_code(x[i] + m, s, 0, nmax) : 0);
}

// Group (scale, offset) pairs of a Q4_K/Q5_K super-block: fits 8 groups of 32, then stores
// the scales and offsets as 6-bit multiples of d and dmin. Fills codes (0..nmax) for 256.
void quantize_k4_groups(const float* x, int nmax, uint8_t* codes, float& d, float& dmin, uint8_t* ls, uint8_t* lm) {
    float w[kQK_K], scales[8], offsets[8];
    // Weights per group: one outlier should not make its whole super-block's values "free".
    for (int g = 0; g < 8; ++g) magnitude_weights(x + 32 * g, 32, w + 32 * g);
    for (int g = 0; g < 8; ++g) fit_scale_offset(x + 32 * g, w + 32 * g, 32, nmax, codes + 32 * g, scales[g], offsets[g]);
    const float max_scale = *std::max_element(scales, scales + 8);
    const float max_offset = *std::max_element(offsets, offsets + 8);
    d = max_scale / 63.0f;
    dmin = max_offset / 63.0f;
    // The block stores d and dmin as fp16: quantize the group scales against those values.
    const float d16 = detail::half_to_float(detail::float_to_half(d));
    const float dmin16 = detail::half_to_float(detail::float_to_half(dmin));
    for (int g = 0; g < 8; ++g) {
        int s_code = nearest_code(scales[g], d16, 0, 63), m_code = nearest_code(offsets[g], dmin16, 0, 63);
        refine_group_codes(x + 32 * g, w + 32 * g, 32, nmax, d16, dmin16, 63, s_code, m_code, codes + 32 * g);
        ls[g] = static_cast<uint8_t>(s_code);
        lm[g] = static_cast<uint8_t>(m_code);
    }
}

void pack_k4_scales(const uint8_t* ls, const uint8_t* lm, uint8_t* s) {
    std::memset(s, 0, 12);
    for (int j = 0; j < 4; ++j) {
        s[j] = static_cast<uint8_t>(ls[j] & 63);
        s[j + 4] = static_cast<uint8_t>(lm[j] & 63);
    }
    for (int j = 4; j < 8; ++j) {
        s[j + 4] = static_cast<uint8_t>((ls[j] & 0x0F) | ((lm[j] & 0x0F) << 4));
        s[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
        s[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
}

// Four chunks of 64: byte 32c + l holds element 64c + l (low nibble) and 64c + 32 + l (high).
void pack_k4_nibbles(const uint8_t* codes, uint8_t* qs) {
    for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l)
            qs[32 * c + l] = static_cast<uint8_t>((codes[64 * c + l] & 0x0F) | ((codes[64 * c + 32 + l] & 0x0F) << 4));
}

// Two halves of 128: byte 32h + l holds elements 128h + 32s + l at bits 2s (s = 0..3).
void pack_2bit(const uint8_t* codes, uint8_t* qs) {
    for (int h = 0; h < 2; ++h)
        for (int l = 0; l < 32; ++l) {
            uint8_t b = 0;
            for (int s = 0; s < 4; ++s) b |= static_cast<uint8_t>((codes[128 * h + 32 * s + l] & 3) << (2 * s));
            qs[32 * h + l] = b;
        }
}

}  // namespace

void quantize_row_f32(const float* src, void* dst, int64_t n) { std::memcpy(dst, src, n * sizeof(float)); }

void quantize_row_f16(const float* src, void* dst, int64_t n) {
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t i = 0; i < n; ++i) store_f16(out + 2 * i, src[i]);
}

void quantize_row_bf16(const float* src, void* dst, int64_t n) {
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t i = 0; i < n; ++i) {
        uint16_t b = detail::float_to_bf16(src[i]);
        std::memcpy(out + 2 * i, &b, 2);
    }
}

void quantize_row_q4_0(const float* src, void* dst, int64_t n) {
    check_length(n, kQK, "Q4_0");
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t b = 0; b < n / kQK; ++b, src += kQK, out += 18) {
        uint8_t codes[kQK];
        float d;
        quantize_symmetric_block(src, 8, codes, d);
        store_f16(out, d);
        pack_nibbles(codes, out + 2);
    }
}

void quantize_row_q4_1(const float* src, void* dst, int64_t n) {
    check_length(n, kQK, "Q4_1");
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t b = 0; b < n / kQK; ++b, src += kQK, out += 20) {
        uint8_t codes[kQK];
        float d, min;
        quantize_asymmetric_block(src, 15, /*cap=*/true, codes, d, min);
        store_f16(out, d);
        store_f16(out + 2, min);
        pack_nibbles(codes, out + 4);
    }
}

void quantize_row_q5_0(const float* src, void* dst, int64_t n) {
    check_length(n, kQK, "Q5_0");
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t b = 0; b < n / kQK; ++b, src += kQK, out += 22) {
        uint8_t codes[kQK];
        float d;
        quantize_symmetric_block(src, 16, codes, d);
        store_f16(out, d);
        uint32_t qh = pack_fifth_bits(codes);
        std::memcpy(out + 2, &qh, 4);
        pack_nibbles(codes, out + 6);
    }
}

void quantize_row_q5_1(const float* src, void* dst, int64_t n) {
    check_length(n, kQK, "Q5_1");
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t b = 0; b < n / kQK; ++b, src += kQK, out += 24) {
        uint8_t codes[kQK];
        float d, min;
        quantize_asymmetric_block(src, 31, /*cap=*/false, codes, d, min);
        store_f16(out, d);
        store_f16(out + 2, min);
        uint32_t qh = pack_fifth_bits(codes);
        std::memcpy(out + 4, &qh, 4);
        pack_nibbles(codes, out + 8);
    }
}

void quantize_row_q8_0(const float* src, void* dst, int64_t n) {
    check_length(n, kQK, "Q8_0");
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t b = 0; b < n / kQK; ++b, src += kQK, out += 34) {
        float amax = 0;
        for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(src[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        store_f16(out, d);
        for (int j = 0; j < kQK; ++j) out[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::roundf(src[j] * id)));
    }
}

void quantize_row_q2_k(const float* src, void* dst, int64_t n) {
    check_length(n, kQK_K, "Q2_K");
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t b = 0; b < n / kQK_K; ++b, src += kQK_K, out += 84) {
        float w[kQK_K], scales[16], offsets[16];
        uint8_t codes[kQK_K];
        magnitude_weights(src, kQK_K, w);
        for (int g = 0; g < 16; ++g) fit_scale_offset(src + 16 * g, w + 16 * g, 16, 3, codes + 16 * g, scales[g], offsets[g]);
        const float d = *std::max_element(scales, scales + 16) / 15.0f;
        const float dmin = *std::max_element(offsets, offsets + 16) / 15.0f;
        store_f16(out + 80, d);
        store_f16(out + 82, dmin);
        const float d16 = detail::half_to_float(detail::float_to_half(d));
        const float dmin16 = detail::half_to_float(detail::float_to_half(dmin));
        for (int g = 0; g < 16; ++g) {
            int ls = nearest_code(scales[g], d16, 0, 15), lm = nearest_code(offsets[g], dmin16, 0, 15);
            refine_group_codes(src + 16 * g, w + 16 * g, 16, 3, d16, dmin16, 15, ls, lm, codes + 16 * g);
            out[g] = static_cast<uint8_t>(ls | (lm << 4));
        }
        pack_2bit(codes, out + 16);
    }
}

void quantize_row_q3_k(const float* src, void* dst, int64_t n) {
    check_length(n, kQK_K, "Q3_K");
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t b = 0; b < n / kQK_K; ++b, src += kQK_K, out += 110) {
        float w[kQK_K], scales[16];
        squared_weights(src, kQK_K, w);
        for (int g = 0; g < 16; ++g) scales[g] = fit_scale_symmetric(src + 16 * g, w + 16 * g, 16, 4, 3);
        const float max_scale = signed_absmax(scales, 16);
        const float d = max_scale != 0 ? max_scale / -32.0f : 0.0f;
        store_f16(out + 108, d);
        const float d16 = detail::half_to_float(detail::float_to_half(d));
        uint8_t codes[kQK_K];
        uint8_t* sc = out + 96;
        std::memset(sc, 0, 12);
        for (int g = 0; g < 16; ++g) {
            const int ls = nearest_code(scales[g], d16, -32, 31);
            const int stored = ls + 32;
            if (g < 8) sc[g] |= static_cast<uint8_t>(stored & 0x0F);
            else sc[g - 8] |= static_cast<uint8_t>((stored & 0x0F) << 4);
            sc[8 + g % 4] |= static_cast<uint8_t>(((stored >> 4) & 3) << (2 * (g / 4)));
            const float s = d16 * ls;
            for (int i = 0; i < 16; ++i)
                codes[16 * g + i] = static_cast<uint8_t>((s != 0 ? nearest_code(src[16 * g + i], s, -4, 3) : 0) + 4);
        }
        uint8_t* hmask = out;
        std::memset(hmask, 0, 32);
        uint8_t low[kQK_K];
        for (int e = 0; e < kQK_K; ++e) {
            low[e] = codes[e] & 3;
            if (codes[e] & 4) hmask[e % 32] |= static_cast<uint8_t>(1u << (e / 32));
        }
        pack_2bit(low, out + 32);
    }
}

void quantize_row_q4_k(const float* src, void* dst, int64_t n) {
    check_length(n, kQK_K, "Q4_K");
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t b = 0; b < n / kQK_K; ++b, src += kQK_K, out += 144) {
        uint8_t codes[kQK_K], ls[8], lm[8];
        float d, dmin;
        quantize_k4_groups(src, 15, codes, d, dmin, ls, lm);
        store_f16(out, d);
        store_f16(out + 2, dmin);
        pack_k4_scales(ls, lm, out + 4);
        pack_k4_nibbles(codes, out + 16);
    }
}

void quantize_row_q5_k(const float* src, void* dst, int64_t n) {
    check_length(n, kQK_K, "Q5_K");
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t b = 0; b < n / kQK_K; ++b, src += kQK_K, out += 176) {
        uint8_t codes[kQK_K], ls[8], lm[8];
        float d, dmin;
        quantize_k4_groups(src, 31, codes, d, dmin, ls, lm);
        store_f16(out, d);
        store_f16(out + 2, dmin);
        pack_k4_scales(ls, lm, out + 4);
        uint8_t* qh = out + 16;
        std::memset(qh, 0, 32);
        for (int e = 0; e < kQK_K; ++e)
            if (codes[e] & 16) qh[e % 32] |= static_cast<uint8_t>(1u << (e / 32));
        pack_k4_nibbles(codes, out + 48);
    }
}

void quantize_row_q6_k(const float* src, void* dst, int64_t n) {
    check_length(n, kQK_K, "Q6_K");
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t b = 0; b < n / kQK_K; ++b, src += kQK_K, out += 210) {
        float w[kQK_K], scales[16];
        squared_weights(src, kQK_K, w);
        for (int g = 0; g < 16; ++g) scales[g] = fit_scale_symmetric(src + 16 * g, w + 16 * g, 16, 32, 31);
        const float max_scale = signed_absmax(scales, 16);
        const float d = max_scale != 0 ? max_scale / -128.0f : 0.0f;
        store_f16(out + 208, d);
        const float d16 = detail::half_to_float(detail::float_to_half(d));
        uint8_t codes[kQK_K];
        for (int g = 0; g < 16; ++g) {
            const int ls = nearest_code(scales[g], d16, -128, 127);
            out[192 + g] = static_cast<uint8_t>(static_cast<int8_t>(ls));
            const float s = d16 * ls;
            for (int i = 0; i < 16; ++i)
                codes[16 * g + i] = static_cast<uint8_t>((s != 0 ? nearest_code(src[16 * g + i], s, -32, 31) : 0) + 32);
        }
        uint8_t* ql = out;
        uint8_t* qh = out + 128;
        std::memset(ql, 0, 128);
        std::memset(qh, 0, 64);
        for (int e = 0; e < kQK_K; ++e) {
            const int h = e / 128, k = (e % 128) / 32, l = e % 32;
            ql[64 * h + 32 * (k % 2) + l] |= static_cast<uint8_t>((codes[e] & 0x0F) << (k < 2 ? 0 : 4));
            qh[32 * h + l] |= static_cast<uint8_t>(((codes[e] >> 4) & 3) << (2 * k));
        }
    }
}

QuantizeRowFn find_quantizer(TensorType type) { return type_traits(type).quantize_row; }

}  // namespace hearth
