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
void dequantize_row_mxfp4(const void* src, float* dst, int64_t n);
void dequantize_row_iq4_nl(const void* src, float* dst, int64_t n);
void dequantize_row_iq4_xs(const void* src, float* dst, int64_t n);

// The 16 values of the 4-bit non-linear codes (IQ4_NL, IQ4_XS), ggml's kvalues_iq4nl.
extern const int8_t kIq4nlValues[16];
// The 16 values of the MXFP4 codes: E2M1 (0, 0.5, 1, 1.5, 2, 3, 4, 6 and negatives) doubled,
// so they are integers; the block scale is halved to match (e8m0_to_float_half).
extern const int8_t kMxfp4Values[16];
// 2^(e − 128): half the E8M0 scale 2^(e − 127), exactly as ggml's ggml_e8m0_to_fp32_half
// (for e < 2 the subnormal with bits 0x00200000 << e).
float e8m0_to_float_half(uint8_t e);
// The 6-bit scale of sub-block j (0..7) of an IQ4_XS super-block, minus 32 (range −32..31).
int iq4_xs_scale(const uint8_t* block, int j);

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
