#pragma once
// Row-interleaved weight layout ("x16") for the AVX-512 matrix kernels.
//
// In a GGUF file each weight row is a run of blocks. A matrix product reads 16 rows at a time
// much better when their blocks sit side by side, arranged so that one 512-bit vector holds 4
// code bytes of each of the 16 rows: dpbusd then multiplies them by 4 broadcast activation
// bytes and leaves one partial dot product per row in each 32-bit lane, and the block's scales
// apply to all 16 rows with one vector multiply. Rows are grouped by 16 (the last group padded
// with zero rows); group g holds the blocks of rows 16g..16g+15, block by block:
//
//   Q4_0 (288 bytes per block of 16 rows)
//     d[16] fp16 | 4 chunks of 64 bytes: chunk m, lane r = qs_r[4m .. 4m+3]
//     (low nibbles are elements 4m.., high nibbles elements 16+4m..)
//   Q5_0 (352 bytes)
//     d[16] fp16 | h[16] u32, the fifth bits rearranged per chunk (repack.cpp) | 4 chunks as Q4_0's
//   IQ4_NL: as Q4_0 (the codes index its table instead of being offset by 8)
//   MXFP4 (272 bytes)
//     e[16] E8M0 | 4 chunks of 64 bytes as Q4_0's
//   Q8_0 (544 bytes)
//     d[16] fp16 | 8 chunks: chunk m, lane r = qs_r[4m .. 4m+3] + 128 (unsigned codes)
//   Q4_K (2368 bytes per super-block of 16 rows)
//     d[16] fp16 | dmin[16] fp16 | scale[8][16] u8 | min[8][16] u8 |
//     32 chunks: chunk 8p+m, lane r = qs_r[32p+4m .. 32p+4m+3]
//     (low nibbles are sub-block 2p, high nibbles sub-block 2p+1)
//   Q6_K (3360 bytes per super-block of 16 rows)
//     d[16] fp16 | scale[16][16] i8 | 32 ql chunks: chunk c, lane r = ql_r[4c .. 4c+3] |
//     16 qh chunks: chunk c, lane r = qh_r[4c .. 4c+3]
//
// The conversion is exact and reversible (deinterleave_row gives back the file's bytes).
// This header is portable code; the kernels that read the layout are in repacked_avx512.cpp.
#include <cstddef>
#include <cstdint>

namespace hearth::ops::cpu {

constexpr int kInterleave = 16;

// Whether `type_id` (a ggml type id) has an x16 layout.
bool has_x16_layout(uint32_t type_id);

// Bytes of one group of 16 rows of `cols` elements.
size_t x16_group_bytes(uint32_t type_id, int64_t cols);

// Number of groups for `rows` rows.
inline int64_t x16_groups(int64_t rows) { return (rows + kInterleave - 1) / kInterleave; }

// Writes groups [g0, g1) of the matrix whose row r starts at src + r·src_row_bytes into
// dst (which points at group 0). dst must be zeroed: padding rows past `rows` are left as
// they are.
void interleave_groups(uint32_t type_id, const uint8_t* src, size_t src_row_bytes, int64_t rows, int64_t cols,
                       int64_t g0, int64_t g1, uint8_t* dst);

// Row r of an x16 matrix, back in the file's block layout (row_bytes bytes at dst).
void deinterleave_row(uint32_t type_id, const uint8_t* groups, int64_t cols, int64_t r, uint8_t* dst);

}  // namespace hearth::ops::cpu
