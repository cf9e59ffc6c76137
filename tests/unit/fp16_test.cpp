// fp16 / bf16 conversions: exhaustive over every 16-bit pattern, and float -> 16-bit against
// an independent nearest-value search (in double), at every rounding tie and at random.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "tensor/fp16.h"

namespace hearth {
namespace {

uint32_t bits_of(float f) { return std::bit_cast<uint32_t>(f); }
float float_of(uint32_t u) { return std::bit_cast<float>(u); }

bool half_is_nan(uint16_t h) { return (h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0; }

// The value of a half from its definition, in double.
double half_value(uint16_t h) {
    const int e = (h >> 10) & 0x1F;
    const int m = h & 0x3FF;
    const double sign = (h & 0x8000) ? -1.0 : 1.0;
    if (e == 0x1F) return m ? std::numeric_limits<double>::quiet_NaN()
                            : sign * std::numeric_limits<double>::infinity();
    if (e == 0) return sign * std::ldexp(m, -24);
    return sign * std::ldexp(1024 + m, e - 25);
}

// Round-to-nearest-even float -> half by search over all positive finite halves (plus the
// first value past the largest, 2^16, which stands for overflow to inf).
uint16_t nearest_half(float f) {
    static const std::vector<double> values = [] {
        std::vector<double> v;
        for (uint32_t h = 0; h <= 0x7C00; ++h) v.push_back(h == 0x7C00 ? 65536.0 : half_value(h));
        return v;
    }();
    const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
    const double a = std::fabs(static_cast<double>(f));
    if (a >= 65536.0) return sign | 0x7C00;
    const auto it = std::lower_bound(values.begin(), values.end(), a);
    auto hi = static_cast<uint16_t>(it - values.begin());
    if (values[hi] == a || hi == 0) return sign | hi;
    const uint16_t lo = hi - 1;
    const double dlo = a - values[lo], dhi = values[hi] - a;
    if (dlo < dhi) return sign | lo;
    if (dhi < dlo) return sign | hi;
    return sign | ((lo & 1) ? hi : lo);
}

// Round-to-nearest-even float -> bf16 from the two candidates, in double.
uint16_t nearest_bf16(float f) {
    const uint32_t u = bits_of(f);
    const uint32_t lo = u & 0xFFFF0000u;
    if (lo == u) return static_cast<uint16_t>(u >> 16);
    const double a = std::fabs(static_cast<double>(f));
    const double vlo = std::fabs(static_cast<double>(float_of(lo)));
    const uint32_t hi = lo + 0x10000u;
    // The candidate above the largest finite bf16 is inf; it sits where 2^128 would be.
    const bool hi_is_inf = (hi & 0x7FFFFFFFu) == 0x7F800000u;
    const double vhi =
        hi_is_inf ? std::ldexp(1.0, 128) : std::fabs(static_cast<double>(float_of(hi)));
    const double dlo = a - vlo, dhi = vhi - a;
    if (dlo < dhi) return static_cast<uint16_t>(lo >> 16);
    if (dhi < dlo) return static_cast<uint16_t>(hi >> 16);
    return static_cast<uint16_t>(((lo >> 16) & 1) ? hi >> 16 : lo >> 16);
}

// ---- half ----------------------------------------------------------------------------------

TEST(Fp16, EveryHalfDecodesToItsValue) {
    for (uint32_t h = 0; h <= 0xFFFF; ++h) {
        const float f = fp16_to_fp32(static_cast<uint16_t>(h));
        if (half_is_nan(static_cast<uint16_t>(h))) {
            ASSERT_TRUE(std::isnan(f)) << std::hex << h;
            EXPECT_EQ(std::signbit(f), (h & 0x8000) != 0) << std::hex << h;
            EXPECT_EQ((bits_of(f) >> 13) & 0x3FF, h & 0x3FF) << "payload kept, " << std::hex << h;
        } else {
            const double want = half_value(static_cast<uint16_t>(h));
            ASSERT_EQ(static_cast<double>(f), want) << std::hex << h;
            ASSERT_EQ(std::signbit(f), (h & 0x8000) != 0) << std::hex << h;  // -0 too
        }
    }
}

TEST(Fp16, EveryHalfRoundTrips) {
    for (uint32_t h = 0; h <= 0xFFFF; ++h) {
        const auto h16 = static_cast<uint16_t>(h);
        const uint16_t back = fp32_to_fp16(fp16_to_fp32(h16));
        if (half_is_nan(h16)) {
            EXPECT_TRUE(half_is_nan(back)) << std::hex << h;
            EXPECT_EQ(back, h16 | 0x0200) << "quieted, payload kept: " << std::hex << h;
        } else {
            ASSERT_EQ(back, h16) << std::hex << h;
        }
    }
}

TEST(Fp16, EveryTieAndItsNeighbours) {
    // Midpoints between consecutive halves are exact floats: they go to the even one, and the
    // floats just beside them go to the nearer one. Covers subnormals, the subnormal/normal
    // boundary, every binade and the overflow threshold (65504 | 65520 | 65536).
    for (uint32_t h = 0; h < 0x7C00; ++h) {
        const double lo = half_value(static_cast<uint16_t>(h));
        const double hi = h + 1 == 0x7C00 ? 65536.0 : half_value(static_cast<uint16_t>(h + 1));
        const float mid = static_cast<float>((lo + hi) / 2);
        ASSERT_EQ(static_cast<double>(mid), (lo + hi) / 2);
        const auto even = static_cast<uint16_t>((h & 1) ? h + 1 : h);
        const float below = std::nextafter(mid, 0.0f);
        const float above = std::nextafter(mid, std::numeric_limits<float>::infinity());
        for (uint16_t sign : {uint16_t{0}, uint16_t{0x8000}}) {
            const float s = sign ? -1.0f : 1.0f;
            ASSERT_EQ(fp32_to_fp16(s * mid), sign | even) << std::hex << h;
            ASSERT_EQ(fp32_to_fp16(s * below), sign | h) << std::hex << h;
            ASSERT_EQ(fp32_to_fp16(s * above), sign | (h + 1)) << std::hex << h;
        }
    }
}

TEST(Fp16, SpecialValues) {
    const float inf = std::numeric_limits<float>::infinity();
    EXPECT_EQ(fp32_to_fp16(0.0f), 0x0000);
    EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
    EXPECT_EQ(fp32_to_fp16(1.0f), 0x3C00);
    EXPECT_EQ(fp32_to_fp16(-2.0f), 0xC000);
    EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7BFF);
    EXPECT_EQ(fp32_to_fp16(65519.996f), 0x7BFF);
    EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7C00);  // tie with 2^16 goes to "even": inf
    EXPECT_EQ(fp32_to_fp16(1e10f), 0x7C00);
    EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::max()), 0x7C00);
    EXPECT_EQ(fp32_to_fp16(inf), 0x7C00);
    EXPECT_EQ(fp32_to_fp16(-inf), 0xFC00);
    EXPECT_EQ(fp16_to_fp32(0x7C00), inf);
    EXPECT_EQ(fp16_to_fp32(0xFC00), -inf);
    // Subnormal halves: 2^-24 is the smallest, 2^-14 the smallest normal.
    EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -24)), 0x0001);
    EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -14)), 0x0400);
    EXPECT_EQ(fp32_to_fp16(std::ldexp(1023.0f, -24)), 0x03FF);
    EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);   // tie with 0: even
    EXPECT_EQ(fp32_to_fp16(-std::ldexp(1.0f, -25)), 0x8000);
    EXPECT_EQ(fp32_to_fp16(std::ldexp(3.0f, -25)), 0x0002);   // 1.5 units: tie, to even 2
    EXPECT_EQ(fp32_to_fp16(std::ldexp(5.0f, -25)), 0x0002);   // 2.5 units: tie, to even 2
    EXPECT_EQ(fp32_to_fp16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
    EXPECT_EQ(fp32_to_fp16(std::ldexp(3.0f, -26)), 0x0001);   // 0.75 units
    EXPECT_EQ(fp32_to_fp16(std::ldexp(7.0f, -25)), 0x0004);   // 3.5 units: tie, to even 4
    EXPECT_EQ(fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));
    EXPECT_EQ(fp16_to_fp32(0x8001), -std::ldexp(1.0f, -24));
    EXPECT_EQ(fp16_to_fp32(0x03FF), std::ldexp(1023.0f, -24));
    // Float subnormals are far below half's range.
    EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::denorm_min()), 0x0000);
    EXPECT_EQ(fp32_to_fp16(-1e-40f), 0x8000);
    // NaN stays NaN with its sign, quiet or signalling.
    const float qnan = std::numeric_limits<float>::quiet_NaN();
    EXPECT_TRUE(half_is_nan(fp32_to_fp16(qnan)));
    EXPECT_TRUE(half_is_nan(fp32_to_fp16(-qnan)));
    EXPECT_EQ(fp32_to_fp16(-qnan) & 0x8000, 0x8000);
    EXPECT_TRUE(half_is_nan(fp32_to_fp16(float_of(0x7F800001u))));  // payload only in low bits
    EXPECT_TRUE(half_is_nan(fp32_to_fp16(float_of(0xFFBFFFFFu))));
    EXPECT_TRUE(std::isnan(fp16_to_fp32(0x7E00)));
    EXPECT_TRUE(std::isnan(fp16_to_fp32(0x7C01)));
}

