#pragma once
// The tensor type ids (GGUF's, i.e. ggml's) and the activation formats that kernels pair them
// with. Plain enums only: this header is included by the SIMD kernel files (ops/cpu/*_avx2.cpp,
// *_avx512.cpp), which may not see any inline function (see ops/cpu/dispatch.h).
#include <cstdint>

namespace hearth {

enum class TensorType : uint32_t {
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
    IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
    TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};

// What a weight type's SIMD kernels want the activations converted to before they run (ggml's
// "vec_dot_type"). One per weight type, in its trait row, so every path quantizes the same way.
enum class ActFormat : uint8_t {
    F32,     // the float rows as they are
    Q8_32,   // 8-bit, one scale per 32 values (tensor/quantize_activations.h, ActQuant::Q8_32)
    Q8_256,  // 8-bit, one scale per 256 values (ActQuant::Q8_256)
};

}  // namespace hearth
