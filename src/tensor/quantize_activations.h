#pragma once
// Activations quantized to 8 bits, the partner format of quantized weights in the integer
// dot-product kernels (ops/cpu). A token's activation row of n floats is quantized once per
// matmul and then read by every weight row.
//
// Two formats, both symmetric (q = round(x / d), d = max|x| / 127, q in -127..127, round to
// nearest even) and stored as structure-of-arrays so the kernels load aligned runs of
// int8 values:
//
//   Q8_32   partner of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (blocks of 32)
//           qs[n] int8 | pad to 64 | d[n/32] float | s[n/32] float, s = d · Σ qs of the block
//           (s carries the block's sum for weight formats with an offset or a minimum)
//   Q8_256  partner of Q2_K .. Q6_K (super-blocks of 256)
//           qs[n] int8 | d[n/256] float | s[n/16] float, s = d · Σ qs of each run of 16
//           (the K-quant offset and min terms apply per group of 16 or 32)
//
// Every row starts 64-byte aligned when the buffer does (row_bytes is a multiple of 64).
#include <cstddef>
#include <cstdint>

namespace hearth {

enum class ActQuant { Q8_32, Q8_256 };

struct ActRowLayout {
    size_t scale_offset;  // byte offset of d[]
    size_t sum_offset;    // byte offset of s[]
    size_t row_bytes;     // stride between token rows, a multiple of 64
};

// Throws hearth::Error when n is not a multiple of the format's block (32 or 256).
ActRowLayout act_row_layout(ActQuant format, int64_t n);

// Quantizes one row of n floats into `dst` (act_row_layout(format, n).row_bytes bytes).
void quantize_act_row(ActQuant format, const float* x, void* dst, int64_t n);

// The float value of element i of a quantized row (qs[i] · d of its block), for tests.
float act_row_value(ActQuant format, const void* row, int64_t n, int64_t i);

}  // namespace hearth
