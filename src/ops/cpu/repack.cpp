// The x16 layout (see repack.h): conversion from and back to the file's row layout.
#include "ops/cpu/repack.h"

#include <cstring>

#include "common/error.h"
#include "ops/cpu/kernels.h"

namespace hearth::ops::cpu {
namespace {

constexpr int R = kInterleave;

// One block type: its size in the file, its size per 16 rows, and the two conversions of one
// block (rows[i] is row i's block, or nullptr for a padding row).
struct Q4_0Layout {
    static constexpr size_t kBlockBytes = 18, kGroupBytes = 288;
    static constexpr int64_t kElems = 32;
    static void pack(const uint8_t* const* rows, uint8_t* out) {
        for (int r = 0; r < R; ++r) {
            if (!rows[r]) continue;
            std::memcpy(out + 2 * r, rows[r], 2);
            for (int m = 0; m < 4; ++m) std::memcpy(out + 32 + 64 * m + 4 * r, rows[r] + 2 + 4 * m, 4);
        }
    }
    static void unpack(const uint8_t* in, int r, uint8_t* out) {
        std::memcpy(out, in + 2 * r, 2);
        for (int m = 0; m < 4; ++m) std::memcpy(out + 2 + 4 * m, in + 32 + 64 * m + 4 * r, 4);
    }
};

struct Q8_0Layout {
    static constexpr size_t kBlockBytes = 34, kGroupBytes = 544;
    static constexpr int64_t kElems = 32;
    static void pack(const uint8_t* const* rows, uint8_t* out) {
        for (int r = 0; r < R; ++r) {
            // Padding rows hold code 0 (byte 128) with scale 0.
            for (int m = 0; m < 8; ++m) {
                uint32_t codes = 0;
                if (rows[r]) std::memcpy(&codes, rows[r] + 2 + 4 * m, 4);
                codes ^= 0x80808080u;
                std::memcpy(out + 32 + 64 * m + 4 * r, &codes, 4);
            }
            if (rows[r]) std::memcpy(out + 2 * r, rows[r], 2);
        }
    }
    static void unpack(const uint8_t* in, int r, uint8_t* out) {
        std::memcpy(out, in + 2 * r, 2);
        for (int m = 0; m < 8; ++m)
            for (int i = 0; i < 4; ++i) out[2 + 4 * m + i] = static_cast<uint8_t>(in[32 + 64 * m + 4 * r + i] ^ 0x80);
    }
};

// Q5_0 block: d | qh (u32: bit j is the fifth bit of element j) | qs[16]. Per 16 rows:
// d[16] | h[16] | 4 chunks of nibbles as Q4_0's, where row r's h holds its fifth bits
// arranged for the chunks: bit 8i + m is element 4m + i's (low nibble of byte i of chunk m),
// bit 8i + 4 + m element 16 + 4m + i's (its high nibble). A shift by 4 − m (low) or m (high)
// then puts every byte's bit at bit 4, beside its nibble.
struct Q5_0Layout {
    static constexpr size_t kBlockBytes = 22, kGroupBytes = 352;
    static constexpr int64_t kElems = 32;
    static uint32_t to_chunks(uint32_t qh) {
        uint32_t h = 0;
        for (int m = 0; m < 4; ++m)
            for (int i = 0; i < 4; ++i) {
                h |= ((qh >> (4 * m + i)) & 1u) << (8 * i + m);
                h |= ((qh >> (16 + 4 * m + i)) & 1u) << (8 * i + 4 + m);
            }
        return h;
    }
    static uint32_t from_chunks(uint32_t h) {
        uint32_t qh = 0;
        for (int m = 0; m < 4; ++m)
            for (int i = 0; i < 4; ++i) {
                qh |= ((h >> (8 * i + m)) & 1u) << (4 * m + i);
                qh |= ((h >> (8 * i + 4 + m)) & 1u) << (16 + 4 * m + i);
            }
        return qh;
    }
    static void pack(const uint8_t* const* rows, uint8_t* out) {
        for (int r = 0; r < R; ++r) {
            if (!rows[r]) continue;
            std::memcpy(out + 2 * r, rows[r], 2);
            uint32_t qh;
            std::memcpy(&qh, rows[r] + 2, 4);
            const uint32_t h = to_chunks(qh);
            std::memcpy(out + 32 + 4 * r, &h, 4);
            for (int m = 0; m < 4; ++m) std::memcpy(out + 96 + 64 * m + 4 * r, rows[r] + 6 + 4 * m, 4);
        }
    }
    static void unpack(const uint8_t* in, int r, uint8_t* out) {
        std::memcpy(out, in + 2 * r, 2);
        uint32_t h;
        std::memcpy(&h, in + 32 + 4 * r, 4);
        const uint32_t qh = from_chunks(h);
        std::memcpy(out + 2, &qh, 4);
        for (int m = 0; m < 4; ++m) std::memcpy(out + 6 + 4 * m, in + 96 + 64 * m + 4 * r, 4);
    }
};

// MXFP4 block: e (E8M0 scale) | qs[16]; per 16 rows: e[16] | 4 chunks of nibbles as Q4_0's.
struct MXFP4Layout {
    static constexpr size_t kBlockBytes = 17, kGroupBytes = 272;
    static constexpr int64_t kElems = 32;
    static void pack(const uint8_t* const* rows, uint8_t* out) {
        for (int r = 0; r < R; ++r) {
            if (!rows[r]) continue;
            out[r] = rows[r][0];
            for (int m = 0; m < 4; ++m) std::memcpy(out + 16 + 64 * m + 4 * r, rows[r] + 1 + 4 * m, 4);
        }
    }
    static void unpack(const uint8_t* in, int r, uint8_t* out) {
        out[0] = in[r];
        for (int m = 0; m < 4; ++m) std::memcpy(out + 1 + 4 * m, in + 16 + 64 * m + 4 * r, 4);
    }
};

// Q4_K block: d | dmin | scales[12] (eight 6-bit scales and eight 6-bit mins) | qs[128].
struct Q4_KLayout {
    static constexpr size_t kBlockBytes = 144, kGroupBytes = 2368;
    static constexpr int64_t kElems = 256;
    static constexpr size_t kScales = 64, kMins = 192, kCodes = 320;

