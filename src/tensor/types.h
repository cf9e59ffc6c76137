#pragma once
// Tensor element types: one trait table describes every type's block layout and how to
// turn a row of blocks into floats. Everything per-type is looked up here, never switched
// on elsewhere. Ids are GGUF's (ggml's) type ids.
#include <cstddef>
#include <cstdint>
#include <string>

namespace hearth {

enum class TensorType : uint32_t {
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
    IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
    TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};

// Converts `n` values (a multiple of block_size) from the type's block layout to float.
using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t n);

struct TypeTraits {
    TensorType type;
    const char* name;       // "Q4_K", as llama.cpp and GGUF tools print it
    int64_t block_size;     // elements per block
    size_t block_bytes;     // bytes per block
    DequantizeRowFn dequantize_row;  // nullptr: layout known (sizes can be checked) but hearth cannot compute with it
    bool supported() const { return dequantize_row != nullptr; }
};

// nullptr when the id is not a known type at all.
const TypeTraits* find_type_traits(uint32_t type_id);
// For a type known to exist (throws hearth::Error for unknown ids).
const TypeTraits& type_traits(TensorType type);
// "Q4_K", or "type 99" for ids no one knows.
std::string type_name(uint32_t type_id);
// Bytes of a row of n elements (n must be a multiple of the block size).
size_t row_bytes(const TypeTraits& traits, int64_t n);

}  // namespace hearth
