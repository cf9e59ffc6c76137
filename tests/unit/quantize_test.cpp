// Quantizers against ggml's reference bytes (plain-rounding types) and against the reference
// data's round-trip error (K-quants, whose scale search may legitimately differ).
#include <cmath>
#include <cstring>
#include <random>

#include "common/error.h"
#include "tensor/quantize.h"
#include "test_support.h"

namespace hearth {
namespace {

constexpr int kRows = 4, kCols = 512;

struct TypeCase {
    const char* name;
    TensorType type;
};
std::ostream& operator<<(std::ostream& os, const TypeCase& c) { return os << c.name; }

std::vector<uint8_t> quantize_rows(const TypeCase& c, const std::vector<float>& input) {
    const TypeTraits& tr = type_traits(c.type);
    const size_t rb = row_bytes(tr, kCols);
    std::vector<uint8_t> out(rb * kRows);
    QuantizeRowFn q = find_quantizer(c.type);
    EXPECT_NE(q, nullptr);
    for (int r = 0; r < kRows; ++r) q(input.data() + r * kCols, out.data() + r * rb, kCols);
    return out;
}

double rms_error(const std::vector<float>& a, const std::vector<float>& b, int row) {
    double s = 0;
    for (int i = 0; i < kCols; ++i) {
        double d = static_cast<double>(a[row * kCols + i]) - b[row * kCols + i];
        s += d * d;
    }
    return std::sqrt(s / kCols);
}

class QuantizeExact : public ::testing::TestWithParam<TypeCase> {};

TEST_P(QuantizeExact, SameBytesAsGgml) {
    const TypeCase& c = GetParam();
    HEARTH_SHARED_OR_SKIP(input_path, "golden/dequant/input.f32");
    std::vector<float> input = test::read_f32_file(input_path);
    std::string want = test::read_file(test::shared_path(std::string("golden/dequant/") + c.name + ".q"));
    std::vector<uint8_t> got = quantize_rows(c, input);
    ASSERT_EQ(got.size(), want.size());
    size_t mismatches = 0;
    for (size_t i = 0; i < got.size(); ++i) mismatches += got[i] != static_cast<uint8_t>(want[i]);
    EXPECT_EQ(mismatches, 0u) << c.name;
}

INSTANTIATE_TEST_SUITE_P(RoundingTypes, QuantizeExact,
                         ::testing::Values(TypeCase{"F16", TensorType::F16}, TypeCase{"BF16", TensorType::BF16},
                                           TypeCase{"Q8_0", TensorType::Q8_0}, TypeCase{"Q4_0", TensorType::Q4_0},
                                           TypeCase{"Q4_1", TensorType::Q4_1}, TypeCase{"Q5_0", TensorType::Q5_0},
                                           TypeCase{"Q5_1", TensorType::Q5_1}),
                         [](const auto& info) { return std::string(info.param.name); });

class QuantizeKQuant : public ::testing::TestWithParam<TypeCase> {};

TEST_P(QuantizeKQuant, RoundTripErrorWithinFivePercentOfReference) {
    const TypeCase& c = GetParam();
    HEARTH_SHARED_OR_SKIP(input_path, "golden/dequant/input.f32");
    std::vector<float> input = test::read_f32_file(input_path);
    std::vector<float> reference = test::read_f32_file(test::shared_path(std::string("golden/dequant/") + c.name + ".dequant.f32"));
    std::vector<uint8_t> bytes = quantize_rows(c, input);
    const TypeTraits& tr = type_traits(c.type);
    const size_t rb = row_bytes(tr, kCols);
    std::vector<float> ours(input.size());
    for (int r = 0; r < kRows; ++r) tr.dequantize_row(bytes.data() + r * rb, ours.data() + r * kCols, kCols);
    for (int r = 0; r < kRows; ++r) {
        double mine = rms_error(ours, input, r), ref = rms_error(reference, input, r);
        EXPECT_LE(mine, ref * 1.05) << c.name << " row " << r << ": ours " << mine << " vs reference " << ref;
        std::printf("    %s row %d: rms error %.6g (reference %.6g, ratio %.3f)\n", c.name, r, mine, ref, mine / ref);
    }
}

TEST_P(QuantizeKQuant, ZerosAndConstantsStayExact) {
    const TypeCase& c = GetParam();
    const TypeTraits& tr = type_traits(c.type);
    QuantizeRowFn q = find_quantizer(c.type);
    std::vector<uint8_t> buf(row_bytes(tr, 256));
    std::vector<float> out(256);
    std::vector<float> zeros(256, 0.0f);
    q(zeros.data(), buf.data(), 256);
    tr.dequantize_row(buf.data(), out.data(), 256);
    for (float v : out) EXPECT_EQ(v, 0.0f);
    std::vector<float> mixed(256);
    std::mt19937 rng(7);
    std::normal_distribution<float> nd(0, 1);
    for (auto& v : mixed) v = nd(rng);
    q(mixed.data(), buf.data(), 256);
    tr.dequantize_row(buf.data(), out.data(), 256);
    for (int i = 0; i < 256; ++i) EXPECT_TRUE(std::isfinite(out[i]));
}

INSTANTIATE_TEST_SUITE_P(KQuants, QuantizeKQuant,
                         ::testing::Values(TypeCase{"Q2_K", TensorType::Q2_K}, TypeCase{"Q3_K", TensorType::Q3_K},
                                           TypeCase{"Q4_K", TensorType::Q4_K}, TypeCase{"Q5_K", TensorType::Q5_K},
                                           TypeCase{"Q6_K", TensorType::Q6_K}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Quantize, RejectsPartialBlocks) {
    std::vector<float> x(40, 1.0f);
    std::vector<uint8_t> out(64);
    EXPECT_THROW(quantize_row_q4_0(x.data(), out.data(), 40), Error);
    EXPECT_THROW(quantize_row_q6_k(x.data(), out.data(), 40), Error);
}

TEST(Quantize, UnsupportedTypesHaveNoQuantizer) {
    EXPECT_EQ(find_quantizer(TensorType::IQ2_XXS), nullptr);
    EXPECT_EQ(find_quantizer(TensorType::Q8_K), nullptr);
}

}  // namespace
}  // namespace hearth