    static void unpack_scales(const uint8_t* s, uint8_t* sc, uint8_t* mn) {
        for (int g = 0; g < 4; ++g) {
            sc[g] = s[g] & 63;
            mn[g] = s[g + 4] & 63;
            sc[g + 4] = static_cast<uint8_t>((s[g + 8] & 0x0F) | ((s[g] >> 6) << 4));
            mn[g + 4] = static_cast<uint8_t>((s[g + 8] >> 4) | ((s[g + 4] >> 6) << 4));
        }
    }
    static void pack_scales(const uint8_t* sc, const uint8_t* mn, uint8_t* s) {
        for (int g = 0; g < 4; ++g) {
            s[g] = static_cast<uint8_t>(sc[g] | ((sc[g + 4] >> 4) << 6));
            s[g + 4] = static_cast<uint8_t>(mn[g] | ((mn[g + 4] >> 4) << 6));
            s[g + 8] = static_cast<uint8_t>((sc[g + 4] & 0x0F) | ((mn[g + 4] & 0x0F) << 4));
        }
    }
    static void pack(const uint8_t* const* rows, uint8_t* out) {
        for (int r = 0; r < R; ++r) {
            if (!rows[r]) continue;
            const uint8_t* b = rows[r];
            std::memcpy(out + 2 * r, b, 2);
            std::memcpy(out + 32 + 2 * r, b + 2, 2);
            uint8_t sc[8], mn[8];
            unpack_scales(b + 4, sc, mn);
            for (int g = 0; g < 8; ++g) {
                out[kScales + 16 * g + r] = sc[g];
                out[kMins + 16 * g + r] = mn[g];
            }
            for (int c = 0; c < 32; ++c) std::memcpy(out + kCodes + 64 * c + 4 * r, b + 16 + 4 * c, 4);
        }
    }
    static void unpack(const uint8_t* in, int r, uint8_t* out) {
        std::memcpy(out, in + 2 * r, 2);
        std::memcpy(out + 2, in + 32 + 2 * r, 2);
        uint8_t sc[8], mn[8];
        for (int g = 0; g < 8; ++g) {
            sc[g] = in[kScales + 16 * g + r];
            mn[g] = in[kMins + 16 * g + r];
        }
        pack_scales(sc, mn, out + 4);
        for (int c = 0; c < 32; ++c) std::memcpy(out + 16 + 4 * c, in + kCodes + 64 * c + 4 * r, 4);
    }
};

// Q6_K block: ql[128] | qh[64] | scales[16] (int8) | d. Group layout: d[16] fp16 |
// scale[16][16] | ql chunks (32 of 64 bytes: 16 per half of 128 elements) | qh chunks (16).
struct Q6_KLayout {
    static constexpr size_t kBlockBytes = 210, kGroupBytes = 3360;
    static constexpr int64_t kElems = 256;
    static constexpr size_t kScales = 32, kLow = 288, kHigh = 2336;
    static void pack(const uint8_t* const* rows, uint8_t* out) {
        for (int r = 0; r < R; ++r) {
            if (!rows[r]) continue;
            const uint8_t* b = rows[r];
            std::memcpy(out + 2 * r, b + 208, 2);
            for (int g = 0; g < 16; ++g) out[kScales + 16 * g + r] = b[192 + g];
            for (int c = 0; c < 32; ++c) std::memcpy(out + kLow + 64 * c + 4 * r, b + 4 * c, 4);
            for (int c = 0; c < 16; ++c) std::memcpy(out + kHigh + 64 * c + 4 * r, b + 128 + 4 * c, 4);
        }
    }
    static void unpack(const uint8_t* in, int r, uint8_t* out) {
        std::memcpy(out + 208, in + 2 * r, 2);
        for (int g = 0; g < 16; ++g) out[192 + g] = in[kScales + 16 * g + r];
        for (int c = 0; c < 32; ++c) std::memcpy(out + 4 * c, in + kLow + 64 * c + 4 * r, 4);
        for (int c = 0; c < 16; ++c) std::memcpy(out + 128 + 4 * c, in + kHigh + 64 * c + 4 * r, 4);
    }
};

template <class L>
void interleave(const uint8_t* src, size_t src_row_bytes, int64_t rows, int64_t cols, int64_t g0, int64_t g1,
                uint8_t* dst) {
    const int64_t nb = cols / L::kElems;
    const size_t group_bytes = static_cast<size_t>(nb) * L::kGroupBytes;
    for (int64_t g = g0; g < g1; ++g) {
        uint8_t* out = dst + static_cast<size_t>(g) * group_bytes;
        for (int64_t b = 0; b < nb; ++b) {
            const uint8_t* blocks[R];
            for (int r = 0; r < R; ++r) {
                const int64_t row = g * R + r;
                blocks[r] = row < rows ? src + static_cast<size_t>(row) * src_row_bytes + b * L::kBlockBytes : nullptr;
            }
            L::pack(blocks, out + b * L::kGroupBytes);
        }
    }
}

template <class L>
void deinterleave(const uint8_t* groups, int64_t cols, int64_t r, uint8_t* dst) {
    const int64_t nb = cols / L::kElems;
    const uint8_t* group = groups + static_cast<size_t>(r / R) * static_cast<size_t>(nb) * L::kGroupBytes;
    for (int64_t b = 0; b < nb; ++b) L::unpack(group + b * L::kGroupBytes, static_cast<int>(r % R), dst + b * L::kBlockBytes);
}

template <class F>
auto with_layout(uint32_t type_id, F&& f) {
    switch (type_id) {
        case slot(TensorType::Q4_0): return f(Q4_0Layout{});
        case slot(TensorType::IQ4_NL): return f(Q4_0Layout{});  // the same block: d | qs[16]
        case slot(TensorType::MXFP4): return f(MXFP4Layout{});
        case slot(TensorType::Q5_0): return f(Q5_0Layout{});
        case slot(TensorType::Q8_0): return f(Q8_0Layout{});
        case slot(TensorType::Q4_K): return f(Q4_KLayout{});
        case slot(TensorType::Q6_K): return f(Q6_KLayout{});
        default: fail("internal: no x16 layout for ggml type {}", type_id);
    }
}

}  // namespace

bool has_x16_layout(uint32_t id) {
    for (TensorType t : {TensorType::Q4_0, TensorType::Q5_0, TensorType::Q8_0, TensorType::Q4_K, TensorType::Q6_K,
                         TensorType::IQ4_NL, TensorType::MXFP4})
        if (id == static_cast<uint32_t>(t)) return true;
    return false;
}

size_t x16_group_bytes(uint32_t id, int64_t cols) {
    return with_layout(id, [&](auto l) {
        using L = decltype(l);
        if (cols % L::kElems != 0) fail("internal: {} columns are not whole blocks of {}", cols, L::kElems);
        return static_cast<size_t>(cols / L::kElems) * L::kGroupBytes;
    });
}

void interleave_groups(uint32_t id, const uint8_t* src, size_t src_row_bytes, int64_t rows, int64_t cols, int64_t g0,
                       int64_t g1, uint8_t* dst) {
    with_layout(id, [&](auto l) { interleave<decltype(l)>(src, src_row_bytes, rows, cols, g0, g1, dst); });
}

void deinterleave_row(uint32_t id, const uint8_t* groups, int64_t cols, int64_t r, uint8_t* dst) {
    with_layout(id, [&](auto l) { deinterleave<decltype(l)>(groups, cols, r, dst); });
}

}  // namespace hearth::ops::cpu
