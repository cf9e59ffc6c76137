// The 4-bit codebook types: each code indexes a fixed table of 16 values, times a block scale.
//
//   MXFP4   17 bytes per 32 values:  e (E8M0 exponent byte) | qs[16]
//           value = kMxfp4Values[code] · 2^(e − 128)   (E2M1 doubled, scale halved)
//   IQ4_NL  18 bytes per 32 values:  d (fp16) | qs[16]
//           value = d · kIq4nlValues[code]
//   IQ4_XS  136 bytes per 256 values: d (fp16) | scales_h (u16) | scales_l[4] | qs[128]
//           sub-block j (32 values): value = d · (ls_j − 32) · kIq4nlValues[code], ls_j 6 bits:
//           low 4 in nibble j % 2 of scales_l[j / 2], high 2 in bits 2j..2j+1 of scales_h
//
// In every block of 32, code i (0..15) is the low nibble of qs[i] and code i + 16 its high
// nibble. Dequantization is bit-exact with ggml: each value is one float product of the scale
// (computed as ggml computes it) and a small integer.
//
// Quantization follows ggml's reference quantizers' arithmetic so files agree byte for byte
// where ggml's quantizer is deterministic: MXFP4 takes e = floor(log2 max|x|) − 2 + 127 and the
// nearest table value (first index wins a tie); IQ4_NL / IQ4_XS search each block's scale for
// the least x²-weighted squared error (llama-quantize's search without an importance matrix).
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "tensor/dequantize.h"
#include "tensor/fp16_impl.h"
#include "tensor/quantize.h"

namespace hearth {

const int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
const int8_t kMxfp4Values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

float e8m0_to_float_half(uint8_t e) {
    // 2^(e − 128) is a normal float for e ≥ 2 (biased exponent e − 1); below that a subnormal.
    const uint32_t bits = e < 2 ? 0x00200000u << e : static_cast<uint32_t>(e - 1) << 23;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

int iq4_xs_scale(const uint8_t* block, int j) {
    const unsigned scales_h = static_cast<unsigned>(block[2] | (block[3] << 8));
    const unsigned low = (block[4 + j / 2] >> (4 * (j % 2))) & 0x0F;
    const unsigned high = (scales_h >> (2 * j)) & 3;
    return static_cast<int>(low | (high << 4)) - 32;
}

namespace {

constexpr int kQK = 32;
constexpr int kQK_K = 256;
constexpr size_t kMxfp4Bytes = 17, kIq4nlBytes = 18, kIq4xsBytes = 136;

void check_length(int64_t n, int64_t block, const char* what, const char* type) {
    if (n < 0 || n % block != 0)
        fail("{} {}: row length {} is not a multiple of the block size {}", what, type, n, block);
}

float load_f16(const uint8_t* p) { return detail::half_to_float(static_cast<uint16_t>(p[0] | (p[1] << 8))); }

void store_f16(uint8_t* p, float v) {
    const uint16_t h = detail::float_to_half(v);
    p[0] = static_cast<uint8_t>(h & 0xFF);
    p[1] = static_cast<uint8_t>(h >> 8);
}

// 32 values from 16 bytes of nibbles: scale · table[code].
void decode_block(const uint8_t* qs, const int8_t* table, float scale, float* y) {
    for (int i = 0; i < 16; ++i) {
        y[i] = scale * static_cast<float>(table[qs[i] & 0x0F]);
        y[i + 16] = scale * static_cast<float>(table[qs[i] >> 4]);
    }
}

void pack_nibbles(const uint8_t* codes, uint8_t* qs) {
    for (int i = 0; i < 16; ++i) qs[i] = static_cast<uint8_t>(codes[i] | (codes[i + 16] << 4));
}

// The index of the table value nearest x; the table is sorted, a tie goes to the larger value.
// Compares 2x with the sum of neighbours, which is exact (no rounding in the midpoint).
int nearest_iq4nl(float x) {
    const float x2 = x + x;
    int idx = 0;
    for (int step = 8; step > 0; step >>= 1) {
        const int j = idx + step;
        if (x2 >= static_cast<float>(kIq4nlValues[j - 1] + kIq4nlValues[j])) idx = j;
    }
    return idx;
}

// The scale of one block of 32 for the least Σ w·(x − scale·value)², searched as ggml does:
// start from scale = max/127 (the signed extreme maps onto −127), then try 15 candidate
// inverse scales around it, each refitted by least squares on its codes. 0 for a zero block.
float fit_iq4_block(const float* x, const float* w) {
    float amax = 0, max = 0;
    for (int j = 0; j < kQK; ++j)
        if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), max = x[j];
    if (amax < 1e-15f) return 0.0f;
    const float v0 = kIq4nlValues[0];
    auto sums = [&](float id, float& sumqx, float& sumq2) {
        sumqx = sumq2 = 0;
        for (int j = 0; j < kQK; ++j) {
            const float q = kIq4nlValues[nearest_iq4nl(id * x[j])];
            sumqx += w[j] * q * x[j];
            sumq2 += w[j] * q * q;
        }
    };
    float sumqx, sumq2;
    sums(1.0f / (-max / v0), sumqx, sumq2);
    float d = sumqx / sumq2;
    float best = d * sumqx;
    for (int t = -7; t <= 7; ++t) {
        sums((static_cast<float>(t) + v0) / max, sumqx, sumq2);
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) d = sumqx / sumq2, best = d * sumqx;
    }
    return d;
}

void weights_of(const float* x, float* w, int n) {
    for (int j = 0; j < n; ++j) w[j] = x[j] * x[j];
}

}  // namespace

