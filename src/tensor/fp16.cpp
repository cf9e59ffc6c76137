// The public conversions; the bodies live in fp16_impl.h so hot loops can inline them.
#include "tensor/fp16.h"

#include "tensor/fp16_impl.h"

namespace hearth {

float fp16_to_fp32(uint16_t h) { return detail::half_to_float(h); }
uint16_t fp32_to_fp16(float f) { return detail::float_to_half(f); }
float bf16_to_fp32(uint16_t b) { return detail::bf16_to_float(b); }
uint16_t fp32_to_bf16(float f) { return detail::float_to_bf16(f); }

}  // namespace hearth