TEST(Fp16, RandomFloatsRoundToNearestEven) {
    std::mt19937 rng(1234);
    std::uniform_int_distribution<uint32_t> any_bits;
    // Exponents near half's range are where the interesting cases are; also any bits at all.
    std::uniform_int_distribution<uint32_t> exponent(127 - 28, 127 + 17);
    std::uniform_int_distribution<uint32_t> mantissa(0, 0x7FFFFF);
    for (int i = 0; i < 400000; ++i) {
        const uint32_t near = (any_bits(rng) & 0x80000000u) | (exponent(rng) << 23) | mantissa(rng);
        const uint32_t u = (i % 4 == 0) ? any_bits(rng) : near;
        const float f = float_of(u);
        if (std::isnan(f)) continue;
        ASSERT_EQ(fp32_to_fp16(f), nearest_half(f)) << std::hex << u;
    }
}

#if defined(__FLT16_MAX__)
TEST(Fp16, AgreesWithTheCompilersFloat16) {
    // Only an extra oracle where the compiler has _Float16; the implementation never uses it.
    for (uint64_t u = 0; u <= 0xFFFFFFFFu; u += 997) {
        const float f = float_of(static_cast<uint32_t>(u));
        if (std::isnan(f)) continue;
        const _Float16 h = static_cast<_Float16>(f);
        ASSERT_EQ(fp32_to_fp16(f), std::bit_cast<uint16_t>(h)) << std::hex << u;
    }
    for (uint32_t h = 0; h <= 0xFFFF; ++h) {
        if (half_is_nan(static_cast<uint16_t>(h))) continue;
        const float want = static_cast<float>(std::bit_cast<_Float16>(static_cast<uint16_t>(h)));
        ASSERT_EQ(bits_of(fp16_to_fp32(static_cast<uint16_t>(h))), bits_of(want)) << std::hex << h;
    }
}
#endif

