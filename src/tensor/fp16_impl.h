#pragma once
// Inline bodies of the conversions in fp16.h, for loops that convert many values (the
// dequantizers) without a call per element. Use fp16.h elsewhere.
//
// IEEE binary16 and bfloat16 <-> binary32 by bit manipulation only (no _Float16, no F16C),
// so the result is the same on every compiler and CPU.
//
//   binary32: sign(1) exponent(8, bias 127) mantissa(23)
//   binary16: sign(1) exponent(5, bias 15)  mantissa(10)
//   bfloat16: the top 16 bits of a binary32
#include <bit>
#include <cstdint>

namespace hearth::detail {

inline float half_to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1Fu;
    const uint32_t mantissa = h & 0x3FFu;

    if (exponent == 0x1F)  // inf, or NaN with its payload (and quiet bit) kept
        return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
    if (exponent != 0)     // normal: rebias 15 -> 127
        return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
    if (mantissa == 0) return std::bit_cast<float>(sign);  // +-0

    // Subnormal half: mantissa * 2^-24, exactly representable (and normal) as a float.
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return std::bit_cast<float>(sign | std::bit_cast<uint32_t>(magnitude));
}

inline uint16_t float_to_half(float f) {
    const uint32_t bits = std::bit_cast<uint32_t>(f);
    const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
    const uint32_t abs = bits & 0x7FFFFFFFu;

    if (abs > 0x7F800000u)  // NaN: keep it quiet and keep the top of the payload
        return static_cast<uint16_t>(sign | 0x7E00u | ((abs >> 13) & 0x3FFu));
    // 65520 = 65504 (the largest half) + half an ulp: ties go to even, which is inf.
    if (abs >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);

    if (abs >= 0x38800000u) {  // >= 2^-14: a normal half
        // Rebias the exponent (127 -> 15) in place, then drop 13 mantissa bits with
        // round-to-nearest-even; a carry out of the mantissa correctly bumps the exponent.
        const uint32_t rebiased = abs - (112u << 23);
        uint32_t half = rebiased >> 13;
        const uint32_t rest = rebiased & 0x1FFFu;
        if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
        return static_cast<uint16_t>(sign | half);
    }

    // Below 2^-14: a subnormal half (units of 2^-24) or zero. 2^-25 is halfway between 0 and
    // the smallest subnormal and ties to 0 (even), so anything <= 2^-25 is zero.
    if (abs <= 0x33000000u) return sign;
    // value = m * 2^(exp - 150) with the implicit bit restored; in units of 2^-24 that is
    // m >> (126 - exp), exp in 102..112, so the shift is 14..24.
    const uint32_t exp = abs >> 23;
    const uint32_t m = (abs & 0x7FFFFFu) | 0x800000u;
    const uint32_t shift = 126 - exp;
    uint32_t half = m >> shift;
    const uint32_t rest = m & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half & 1u))) ++half;  // may reach 0x400: 2^-14
    return static_cast<uint16_t>(sign | half);
}

inline float bf16_to_float(uint16_t b) {
    return std::bit_cast<float>(static_cast<uint32_t>(b) << 16);
}

inline uint16_t float_to_bf16(float f) {
    const uint32_t bits = std::bit_cast<uint32_t>(f);
    // NaN: truncating could clear every payload bit left (turning it into inf), so set the
    // quiet bit.
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
    // Round to nearest even on the 16 dropped bits; overflow carries into inf as it should.
    const uint32_t rounding = 0x7FFFu + ((bits >> 16) & 1u);
    return static_cast<uint16_t>((bits + rounding) >> 16);
}

}  // namespace hearth::detail
