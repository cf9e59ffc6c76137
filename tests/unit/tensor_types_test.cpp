// The type trait table and the scalar reference dequantizers, against ggml's own output
// (../shared/golden/dequant, see its README).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "tensor/dequantize.h"
#include "tensor/types.h"
#include "test_support.h"

namespace hearth {
namespace {

constexpr int64_t kRows = 4;
constexpr int64_t kCols = 512;

const TypeTraits* traits_by_name(const std::string& name) {
    for (uint32_t id = 0; id < 256; ++id)
        if (const TypeTraits* t = find_type_traits(id); t && name == t->name) return t;
    return nullptr;
}

// ---- the table ---------------------------------------------------------------------------

TEST(TensorTypeTraits, EveryEnumIdHasAnEntryWithItsOwnId) {
    const uint32_t ids[] = {0,  1,  2,  3,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17,
                            18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 34, 35, 39};
    for (uint32_t id : ids) {
        const TypeTraits* t = find_type_traits(id);
        ASSERT_NE(t, nullptr) << "type id " << id;
        EXPECT_EQ(static_cast<uint32_t>(t->type), id);
        EXPECT_GT(t->block_size, 0);
        EXPECT_GT(t->block_bytes, 0u);
        EXPECT_EQ(&type_traits(t->type), t);
        EXPECT_EQ(type_name(id), t->name);
    }
    int known = 0;
    for (uint32_t id = 0; id < 1000; ++id) known += find_type_traits(id) != nullptr;
    EXPECT_EQ(known, 32);
}

TEST(TensorTypeTraits, SizesOfTypesHearthDoesNotComputeWith) {
    // From ggml's block structs (ggml-common.h) and gguf-py's GGML_QUANT_SIZES.
    struct Want {
        TensorType type;
        const char* name;
        int64_t block_size;
        size_t block_bytes;
    };
    const Want wants[] = {
        {TensorType::Q8_1, "Q8_1", 32, 36},         {TensorType::Q8_K, "Q8_K", 256, 292},
        {TensorType::IQ2_XXS, "IQ2_XXS", 256, 66},  {TensorType::IQ2_XS, "IQ2_XS", 256, 74},
        {TensorType::IQ3_XXS, "IQ3_XXS", 256, 98},  {TensorType::IQ1_S, "IQ1_S", 256, 50},
        {TensorType::IQ3_S, "IQ3_S", 256, 110},     {TensorType::IQ2_S, "IQ2_S", 256, 82},
        {TensorType::I8, "I8", 1, 1},               {TensorType::I16, "I16", 1, 2},
        {TensorType::I32, "I32", 1, 4},             {TensorType::I64, "I64", 1, 8},
        {TensorType::F64, "F64", 1, 8},             {TensorType::IQ1_M, "IQ1_M", 256, 56},
        {TensorType::TQ1_0, "TQ1_0", 256, 54},      {TensorType::TQ2_0, "TQ2_0", 256, 66},
    };
    for (const Want& w : wants) {
        const TypeTraits& t = type_traits(w.type);
        EXPECT_STREQ(t.name, w.name);
        EXPECT_EQ(t.block_size, w.block_size) << w.name;
        EXPECT_EQ(t.block_bytes, w.block_bytes) << w.name;
        EXPECT_FALSE(t.supported()) << w.name;
        EXPECT_EQ(t.quantize_row, nullptr) << w.name;
    }
}

TEST(TensorTypeTraits, SizesOfTheCodebookTypes) {
    EXPECT_EQ(type_traits(TensorType::IQ4_NL).block_size, 32);
    EXPECT_EQ(type_traits(TensorType::IQ4_NL).block_bytes, 18u);
    EXPECT_EQ(type_traits(TensorType::IQ4_XS).block_size, 256);
    EXPECT_EQ(type_traits(TensorType::IQ4_XS).block_bytes, 136u);
    EXPECT_EQ(type_traits(TensorType::MXFP4).block_size, 32);
    EXPECT_EQ(type_traits(TensorType::MXFP4).block_bytes, 17u);
    EXPECT_STREQ(type_traits(TensorType::MXFP4).name, "MXFP4");
}

TEST(TensorTypeTraits, ActivationPartnerFollowsTheBlockSize) {
    // Kernels read 8-bit activations in blocks of the weight block (32) or super-block (256).
    for (uint32_t id = 0; id < 64; ++id) {
        const TypeTraits* t = find_type_traits(id);
        if (!t || !t->supported()) continue;
        const ActFormat want = t->block_size == 1    ? ActFormat::F32
                               : t->block_size == 32 ? ActFormat::Q8_32
                                                     : ActFormat::Q8_256;
        EXPECT_EQ(t->act, want) << t->name;
        EXPECT_NE(t->quantize_row, nullptr) << t->name << ": every computed type can be produced";
    }
}

TEST(TensorTypeTraits, ExactlyTheSixteenComputeTypesAreSupported) {
    const TensorType computed[] = {TensorType::F32,  TensorType::F16,  TensorType::BF16,
                                   TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0,
                                   TensorType::Q5_1, TensorType::Q8_0, TensorType::Q2_K,
                                   TensorType::Q3_K, TensorType::Q4_K, TensorType::Q5_K,
                                   TensorType::Q6_K, TensorType::IQ4_NL, TensorType::IQ4_XS,
                                   TensorType::MXFP4};
    for (TensorType t : computed) EXPECT_TRUE(type_traits(t).supported()) << type_traits(t).name;
    int supported = 0;
    for (uint32_t id = 0; id < 64; ++id)
        if (const TypeTraits* t = find_type_traits(id)) supported += t->supported();
    EXPECT_EQ(supported, 16);
    EXPECT_EQ(type_traits(TensorType::F32).block_bytes, 4u);
}

TEST(TensorTypeTraits, UnknownIds) {
    for (uint32_t id : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 40u, 99u, 0xFFFFFFFFu}) {
        EXPECT_EQ(find_type_traits(id), nullptr) << id;
        EXPECT_THROW(type_traits(static_cast<TensorType>(id)), Error) << id;
    }
    EXPECT_EQ(type_name(99), "type 99");
    EXPECT_EQ(type_name(4), "type 4");
    EXPECT_EQ(type_name(12), "Q4_K");
    EXPECT_EQ(type_name(30), "BF16");
    try {
        type_traits(static_cast<TensorType>(77));
        FAIL() << "no throw";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("77"), std::string::npos) << e.what();
    }
}

