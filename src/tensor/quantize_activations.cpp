#include "tensor/quantize_activations.h"

#include <cmath>
#include <cstring>

#include "common/error.h"

namespace hearth {
namespace {

constexpr size_t align64(size_t n) { return (n + 63) & ~size_t{63}; }

int64_t block_of(ActQuant format) { return format == ActQuant::Q8_32 ? 32 : 256; }

// Quantizes `n` values with one scale and returns the scale; *total = the sum of the codes.
float quantize_block(const float* x, int8_t* q, int n, int* total) {
    float amax = 0.0f;
    for (int i = 0; i < n; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    int sum = 0;
    for (int i = 0; i < n; ++i) {
        // x·id rounds to at most 127 in magnitude; nearbyint rounds half to even, as the
        // SIMD quantizers' cvtps does.
        const int v = static_cast<int>(std::nearbyint(x[i] * id));
        q[i] = static_cast<int8_t>(v);
        sum += v;
    }
    *total = sum;
    return d;
}

}  // namespace

ActRowLayout act_row_layout(ActQuant format, int64_t n) {
    const int64_t block = block_of(format);
    if (n <= 0 || n % block != 0)
        fail("quantizing activations: row length {} is not a multiple of {}", n, block);
    const size_t nb = static_cast<size_t>(n / block);
    ActRowLayout l{};
    if (format == ActQuant::Q8_32) {
        l.scale_offset = align64(static_cast<size_t>(n));
        l.sum_offset = l.scale_offset + nb * sizeof(float);
        l.row_bytes = align64(l.sum_offset + nb * sizeof(float));
    } else {
        l.scale_offset = static_cast<size_t>(n);  // a multiple of 256
        l.sum_offset = l.scale_offset + nb * sizeof(float);
        l.row_bytes = align64(l.sum_offset + nb * 16 * sizeof(float));
    }
    return l;
}

void quantize_act_row(ActQuant format, const float* x, void* dst, int64_t n) {
    const ActRowLayout l = act_row_layout(format, n);
    auto* base = static_cast<uint8_t*>(dst);
    auto* qs = reinterpret_cast<int8_t*>(base);
    auto* d = reinterpret_cast<float*>(base + l.scale_offset);
    // Kernels may read the codes in whole 64-byte vectors: the padding after them is zero.
    std::memset(base + n, 0, l.scale_offset - static_cast<size_t>(n));
    if (format == ActQuant::Q8_32) {
        auto* s = reinterpret_cast<float*>(base + l.sum_offset);
        for (int64_t b = 0; b < n / 32; ++b) {
            int sum = 0;
            d[b] = quantize_block(x + 32 * b, qs + 32 * b, 32, &sum);
            s[b] = d[b] * static_cast<float>(sum);
        }
    } else {
        auto* s = reinterpret_cast<float*>(base + l.sum_offset);
        for (int64_t b = 0; b < n / 256; ++b) {
            int unused = 0;
            d[b] = quantize_block(x + 256 * b, qs + 256 * b, 256, &unused);
            for (int g = 0; g < 16; ++g) {
                int sum = 0;
                for (int i = 0; i < 16; ++i) sum += qs[256 * b + 16 * g + i];
                s[16 * b + g] = d[b] * static_cast<float>(sum);
            }
        }
    }
}

float act_row_value(ActQuant format, const void* row, int64_t n, int64_t i) {
    const ActRowLayout l = act_row_layout(format, n);
    const auto* base = static_cast<const uint8_t*>(row);
    float d;
    std::memcpy(&d, base + l.scale_offset + sizeof(float) * static_cast<size_t>(i / block_of(format)),
                sizeof d);
    return static_cast<float>(static_cast<int8_t>(base[i])) * d;
}

}  // namespace hearth
