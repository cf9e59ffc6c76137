// Norms, activations, softmax, rotary embeddings: the cheap per-element operations.
#include <algorithm>
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
        if (weight)
            for (int64_t i = 0; i < n; ++i) o[i] = xr[i] * scale * weight[i];
        else
            for (int64_t i = 0; i < n; ++i) o[i] = xr[i] * scale;
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

void silu(float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-x[i]));
}

void sigmoid_mul(float* x, const float* gate, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] *= 1.0f / (1.0f + std::exp(-gate[i]));
}

void gelu_tanh_mul(float* gate, const float* up, int64_t n) {
    const float k = std::sqrt(2.0f / static_cast<float>(M_PI));
    for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i];
        gate[i] = 0.5f * g * (1.0f + std::tanh(k * (g + 0.044715f * g * g * g))) * up[i];
    }
}

void softcap(float* x, float cap, int64_t n) {
    const float inv = 1.0f / cap;
    for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] * inv);
}

void swiglu_oai(float* gate, const float* up, int64_t n, float alpha, float limit) {
    for (int64_t i = 0; i < n; ++i) {
        const float g = std::min(gate[i], limit);
        const float u = std::clamp(up[i], -limit, limit);
        gate[i] = g / (1.0f + std::exp(-alpha * g)) * (u + 1.0f);
    }
}

void scale(float* x, float s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] *= s;
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

namespace {

// YaRN's ramp bounds: the dims whose wavelength turns `n_turns` times over the original context.
double yarn_corr_dim(int n_rot, int n_ctx_orig, double n_turns, double base) {
    return n_rot * std::log(n_ctx_orig / (n_turns * 2 * M_PI)) / (2 * std::log(base));
}

}  // namespace

void rope(float* x, const int32_t* positions, int64_t n_tokens, int n_heads, int head_dim,
          const RopeParams& p) {
    const int half = p.n_rot / 2;
    const bool yarn = p.yarn_ext_factor != 0.0f;
    double low = 0, high = 0, mscale = p.attn_factor;
    if (yarn) {
        low = std::max(0.0, std::floor(yarn_corr_dim(p.n_rot, p.yarn_n_ctx_orig, p.yarn_beta_fast, p.freq_base)));
        high = std::min(p.n_rot - 1.0,
                        std::ceil(yarn_corr_dim(p.n_rot, p.yarn_n_ctx_orig, p.yarn_beta_slow, p.freq_base)));
        mscale *= 1.0 + 0.1 * std::log(1.0 / p.freq_scale);
    }
    for (int64_t t = 0; t < n_tokens; ++t) {
        const double pos = static_cast<double>(positions[t]);
        for (int i = 0; i < half; ++i) {
            // Angles in double: at position 100k a float angle loses the low bits that matter.
            double extrap = pos * std::pow(static_cast<double>(p.freq_base), -2.0 * i / p.n_rot);
            if (p.freq_factors) extrap /= p.freq_factors[i];
            const double interp = extrap * p.freq_scale;
            double theta = interp;
            if (yarn) {
                const double y = (i - low) / std::max(0.001, high - low);
                const double ramp = (1.0 - std::min(1.0, std::max(0.0, y))) * p.yarn_ext_factor;
                theta = interp * (1 - ramp) + extrap * ramp;
            }
            const float c = static_cast<float>(std::cos(theta) * mscale);
            const float s = static_cast<float>(std::sin(theta) * mscale);
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

namespace hearth::ops {

void softmax_with_sink(float* x, int64_t n, float sink) {
    float max = sink;
    for (int64_t i = 0; i < n; ++i) max = x[i] > max ? x[i] : max;
    double sum = std::exp(static_cast<double>(sink - max));
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - max);
        sum += x[i];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace hearth::ops
