// The trait table: one row per GGUF/ggml type id. Block sizes and bytes per block follow
// ggml's block structs (ggml-common.h) and gguf-py's GGML_QUANT_SIZES; the byte count is
// spelled as the sum of the block's fields so each row can be checked against its layout.
#include "tensor/types.h"

#include <array>

#include <fmt/format.h>

#include "common/error.h"
#include "tensor/dequantize.h"
#include "tensor/quantize.h"

namespace hearth {
namespace {

constexpr int64_t QK_K = 256;
constexpr size_t kHalf = 2;  // bytes of an fp16 scale

using T = TensorType;
using A = ActFormat;

// clang-format off
constexpr std::array kTable = {
    //         type        name       block bytes per block                         dequantize / quantize / act. partner
    TypeTraits{T::F32,     "F32",     1,    4,                                      dequantize_row_f32, quantize_row_f32, A::F32},
    TypeTraits{T::F16,     "F16",     1,    2,                                      dequantize_row_f16, quantize_row_f16, A::F32},
    TypeTraits{T::Q4_0,    "Q4_0",    32,   kHalf + 16,                             dequantize_row_q4_0, quantize_row_q4_0, A::Q8_32},
    TypeTraits{T::Q4_1,    "Q4_1",    32,   2 * kHalf + 16,                         dequantize_row_q4_1, quantize_row_q4_1, A::Q8_32},
    TypeTraits{T::Q5_0,    "Q5_0",    32,   kHalf + 4 + 16,                         dequantize_row_q5_0, quantize_row_q5_0, A::Q8_32},
    TypeTraits{T::Q5_1,    "Q5_1",    32,   2 * kHalf + 4 + 16,                     dequantize_row_q5_1, quantize_row_q5_1, A::Q8_32},
    TypeTraits{T::Q8_0,    "Q8_0",    32,   kHalf + 32,                             dequantize_row_q8_0, quantize_row_q8_0, A::Q8_32},
    // d, s (fp16) | qs[32]
    TypeTraits{T::Q8_1,    "Q8_1",    32,   2 * kHalf + 32,                         nullptr, nullptr, A::F32},
    // scales[16] | qs[64] | d, dmin
    TypeTraits{T::Q2_K,    "Q2_K",    QK_K, QK_K / 16 + QK_K / 4 + 2 * kHalf,       dequantize_row_q2_k, quantize_row_q2_k, A::Q8_256},
    // hmask[32] | qs[64] | scales[12] | d
    TypeTraits{T::Q3_K,    "Q3_K",    QK_K, QK_K / 8 + QK_K / 4 + 12 + kHalf,       dequantize_row_q3_k, quantize_row_q3_k, A::Q8_256},
    // d, dmin | scales[12] | qs[128]
    TypeTraits{T::Q4_K,    "Q4_K",    QK_K, 2 * kHalf + 12 + QK_K / 2,              dequantize_row_q4_k, quantize_row_q4_k, A::Q8_256},
    // d, dmin | scales[12] | qh[32] | qs[128]
    TypeTraits{T::Q5_K,    "Q5_K",    QK_K, 2 * kHalf + 12 + QK_K / 8 + QK_K / 2,   dequantize_row_q5_k, quantize_row_q5_k, A::Q8_256},
    // ql[128] | qh[64] | scales[16] | d
    TypeTraits{T::Q6_K,    "Q6_K",    QK_K, QK_K / 2 + QK_K / 4 + QK_K / 16 + kHalf, dequantize_row_q6_k, quantize_row_q6_k, A::Q8_256},
    // d (f32) | qs[256] (int8) | bsums[16] (int16)
    TypeTraits{T::Q8_K,    "Q8_K",    QK_K, 4 + QK_K + 2 * (QK_K / 16),             nullptr, nullptr, A::F32},
    // d | qs[32] (u16)
    TypeTraits{T::IQ2_XXS, "IQ2_XXS", QK_K, kHalf + 2 * (QK_K / 8),                 nullptr, nullptr, A::F32},
    // d | qs[32] (u16) | scales[8]
    TypeTraits{T::IQ2_XS,  "IQ2_XS",  QK_K, kHalf + 2 * (QK_K / 8) + QK_K / 32,     nullptr, nullptr, A::F32},
    // d | qs[96]
    TypeTraits{T::IQ3_XXS, "IQ3_XXS", QK_K, kHalf + 3 * (QK_K / 8),                 nullptr, nullptr, A::F32},
    // d | qs[32] | qh[8] (u16)
    TypeTraits{T::IQ1_S,   "IQ1_S",   QK_K, kHalf + QK_K / 8 + 2 * (QK_K / 32),     nullptr, nullptr, A::F32},
    // d | qs[16]
    TypeTraits{T::IQ4_NL,  "IQ4_NL",  32,   kHalf + 16,                             dequantize_row_iq4_nl, quantize_row_iq4_nl, A::Q8_32},
    // d | qs[64] | qh[8] | signs[32] | scales[4]
    TypeTraits{T::IQ3_S,   "IQ3_S",   QK_K, kHalf + QK_K / 4 + QK_K / 32 + QK_K / 8 + QK_K / 64, nullptr, nullptr, A::F32},
    // d | qs[64] | qh[8] | scales[8]
    TypeTraits{T::IQ2_S,   "IQ2_S",   QK_K, kHalf + QK_K / 4 + QK_K / 32 + QK_K / 32, nullptr, nullptr, A::F32},
    // d | scales_h (u16) | scales_l[4] | qs[128]
    TypeTraits{T::IQ4_XS,  "IQ4_XS",  QK_K, kHalf + 2 + QK_K / 64 + QK_K / 2,       dequantize_row_iq4_xs, quantize_row_iq4_xs, A::Q8_256},
    TypeTraits{T::I8,      "I8",      1,    1,                                      nullptr, nullptr, A::F32},
    TypeTraits{T::I16,     "I16",     1,    2,                                      nullptr, nullptr, A::F32},
    TypeTraits{T::I32,     "I32",     1,    4,                                      nullptr, nullptr, A::F32},
    TypeTraits{T::I64,     "I64",     1,    8,                                      nullptr, nullptr, A::F32},
    TypeTraits{T::F64,     "F64",     1,    8,                                      nullptr, nullptr, A::F32},
    // qs[32] | qh[16] | scales[8] (the fp16 scale is spread over the scales' top bits)
    TypeTraits{T::IQ1_M,   "IQ1_M",   QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32,       nullptr, nullptr, A::F32},
    TypeTraits{T::BF16,    "BF16",    1,    2,                                      dequantize_row_bf16, quantize_row_bf16, A::F32},
    // qs[48] (5 trits a byte) | qh[4] (4 trits a byte) | d
    TypeTraits{T::TQ1_0,   "TQ1_0",   QK_K, (QK_K - 4 * QK_K / 64) / 5 + QK_K / 64 + kHalf, nullptr, nullptr, A::F32},
    // qs[64] | d
    TypeTraits{T::TQ2_0,   "TQ2_0",   QK_K, QK_K / 4 + kHalf,                       nullptr, nullptr, A::F32},
    // e (E8M0) | qs[16]
    TypeTraits{T::MXFP4,   "MXFP4",   32,   1 + 16,                                 dequantize_row_mxfp4, quantize_row_mxfp4, A::Q8_32},
};
// clang-format on

// The numbers ggml's static_asserts and gguf-py's size table give, as a second spelling.
static_assert(kTable[8].block_bytes == 84 && kTable[9].block_bytes == 110 &&
              kTable[10].block_bytes == 144 && kTable[11].block_bytes == 176 &&
              kTable[12].block_bytes == 210 && kTable[13].block_bytes == 292);
static_assert(kTable[14].block_bytes == 66 && kTable[15].block_bytes == 74 &&
              kTable[16].block_bytes == 98 && kTable[17].block_bytes == 50 &&
              kTable[19].block_bytes == 110 && kTable[20].block_bytes == 82 &&
              kTable[21].block_bytes == 136 && kTable[27].block_bytes == 56 &&
              kTable[29].block_bytes == 54 && kTable[30].block_bytes == 66 &&
              kTable[31].block_bytes == 17);

}  // namespace

const TypeTraits* find_type_traits(uint32_t type_id) {
    for (const TypeTraits& t : kTable)
        if (static_cast<uint32_t>(t.type) == type_id) return &t;
    return nullptr;
}

const TypeTraits& type_traits(TensorType type) {
    const uint32_t id = static_cast<uint32_t>(type);
    if (const TypeTraits* t = find_type_traits(id)) return *t;
    fail("tensor type id {} is not a known ggml type", id);
}

std::string type_name(uint32_t type_id) {
    if (const TypeTraits* t = find_type_traits(type_id)) return t->name;
    return fmt::format("type {}", type_id);
}

size_t row_bytes(const TypeTraits& traits, int64_t n) {
    if (n < 0 || n % traits.block_size != 0)
        fail("a row of {} elements is not a whole number of {} blocks ({} elements each)", n,
             traits.name, traits.block_size);
    return static_cast<size_t>(n / traits.block_size) * traits.block_bytes;
}

}  // namespace hearth
