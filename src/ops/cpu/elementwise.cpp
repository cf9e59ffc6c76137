// Norms, activations, softmax, rotary embeddings: the cheap per-element operations.
#include <cmath>

#include "ops/ops.h"

namespace hearth::ops {

void rmsnorm(const float* x, float* out, const float* weight, int64_t n_rows, int64_t n, float eps) {
    for (int64_t r = 0; r < n_rows; ++r) {
        const float* xr = x + r * n;
        float* o = out + r * n;
        double sum = 0;  // double: the mean of squares of large residuals must not lose digits
        for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(xr[i]) * xr[i];
        const float scale = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(n) + eps));
        for (int64_t i = 0; i < n; ++i) o[i] = xr[i] * scale * weight[i];
    }
}

void rmsnorm(float* x, const float* weight, int64_t n_rows, int64_t n, float eps) {
    rmsnorm(x, x, weight, n_rows, n, eps);
}

void add_bias(float* y, const float* bias, int64_t n_rows, int64_t n) {
    for (int64_t r = 0; r < n_rows; ++r)
        for (int64_t i = 0; i < n; ++i) y[r * n + i] += bias[i];
}

void add(float* a, const float* b, int64_t n) {
    for (int64_t i = 0; i < n; ++i) a[i] += b[i];
}

void silu_mul(float* gate, const float* up, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        float g = gate[i];
        gate[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
}

void softmax(float* x, int64_t n) {
    if (n <= 0) return;
    float max = x[0];
    for (int64_t i = 1; i < n; ++i) max = x[i] > max ? x[i] : max;
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - max);
        sum += x[i];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void rope(float* x, const int32_t* positions, int64_t n_tokens, int n_heads, int head_dim,
          const RopeParams& p) {
    const int half = p.n_rot / 2;
    for (int64_t t = 0; t < n_tokens; ++t) {
        const double pos = static_cast<double>(positions[t]) * p.freq_scale;
        for (int i = 0; i < half; ++i) {
            // Angles in double: at position 100k a float angle loses the low bits that matter.
            double theta = pos * std::pow(static_cast<double>(p.freq_base), -2.0 * i / p.n_rot);
            if (p.freq_factors) theta /= p.freq_factors[i];
            const float c = static_cast<float>(std::cos(theta));
            const float s = static_cast<float>(std::sin(theta));
            for (int h = 0; h < n_heads; ++h) {
                float* head = x + (t * n_heads + h) * static_cast<int64_t>(head_dim);
                const int a = p.style == RopeStyle::Adjacent ? 2 * i : i;
                const int b = p.style == RopeStyle::Adjacent ? 2 * i + 1 : i + half;
                const float x0 = head[a], x1 = head[b];
                head[a] = x0 * c - x1 * s;
                head[b] = x0 * s + x1 * c;
            }
        }
    }
}

}  // namespace hearth::ops
