#pragma once
// IEEE half and bfloat16 <-> float, bit-exact (round to nearest even, NaN kept as NaN).
#include <cstdint>

namespace hearth {

float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);
float bf16_to_fp32(uint16_t b);
uint16_t fp32_to_bf16(float f);

}  // namespace hearth