void dequantize_row_mxfp4(const void* src, float* dst, int64_t n) {
    check_length(n, kQK, "dequantize", "MXFP4");
    const auto* b = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n / kQK; ++i, b += kMxfp4Bytes, dst += kQK)
        decode_block(b + 1, kMxfp4Values, e8m0_to_float_half(b[0]), dst);
}

void dequantize_row_iq4_nl(const void* src, float* dst, int64_t n) {
    check_length(n, kQK, "dequantize", "IQ4_NL");
    const auto* b = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n / kQK; ++i, b += kIq4nlBytes, dst += kQK)
        decode_block(b + 2, kIq4nlValues, load_f16(b), dst);
}

void dequantize_row_iq4_xs(const void* src, float* dst, int64_t n) {
    check_length(n, kQK_K, "dequantize", "IQ4_XS");
    const auto* b = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n / kQK_K; ++i, b += kIq4xsBytes) {
        const float d = load_f16(b);
        for (int j = 0; j < 8; ++j, dst += kQK)
            decode_block(b + 8 + 16 * j, kIq4nlValues, d * static_cast<float>(iq4_xs_scale(b, j)), dst);
    }
}

void quantize_row_mxfp4(const float* src, void* dst, int64_t n) {
    check_length(n, kQK, "quantize", "MXFP4");
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t i = 0; i < n / kQK; ++i, src += kQK, out += kMxfp4Bytes) {
        float amax = 0;
        for (int j = 0; j < kQK; ++j) amax = std::fmax(amax, std::fabs(src[j]));
        // In float like ggml (log2f of a value just below a power of two can round up to it).
        const float biased = amax > 0 ? std::floor(std::log2(amax)) - 2.0f + 127.0f : 0.0f;
        const uint8_t e = !(biased > 0) ? 0 : biased >= 255 ? 255 : static_cast<uint8_t>(biased);
        const float d = e8m0_to_float_half(e);
        out[0] = e;
        uint8_t codes[kQK];
        for (int j = 0; j < kQK; ++j) {
            int best = 0;
            float best_err = std::fabs(static_cast<float>(kMxfp4Values[0]) * d - src[j]);
            for (int k = 1; k < 16; ++k) {
                const float err = std::fabs(static_cast<float>(kMxfp4Values[k]) * d - src[j]);
                if (err < best_err) best = k, best_err = err;
            }
            codes[j] = static_cast<uint8_t>(best);
        }
        pack_nibbles(codes, out + 1);
    }
}

void quantize_row_iq4_nl(const float* src, void* dst, int64_t n) {
    check_length(n, kQK, "quantize", "IQ4_NL");
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t i = 0; i < n / kQK; ++i, src += kQK, out += kIq4nlBytes) {
        float w[kQK];
        weights_of(src, w, kQK);
        const float d = fit_iq4_block(src, w);
        store_f16(out, d);
        const float id = d != 0 ? 1.0f / d : 0.0f;
        uint8_t codes[kQK];
        for (int j = 0; j < kQK; ++j) codes[j] = static_cast<uint8_t>(nearest_iq4nl(id * src[j]));
        pack_nibbles(codes, out + 2);
    }
}

void quantize_row_iq4_xs(const float* src, void* dst, int64_t n) {
    check_length(n, kQK_K, "quantize", "IQ4_XS");
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K, out += kIq4xsBytes) {
        float scales[8], max_scale = 0, amax_scale = 0;
        for (int j = 0; j < 8; ++j) {
            float w[kQK];
            weights_of(src + kQK * j, w, kQK);
            scales[j] = fit_iq4_block(src + kQK * j, w);
            if (std::fabs(scales[j]) > amax_scale) amax_scale = std::fabs(scales[j]), max_scale = scales[j];
        }
        // The sub-block scales as 6-bit multiples of d; the largest maps onto −32.
        const float d = -max_scale / 32.0f;
        store_f16(out, d);
        const float id = d != 0 ? 1.0f / d : 0.0f;
        unsigned scales_h = 0;
        std::memset(out + 4, 0, 4);
        for (int j = 0; j < 8; ++j) {
            int l = static_cast<int>(std::nearbyint(id * scales[j]));
            l = l < -32 ? -32 : l > 31 ? 31 : l;
            const float dl = d * static_cast<float>(l);
            const float idl = dl != 0 ? 1.0f / dl : 0.0f;
            uint8_t codes[kQK];
            for (int k = 0; k < kQK; ++k) codes[k] = static_cast<uint8_t>(nearest_iq4nl(idl * src[kQK * j + k]));
            pack_nibbles(codes, out + 8 + 16 * j);
            const unsigned ls = static_cast<unsigned>(l + 32);
            out[4 + j / 2] |= static_cast<uint8_t>((ls & 0x0F) << (4 * (j % 2)));
            scales_h |= (ls >> 4) << (2 * j);
        }
        out[2] = static_cast<uint8_t>(scales_h & 0xFF);
        out[3] = static_cast<uint8_t>(scales_h >> 8);
    }
}

}  // namespace hearth