TEST(TensorTypeTraits, RowBytes) {
    EXPECT_EQ(row_bytes(type_traits(TensorType::F32), 7), 28u);
    EXPECT_EQ(row_bytes(type_traits(TensorType::BF16), 3), 6u);
    EXPECT_EQ(row_bytes(type_traits(TensorType::Q4_0), 4096), 128u * 18u);
    EXPECT_EQ(row_bytes(type_traits(TensorType::Q4_K), 4096), 16u * 144u);
    EXPECT_EQ(row_bytes(type_traits(TensorType::MXFP4), 64), 34u);
    EXPECT_EQ(row_bytes(type_traits(TensorType::Q6_K), 0), 0u);
    EXPECT_THROW(row_bytes(type_traits(TensorType::Q4_K), 100), Error);
    EXPECT_THROW(row_bytes(type_traits(TensorType::Q8_0), 33), Error);
    EXPECT_THROW(row_bytes(type_traits(TensorType::Q8_0), -32), Error);
    try {
        row_bytes(type_traits(TensorType::Q4_K), 300);
        FAIL() << "no throw";
    } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("300"), std::string::npos) << what;
        EXPECT_NE(what.find("Q4_K"), std::string::npos) << what;
        EXPECT_NE(what.find("256"), std::string::npos) << what;
    }
}

TEST(TensorTypeTraits, MatchesGoldenIndex) {
    HEARTH_SHARED_OR_SKIP(index_path, "golden/dequant/index.json");
    const auto index = nlohmann::json::parse(test::read_file(index_path));
    ASSERT_EQ(index.at("types").size(), 12u);
    for (const auto& entry : index.at("types")) {
        const std::string name = entry.at("name");
        const TypeTraits* t = find_type_traits(entry.at("type_id").get<uint32_t>());
        ASSERT_NE(t, nullptr) << name;
        EXPECT_EQ(std::string(t->name), name);
        EXPECT_EQ(t->block_size, entry.at("block_size").get<int64_t>()) << name;
        EXPECT_EQ(t->block_bytes, entry.at("type_size").get<size_t>()) << name;
        EXPECT_EQ(row_bytes(*t, kCols), entry.at("row_bytes").get<size_t>()) << name;
        EXPECT_TRUE(t->supported()) << name;
    }
}

// ---- the packed K-quant scales -----------------------------------------------------------

