#pragma once
// Reference quantizers: float rows → GGUF block layouts, the inverse of dequantize.h.
// The legacy types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) and F16/BF16 are plain rounding and give
// the same bytes as ggml's reference quantizer. The K-quants search each group's scale (and
// min) for the least weighted squared error, then quantize the group scales themselves.
#include <cstdint>

#include "tensor/types.h"

namespace hearth {

// nullptr when hearth cannot produce the type (TypeTraits::quantize_row of its trait row).
QuantizeRowFn find_quantizer(TensorType type);

void quantize_row_f32(const float* src, void* dst, int64_t n);
void quantize_row_f16(const float* src, void* dst, int64_t n);
void quantize_row_bf16(const float* src, void* dst, int64_t n);
void quantize_row_q4_0(const float* src, void* dst, int64_t n);
void quantize_row_q4_1(const float* src, void* dst, int64_t n);
void quantize_row_q5_0(const float* src, void* dst, int64_t n);
void quantize_row_q5_1(const float* src, void* dst, int64_t n);
void quantize_row_q8_0(const float* src, void* dst, int64_t n);
void quantize_row_q2_k(const float* src, void* dst, int64_t n);
void quantize_row_q3_k(const float* src, void* dst, int64_t n);
void quantize_row_q4_k(const float* src, void* dst, int64_t n);
void quantize_row_q5_k(const float* src, void* dst, int64_t n);
void quantize_row_q6_k(const float* src, void* dst, int64_t n);
// ggml's reference quantizer's bytes: e = floor(log2 max|x|) − 2 + 127, nearest E2M1 value.
void quantize_row_mxfp4(const float* src, void* dst, int64_t n);
// Non-linear 4-bit: the scale searched for the least x²-weighted error (as ggml's quantizer).
void quantize_row_iq4_nl(const float* src, void* dst, int64_t n);
void quantize_row_iq4_xs(const float* src, void* dst, int64_t n);

}  // namespace hearth