// ---- bfloat16 ------------------------------------------------------------------------------

TEST(Fp16Bf16, EveryBf16DecodesAndRoundTrips) {
    for (uint32_t b = 0; b <= 0xFFFF; ++b) {
        const auto b16 = static_cast<uint16_t>(b);
        const float f = bf16_to_fp32(b16);
        ASSERT_EQ(bits_of(f), b << 16);
        const bool nan = (b & 0x7F80) == 0x7F80 && (b & 0x7F) != 0;
        if (nan) {
            const uint16_t back = fp32_to_bf16(f);
            EXPECT_TRUE((back & 0x7F80) == 0x7F80 && (back & 0x7F) != 0) << std::hex << b;
            EXPECT_EQ(back & 0x8000, b & 0x8000);
        } else {
            ASSERT_EQ(fp32_to_bf16(f), b16) << std::hex << b;
        }
    }
}

TEST(Fp16Bf16, TiesOverflowDenormalsAndNaN) {
    EXPECT_EQ(fp32_to_bf16(1.0f), 0x3F80);
    EXPECT_EQ(fp32_to_bf16(float_of(0x3F808000u)), 0x3F80);  // tie, even below
    EXPECT_EQ(fp32_to_bf16(float_of(0x3F818000u)), 0x3F82);  // tie, even above
    EXPECT_EQ(fp32_to_bf16(float_of(0x3F808001u)), 0x3F81);
    EXPECT_EQ(fp32_to_bf16(float_of(0x3F807FFFu)), 0x3F80);
    EXPECT_EQ(fp32_to_bf16(float_of(0xBF818000u)), 0xBF82);
    EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::max()), 0x7F80);  // rounds up to inf
    EXPECT_EQ(fp32_to_bf16(float_of(0x7F7F7FFFu)), 0x7F7F);
    EXPECT_EQ(fp32_to_bf16(float_of(0x7F7F8000u)), 0x7F80);  // tie with 2^128, odd below: inf
    EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
    EXPECT_EQ(fp32_to_bf16(-std::numeric_limits<float>::infinity()), 0xFF80);
    EXPECT_EQ(fp32_to_bf16(-0.0f), 0x8000);
    // Float subnormals are rounded, not flushed.
    EXPECT_EQ(fp32_to_bf16(float_of(0x00018000u)), 0x0002);
    EXPECT_EQ(fp32_to_bf16(float_of(0x00008000u)), 0x0000);  // tie with 0
    EXPECT_EQ(fp32_to_bf16(float_of(0x00008001u)), 0x0001);
    EXPECT_EQ(fp32_to_bf16(float_of(0x007FFFFFu)), 0x0080);  // up into the normals
    // NaN stays NaN, even when the payload lives only in the dropped bits.
    for (uint32_t nan : {0x7F800001u, 0xFF800001u, 0x7FC00000u, 0x7FFFFFFFu, 0x7F80FFFFu}) {
        const uint16_t b = fp32_to_bf16(float_of(nan));
        EXPECT_TRUE(std::isnan(bf16_to_fp32(b))) << std::hex << nan;
        EXPECT_EQ(b & 0x8000, (nan >> 16) & 0x8000);
    }
}

TEST(Fp16Bf16, RandomFloatsRoundToNearestEven) {
    std::mt19937 rng(99);
    std::uniform_int_distribution<uint32_t> any_bits;
    for (int i = 0; i < 400000; ++i) {
        uint32_t u = any_bits(rng);
        if (i % 3 == 0) u = (u & 0xFFFF0000u) | 0x8000u;  // force exact ties
        const float f = float_of(u);
        if (std::isnan(f)) continue;
        ASSERT_EQ(fp32_to_bf16(f), nearest_bf16(f)) << std::hex << u;
    }
}

}  // namespace
}  // namespace hearth