TEST(TensorTypeTraits, K4ScaleMinUnpacking) {
    // Pack eight known (scale, min) pairs by the layout, then unpack them.
    const uint8_t sc[8] = {0, 63, 17, 42, 33, 1, 62, 48};
    const uint8_t mn[8] = {5, 0, 63, 21, 60, 31, 2, 47};
    uint8_t packed[12] = {};
    for (int j = 0; j < 4; ++j) {
        packed[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
        packed[j + 4] = static_cast<uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
        packed[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
    }
    for (int j = 0; j < 8; ++j) {
        const ScaleMin sm = unpack_k4_scale_min(packed, j);
        EXPECT_EQ(sm.scale, sc[j]) << j;
        EXPECT_EQ(sm.min, mn[j]) << j;
    }
}

TEST(TensorTypeTraits, Q3KScaleUnpacking) {
    int want[16];
    uint8_t packed[12] = {};
    for (int j = 0; j < 16; ++j) {
        const int stored = (j * 37 + 11) % 64;  // 6-bit, covers 0 and 63 ranges
        want[j] = stored - 32;
        if (j < 8)
            packed[j] |= static_cast<uint8_t>(stored & 15);
        else
            packed[j - 8] |= static_cast<uint8_t>((stored & 15) << 4);
        packed[8 + j % 4] |= static_cast<uint8_t>((stored >> 4) << (2 * (j / 4)));
    }
    for (int j = 0; j < 16; ++j) EXPECT_EQ(unpack_q3_k_scale(packed, j), want[j]) << j;
}

// ---- dequantization against ggml ---------------------------------------------------------

class DequantGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(DequantGolden, BitExactWithGgml) {
    const std::string name = GetParam();
    HEARTH_SHARED_OR_SKIP(q_path, "golden/dequant/" + name + ".q");
    HEARTH_SHARED_OR_SKIP(want_path, "golden/dequant/" + name + ".dequant.f32");
    const TypeTraits* t = traits_by_name(name);
    ASSERT_NE(t, nullptr);
    ASSERT_TRUE(t->supported());

    const std::string q = test::read_file(q_path);
    const std::vector<float> want = test::read_f32_file(want_path);
    const size_t rb = row_bytes(*t, kCols);
    ASSERT_EQ(q.size(), rb * kRows);
    ASSERT_EQ(want.size(), static_cast<size_t>(kRows * kCols));

    std::vector<float> got(want.size());
    for (int64_t r = 0; r < kRows; ++r)
        t->dequantize_row(q.data() + r * rb, got.data() + r * kCols, kCols);
    for (size_t i = 0; i < got.size(); ++i) {
        uint32_t g, w;
        std::memcpy(&g, &got[i], 4);
        std::memcpy(&w, &want[i], 4);
        ASSERT_EQ(g, w) << name << ": row " << i / kCols << " col " << i % kCols << ": got "
                        << got[i] << ", ggml " << want[i];
    }
    EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0);

    // All four rows in one call: rows are just consecutive blocks.
    std::vector<float> whole(want.size());
    t->dequantize_row(q.data(), whole.data(), kRows * kCols);
    EXPECT_EQ(std::memcmp(whole.data(), want.data(), whole.size() * sizeof(float)), 0);

    // Unaligned source: the functions must not assume any alignment.
    std::string shifted = " " + q;
    std::vector<float> unaligned(kCols);
    t->dequantize_row(shifted.data() + 1, unaligned.data(), kCols);
    EXPECT_EQ(std::memcmp(unaligned.data(), want.data(), kCols * sizeof(float)), 0);

    // A length that is not whole blocks is refused, not read past.
    if (t->block_size > 1) {
        EXPECT_THROW(t->dequantize_row(q.data(), got.data(), t->block_size + 1), Error);
    }
}

INSTANTIATE_TEST_SUITE_P(AllComputeTypes, DequantGolden,
                         ::testing::Values("F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
                                           "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"),
                         [](const auto& info) { return std::string(info.param); });

TEST(DequantGoldenF32, IsTheIdentityOnTheInput) {
    HEARTH_SHARED_OR_SKIP(input_path, "golden/dequant/input.f32");
    const std::string bytes = test::read_file(input_path);
    ASSERT_EQ(bytes.size(), static_cast<size_t>(kRows * kCols * 4));
    const TypeTraits& t = type_traits(TensorType::F32);
    std::vector<float> got(kRows * kCols);
    for (int64_t r = 0; r < kRows; ++r)
        t.dequantize_row(bytes.data() + r * row_bytes(t, kCols), got.data() + r * kCols, kCols);
    EXPECT_EQ(std::memcmp(got.data(), bytes.data(), bytes.size()), 0);
}

TEST(DequantGoldenF32, ErrorAgainstTheInputIsWhatTheIndexSays) {
    // A sanity check independent of ggml's dequantized file: our output vs the original floats
    // has the per-row max error index.json records.
    HEARTH_SHARED_OR_SKIP(index_path, "golden/dequant/index.json");
    HEARTH_SHARED_OR_SKIP(input_path, "golden/dequant/input.f32");
    const auto index = nlohmann::json::parse(test::read_file(index_path));
    const std::vector<float> input = test::read_f32_file(input_path);
    for (const auto& entry : index.at("types")) {
        const std::string name = entry.at("name");
        const TypeTraits* t = traits_by_name(name);
        ASSERT_NE(t, nullptr) << name;
        const std::string quant_file = entry.at("quant_file");
        const std::string q = test::read_file(test::shared_dir() / "golden/dequant" / quant_file);
        const size_t rb = row_bytes(*t, kCols);
        ASSERT_EQ(q.size(), rb * kRows) << name;
        std::vector<float> row(kCols);
        for (int64_t r = 0; r < kRows; ++r) {
            t->dequantize_row(q.data() + r * rb, row.data(), kCols);
            double max_err = 0;
            for (int64_t i = 0; i < kCols; ++i)
                max_err = std::max(max_err, std::abs(double(row[i]) - input[r * kCols + i]));
            const double want = entry.at("max_abs_err_per_row").at(r).get<double>();
            EXPECT_NEAR(max_err, want, 1e-6 * std::max(1.0, want)) << name << " row " << r;
        }
    }
}

}  // namespace
}  // namespace hearth
