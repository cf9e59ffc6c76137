#pragma once
// Tensor element types: one trait table (types.cpp) describes every type — block layout,
// name, how to turn a row of blocks into floats and back, and which activation format its
// SIMD kernels pair it with. Everything per-type is looked up here, never switched on
// elsewhere; the only other per-type place is the kernel registration line in the ops/cpu
// SIMD file that holds the type's kernel. Ids are GGUF's (ggml's) type ids.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tensor/type_id.h"

namespace hearth {

// Converts `n` values (a multiple of block_size) from the type's block layout to float.
using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t n);
// Converts `n` floats (a multiple of block_size) into the type's block layout.
using QuantizeRowFn = void (*)(const float* src, void* dst, int64_t n);

struct TypeTraits {
    TensorType type;
    const char* name;       // "Q4_K", as llama.cpp and GGUF tools print it
    int64_t block_size;     // elements per block
    size_t block_bytes;     // bytes per block
    DequantizeRowFn dequantize_row;  // nullptr: layout known (sizes can be checked) but hearth cannot compute with it
    QuantizeRowFn quantize_row;      // nullptr: hearth cannot produce the type
    ActFormat act;                   // the activation format of its SIMD kernels (ops/cpu), if it has any
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
