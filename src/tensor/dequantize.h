#pragma once
// Scalar reference dequantizers, one per type hearth computes with. Each converts `n`
// values (a multiple of the type's block size) from its GGUF block layout to float, and
// is bit-exact with ggml's to_float of the same bytes. These are the "obviously correct"
// oracles that faster kernels are tested against; reach them through the trait table
// (types.h) rather than by name where the type is only known at run time.
#include <cstdint>

namespace hearth {

void dequantize_row_f32(const void* src, float* dst, int64_t n);
void dequantize_row_f16(const void* src, float* dst, int64_t n);
void dequantize_row_bf16(const void* src, float* dst, int64_t n);
void dequantize_row_q4_0(const void* src, float* dst, int64_t n);
void dequantize_row_q4_1(const void* src, float* dst, int64_t n);
void dequantize_row_q5_0(const void* src, float* dst, int64_t n);
void dequantize_row_q5_1(const void* src, float* dst, int64_t n);
void dequantize_row_q8_0(const void* src, float* dst, int64_t n);
void dequantize_row_q2_k(const void* src, float* dst, int64_t n);
void dequantize_row_q3_k(const void* src, float* dst, int64_t n);
void dequantize_row_q4_k(const void* src, float* dst, int64_t n);
void dequantize_row_q5_k(const void* src, float* dst, int64_t n);
void dequantize_row_q6_k(const void* src, float* dst, int64_t n);

// The 6-bit (scale, min) pair of sub-block j (0..7) of a Q4_K / Q5_K super-block, unpacked
// from its 12-byte `scales` field. Exposed for kernels that work on the packed form.
struct ScaleMin {
    uint8_t scale;
    uint8_t min;
};
ScaleMin unpack_k4_scale_min(const uint8_t* scales12, int j);
// The 6-bit scale of sub-block j (0..15) of a Q3_K super-block, minus its offset of 32
// (range -32..31), unpacked from its 12-byte `scales` field.
int unpack_q3_k_scale(const uint8_t* scales12, int j);

}  // namespace hearth
