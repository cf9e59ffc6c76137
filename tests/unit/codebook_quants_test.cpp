// MXFP4, IQ4_NL, IQ4_XS (tensor/codebook_quants.cpp): dequantization of hand-built blocks,
// quantize → dequantize error, and MXFP4 against a gpt-oss file written by ggml's tools
// (../shared/golden/arch/synth-gptoss-256-*.gguf).
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"
#include "gguf/gguf.h"
#include "tensor/dequantize.h"
#include "tensor/quantize.h"
#include "tensor/types.h"
#include "test_support.h"

namespace hearth {
namespace {

const int8_t kMx[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
const int8_t kNl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

uint32_t bits_of(float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
}

// 16 bytes whose low nibbles are 0..15 and high nibbles 15..0: every code in both halves.
void every_code(uint8_t* qs) {
    for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
}

TEST(CodebookQuants, E8m0HalfScaleIsGgmls) {
    EXPECT_EQ(bits_of(e8m0_to_float_half(0)), 0x00200000u);  // 2^-128, subnormal
    EXPECT_EQ(bits_of(e8m0_to_float_half(1)), 0x00400000u);  // 2^-127, subnormal
    EXPECT_EQ(bits_of(e8m0_to_float_half(2)), 0x00800000u);  // 2^-126, the smallest normal
    for (int e = 0; e < 256; ++e)
        EXPECT_EQ(e8m0_to_float_half(static_cast<uint8_t>(e)), static_cast<float>(std::ldexp(1.0, e - 128))) << e;
}

TEST(CodebookQuants, Mxfp4DequantizesEveryNibbleAtEveryScale) {
    for (int e : {0, 1, 2, 3, 100, 127, 128, 129, 200, 254, 255}) {
        uint8_t block[17];
        block[0] = static_cast<uint8_t>(e);
        every_code(block + 1);
        float y[32];
        dequantize_row_mxfp4(block, y, 32);
        for (int j = 0; j < 16; ++j) {
            EXPECT_EQ(y[j], static_cast<float>(std::ldexp(kMx[j], e - 128))) << "e " << e << " j " << j;
            EXPECT_EQ(y[j + 16], static_cast<float>(std::ldexp(kMx[15 - j], e - 128))) << "e " << e << " j " << j;
        }
    }
    // e = 128 is scale 1: the doubled E2M1 values themselves.
    uint8_t one[17] = {128};
    every_code(one + 1);
    float y[32];
    dequantize_row_mxfp4(one, y, 32);
    EXPECT_EQ(y[7], 12.0f);
    EXPECT_EQ(y[16], -12.0f);  // high nibble of byte 1 is code 15
    EXPECT_EQ(y[5], 6.0f);
}

TEST(CodebookQuants, Iq4nlDequantizesEveryNibble) {
    uint8_t block[18] = {0x00, 0x38};  // fp16 0.5
    every_code(block + 2);
    float y[32];
    dequantize_row_iq4_nl(block, y, 32);
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(y[j], 0.5f * kNl[j]) << j;
        EXPECT_EQ(y[j + 16], 0.5f * kNl[15 - j]) << j;
    }
    EXPECT_EQ(y[0], -63.5f);
}

TEST(CodebookQuants, Iq4xsSixBitScalesAndValues) {
    // Sub-block scales (ls, 0..63) chosen to set every bit of both fields.
    const int ls[8] = {0, 63, 32, 17, 48, 5, 40, 33};
    uint8_t block[136] = {};
    block[0] = 0x00, block[1] = 0x3C;  // d = 1
    uint16_t h = 0;
    for (int j = 0; j < 8; ++j) {
        block[4 + j / 2] |= static_cast<uint8_t>((ls[j] & 15) << (4 * (j % 2)));
        h |= static_cast<uint16_t>((ls[j] >> 4) << (2 * j));
    }
    block[2] = static_cast<uint8_t>(h & 0xFF), block[3] = static_cast<uint8_t>(h >> 8);
    for (int j = 0; j < 8; ++j) every_code(block + 8 + 16 * j);
    for (int j = 0; j < 8; ++j) EXPECT_EQ(iq4_xs_scale(block, j), ls[j] - 32) << j;
    std::vector<float> y(256);
    dequantize_row_iq4_xs(block, y.data(), 256);
    for (int j = 0; j < 8; ++j)
        for (int i = 0; i < 16; ++i) {
            EXPECT_EQ(y[32 * j + i], static_cast<float>((ls[j] - 32) * kNl[i])) << j << " " << i;
            EXPECT_EQ(y[32 * j + 16 + i], static_cast<float>((ls[j] - 32) * kNl[15 - i])) << j << " " << i;
        }
}

TEST(CodebookQuants, LengthsThatAreNotWholeBlocksAreRefused) {
    std::vector<uint8_t> bytes(1024);
    std::vector<float> f(1024);
    EXPECT_THROW(dequantize_row_mxfp4(bytes.data(), f.data(), 33), Error);
    EXPECT_THROW(dequantize_row_iq4_nl(bytes.data(), f.data(), 16), Error);
    EXPECT_THROW(dequantize_row_iq4_xs(bytes.data(), f.data(), 32), Error);
    EXPECT_THROW(quantize_row_mxfp4(f.data(), bytes.data(), 48), Error);
    EXPECT_THROW(quantize_row_iq4_nl(f.data(), bytes.data(), 31), Error);
    EXPECT_THROW(quantize_row_iq4_xs(f.data(), bytes.data(), 288), Error);
    for (TensorType t : {TensorType::MXFP4, TensorType::IQ4_NL, TensorType::IQ4_XS})
        EXPECT_THROW(row_bytes(type_traits(t), type_traits(t).block_size + 1), Error);
}

struct RoundTrip {
    TensorType type;
    double max_relative_rms;  // rms(x − dequantize(quantize(x))) / rms(x), Gaussian rows
};

TEST(CodebookQuants, RoundTripErrorIsBounded) {
    // On these rows Q4_0 gives 0.084 and Q4_K 0.070; the non-linear grid with a searched scale
    // gives 0.075, MXFP4 (power-of-two scales, no search) 0.114.
    for (RoundTrip c : {RoundTrip{TensorType::IQ4_NL, 0.08}, RoundTrip{TensorType::IQ4_XS, 0.08},
                        RoundTrip{TensorType::MXFP4, 0.125}}) {
        const TypeTraits& t = type_traits(c.type);
        std::mt19937 rng(7);
        std::normal_distribution<float> normal(0.0f, 0.02f);
        const int64_t n = 4096;
        std::vector<float> x(n), y(n);
        for (float& v : x) v = normal(rng);
        std::vector<uint8_t> q(row_bytes(t, n));
        ASSERT_NE(t.quantize_row, nullptr);
        t.quantize_row(x.data(), q.data(), n);
        t.dequantize_row(q.data(), y.data(), n);
        double err = 0, ref = 0;
        for (int64_t i = 0; i < n; ++i) err += (x[i] - y[i]) * (x[i] - y[i]), ref += x[i] * x[i];
        const double rel = std::sqrt(err / ref);
        EXPECT_LT(rel, c.max_relative_rms) << t.name;
        EXPECT_GT(rel, 0.01) << t.name << ": 4 bits cannot be this exact on random data";
    }
}

TEST(CodebookQuants, ZeroBlocksStayZero) {
    for (TensorType type : {TensorType::MXFP4, TensorType::IQ4_NL, TensorType::IQ4_XS}) {
        const TypeTraits& t = type_traits(type);
        std::vector<float> x(256, 0.0f), y(256, 1.0f);
        std::vector<uint8_t> q(row_bytes(t, 256));
        t.quantize_row(x.data(), q.data(), 256);
        t.dequantize_row(q.data(), y.data(), 256);
        for (float v : y) ASSERT_EQ(v, 0.0f) << t.name;
    }
}

TEST(CodebookQuants, Mxfp4RequantizesItsOwnGridExactly) {
    // A block holding a ±12 code: its max picks back the same exponent, and every value is
    // on the grid, so quantize(dequantize(b)) == b (code 8, a second zero, excepted).
    std::mt19937 rng(3);
    for (int e : {1, 2, 60, 127, 128, 131, 250}) {
        uint8_t block[17];
        block[0] = static_cast<uint8_t>(e);
        uint8_t codes[32];
        for (uint8_t& c : codes) {
            c = static_cast<uint8_t>(rng() % 15);
            if (c >= 8) ++c;  // skip code 8
        }
        codes[5] = 15;  // −12
        for (int j = 0; j < 16; ++j) block[1 + j] = static_cast<uint8_t>(codes[j] | (codes[j + 16] << 4));
        float y[32];
        dequantize_row_mxfp4(block, y, 32);
        uint8_t again[17];
        quantize_row_mxfp4(y, again, 32);
        EXPECT_EQ(std::memcmp(block, again, 17), 0) << "e " << e;
    }
}

TEST(CodebookQuants, Mxfp4PicksTheExponentFromTheMaximum) {
    float x[32] = {};
    x[3] = 6.0f;  // log2 6 = 2.58 → e = 2 − 2 + 127 = 127, scale 0.5: 6 = code 7 (12) · 0.5
    x[20] = -0.25f;  // 0.5 steps: −0.25 is halfway between 0 and −0.5; the first index (0) wins
    uint8_t out[17];
    quantize_row_mxfp4(x, out, 32);
    EXPECT_EQ(out[0], 127);
    EXPECT_EQ(out[1 + 3] & 0x0F, 7);
    EXPECT_EQ(out[1 + 4] >> 4, 0);
}

// ---- against a gpt-oss file with MXFP4 experts (gguf-py's quantizer, same bytes as
//      llama-quantize MXFP4_MOE) and its F32 twin -------------------------------------------

TEST(CodebookQuantsGolden, GptOssMxfp4ExpertsDequantizeOntoTheGrid) {
    HEARTH_SHARED_OR_SKIP(path, "golden/arch/synth-gptoss-256-MXFP4.gguf");
    auto f = gguf::File::open(path);
    const gguf::TensorInfo* t = f->find_tensor("blk.0.ffn_gate_exps.weight");
    ASSERT_NE(t, nullptr);
    ASSERT_EQ(t->traits->type, TensorType::MXFP4);
    ASSERT_EQ(t->n_bytes, row_bytes(*t->traits, t->row_length()) * static_cast<size_t>(t->n_rows()));
    std::vector<float> y(static_cast<size_t>(t->n_elements));
    t->traits->dequantize_row(t->data, y.data(), t->n_elements);
    for (int64_t b = 0; b < t->n_elements / 32; ++b) {
        const float half_scale = e8m0_to_float_half(t->data[17 * b]);
        for (int i = 0; i < 32; ++i) {
            const float v = y[32 * b + i] / half_scale;
            bool on_grid = false;
            for (int8_t g : kMx) on_grid |= v == static_cast<float>(g);
            ASSERT_TRUE(on_grid) << "block " << b << " value " << i << ": " << y[32 * b + i];
        }
    }
}

TEST(CodebookQuantsGolden, RequantizingTheF32TwinGivesTheSameBytes) {
    HEARTH_SHARED_OR_SKIP(mx_path, "golden/arch/synth-gptoss-256-MXFP4.gguf");
    HEARTH_SHARED_OR_SKIP(f32_path, "golden/arch/synth-gptoss-256-F32.gguf");
    auto mx = gguf::File::open(mx_path);
    auto f32 = gguf::File::open(f32_path);
    int compared = 0;
    for (const gguf::TensorInfo& t : mx->tensors()) {
        if (t.traits->type != TensorType::MXFP4) continue;
        const gguf::TensorInfo* src = f32->find_tensor(t.name);
        ASSERT_NE(src, nullptr) << t.name;
        ASSERT_EQ(src->traits->type, TensorType::F32) << t.name;
        ASSERT_EQ(src->dims, t.dims) << t.name;
        std::vector<float> x(static_cast<size_t>(src->n_elements));
        std::memcpy(x.data(), src->data, x.size() * sizeof(float));
        std::vector<uint8_t> q(t.n_bytes);
        quantize_row_mxfp4(x.data(), q.data(), src->n_elements);
        for (size_t i = 0; i < q.size(); ++i)
            ASSERT_EQ(q[i], t.data[i]) << t.name << ": byte " << i << " (block " << i / 17 << ")";
        ++compared;
    }
    EXPECT_GE(compared, 4 * 3) << "every layer's gate, up and down experts";
}

}  // namespace
}  // namespace hearth
