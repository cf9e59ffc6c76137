// The recurrent-layer ops (Qwen3.5's gated DeltaNet) against float64 references written
// straight from the formulas, and the property that makes a recurrent layer usable in a
// session: one call over T tokens equals any split of them into calls, state carried between.
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/thread_pool.h"
#include "ops/ops.h"

namespace hearth {
namespace {

std::vector<float> randn(size_t n, std::mt19937& rng, float sd = 1.0f) {
    std::normal_distribution<float> normal(0.0f, sd);
    std::vector<float> v(n);
    for (float& x : v) x = normal(rng);
    return v;
}

// ---- causal_conv1d ----

TEST(OpsCausalConv, MatchesTheSumOverPastInputs) {
    std::mt19937 rng(1);
    const int64_t T = 7, C = 5;
    const int K = 4;
    const std::vector<float> in = randn(T * C, rng), w = randn(C * K, rng);
    std::vector<float> state((K - 1) * C, 0.0f), out(T * C);
    ops::causal_conv1d(in.data(), T, C, w.data(), K, state.data(), out.data());
    for (int64_t t = 0; t < T; ++t)
        for (int64_t c = 0; c < C; ++c) {
            double want = 0;
            for (int j = 0; j < K; ++j) {
                const int64_t s = t - (K - 1) + j;  // zero before the first token
                if (s >= 0) want += double{w[c * K + j]} * in[s * C + c];
            }
            EXPECT_NEAR(out[t * C + c], want, 1e-5) << "t " << t << " c " << c;
        }
    // The state holds the last K−1 inputs, oldest first.
    for (int64_t i = 0; i < (K - 1) * C; ++i) EXPECT_EQ(state[i], in[(T - (K - 1)) * C + i]);
}

TEST(OpsCausalConv, AnySplitIntoCallsGivesTheSameOutputs) {
    std::mt19937 rng(2);
    const int64_t T = 9, C = 6;
    const int K = 4;
    const std::vector<float> in = randn(T * C, rng), w = randn(C * K, rng);
    std::vector<float> state((K - 1) * C, 0.0f), whole(T * C);
    ops::causal_conv1d(in.data(), T, C, w.data(), K, state.data(), whole.data());
    const std::vector<float> final_state = state;
    for (const std::vector<int64_t>& split : {std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 1, 1},
                                              std::vector<int64_t>{2, 5, 2}, std::vector<int64_t>{4, 1, 4}}) {
        std::fill(state.begin(), state.end(), 0.0f);
        std::vector<float> out(T * C);
        int64_t t = 0;
        for (int64_t n : split) {
            ops::causal_conv1d(in.data() + t * C, n, C, w.data(), K, state.data(), out.data() + t * C);
            t += n;
        }
        EXPECT_EQ(out, whole);
        EXPECT_EQ(state, final_state);
    }
    EXPECT_THROW(ops::causal_conv1d(in.data(), T, C, w.data(), 0, state.data(), whole.data()), Error);
}

// ---- l2_normalize ----

TEST(OpsL2Normalize, EachRunHasUnitLength) {
    std::mt19937 rng(3);
    std::vector<float> x = randn(3 * 8, rng, 4.0f);
    ops::l2_normalize(x.data(), 3, 8, 1e-6f);
    for (int r = 0; r < 3; ++r) {
        double sum = 0;
        for (int i = 0; i < 8; ++i) sum += double{x[r * 8 + i]} * x[r * 8 + i];
        EXPECT_NEAR(sum, 1.0, 1e-5);
    }
    std::vector<float> zero(8, 0.0f);
    ops::l2_normalize(zero.data(), 1, 8, 1e-6f);  // eps keeps an all-zero head finite
    for (float v : zero) EXPECT_EQ(v, 0.0f);
}

// ---- gated_delta_net ----

struct DeltaInputs {
    std::vector<float> q, k, v, g, beta;
};

DeltaInputs delta_inputs(const ops::DeltaNetShape& s, int64_t T, std::mt19937& rng) {
    DeltaInputs in;
    in.q = randn(T * s.n_k_heads * s.k_dim, rng);
    in.k = randn(T * s.n_k_heads * s.k_dim, rng);
    in.v = randn(T * s.n_v_heads * s.v_dim, rng);
    // As the model feeds them: unit-length q/k heads, log decays below 0, β in (0, 1).
    ops::l2_normalize(in.q.data(), T * s.n_k_heads, s.k_dim, 1e-6f);
    ops::l2_normalize(in.k.data(), T * s.n_k_heads, s.k_dim, 1e-6f);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (int64_t i = 0; i < T * s.n_v_heads; ++i) {
        in.g.push_back(-2.0f * u(rng));
        in.beta.push_back(u(rng));
    }
    return in;
}

// S ← e^g S; δ = β (v − Sᵀk); S ← S + k δᵀ; o = scale · Sᵀq, in float64, per value head h with
// key head h mod n_k_heads.
std::vector<double> delta_reference(const ops::DeltaNetShape& s, const DeltaInputs& in, int64_t T,
                                    std::vector<double>& S) {
    const int dk = s.k_dim, dv = s.v_dim;
    std::vector<double> out(static_cast<size_t>(T * s.n_v_heads * dv));
    for (int h = 0; h < s.n_v_heads; ++h) {
        const int kh = h % s.n_k_heads;
        double* Sh = &S[static_cast<size_t>(h) * dk * dv];
        for (int64_t t = 0; t < T; ++t) {
            const float* q = &in.q[(t * s.n_k_heads + kh) * dk];
            const float* k = &in.k[(t * s.n_k_heads + kh) * dk];
            const float* v = &in.v[(t * s.n_v_heads + h) * dv];
            const double decay = std::exp(double{in.g[t * s.n_v_heads + h]});
            for (int i = 0; i < dk * dv; ++i) Sh[i] *= decay;
            for (int c = 0; c < dv; ++c) {
                double sk = 0;
                for (int a = 0; a < dk; ++a) sk += Sh[a * dv + c] * k[a];
                const double delta = in.beta[t * s.n_v_heads + h] * (v[c] - sk);
                for (int a = 0; a < dk; ++a) Sh[a * dv + c] += k[a] * delta;
            }
            for (int c = 0; c < dv; ++c) {
                double o = 0;
                for (int a = 0; a < dk; ++a) o += Sh[a * dv + c] * q[a];
                out[(t * s.n_v_heads + h) * dv + c] = s.scale * o;
            }
        }
    }
    return out;
}

TEST(OpsGatedDeltaNet, MatchesTheFloat64RecurrenceWithTiledHeads) {
    ops::DeltaNetShape s;
    s.n_k_heads = 2;
    s.n_v_heads = 4;  // value head h reads key head h % 2 (tiled)
    s.k_dim = 16;
    s.v_dim = 12;
    s.scale = 1.0f / std::sqrt(16.0f);
    const int64_t T = 24;
    std::mt19937 rng(4);
    const DeltaInputs in = delta_inputs(s, T, rng);
    std::vector<double> S_ref(static_cast<size_t>(s.n_v_heads) * s.k_dim * s.v_dim, 0.0);
    const std::vector<double> want = delta_reference(s, in, T, S_ref);
    for (int threads : {1, 3}) {
        ThreadPool pool(threads);
        ops::Context ctx{&pool};
        std::vector<float> state(S_ref.size(), 0.0f), out(want.size());
        ops::gated_delta_net(ctx, in.q.data(), in.k.data(), in.v.data(), in.g.data(), in.beta.data(), T, s,
                             state.data(), out.data());
        for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(out[i], want[i], 1e-4) << "output " << i;
        for (size_t i = 0; i < S_ref.size(); ++i) ASSERT_NEAR(state[i], S_ref[i], 1e-4) << "state " << i;
    }
}

TEST(OpsGatedDeltaNet, OneCallEqualsTokenByTokenAndChunks) {
    ops::DeltaNetShape s;
    s.n_k_heads = 1;
    s.n_v_heads = 3;
    s.k_dim = 8;
    s.v_dim = 8;
    s.scale = 0.5f;
    const int64_t T = 10;
    std::mt19937 rng(5);
    const DeltaInputs in = delta_inputs(s, T, rng);
    const size_t state_size = static_cast<size_t>(s.n_v_heads) * s.k_dim * s.v_dim;
    const int64_t qs = s.n_k_heads * s.k_dim, vs = s.n_v_heads * s.v_dim;
    ops::Context ctx;
    std::vector<float> state(state_size, 0.0f), whole(static_cast<size_t>(T * vs));
    ops::gated_delta_net(ctx, in.q.data(), in.k.data(), in.v.data(), in.g.data(), in.beta.data(), T, s, state.data(),
                         whole.data());
    const std::vector<float> final_state = state;
    for (const std::vector<int64_t>& split :
         {std::vector<int64_t>(T, 1), std::vector<int64_t>{3, 3, 4}, std::vector<int64_t>{7, 3}}) {
        std::fill(state.begin(), state.end(), 0.0f);
        std::vector<float> out(whole.size());
        int64_t t = 0;
        for (int64_t n : split) {
            ops::gated_delta_net(ctx, &in.q[t * qs], &in.k[t * qs], &in.v[t * vs], &in.g[t * s.n_v_heads],
                                 &in.beta[t * s.n_v_heads], n, s, state.data(), &out[t * vs]);
            t += n;
        }
        EXPECT_EQ(out, whole);  // the same operations in the same order: bit for bit
        EXPECT_EQ(state, final_state);
    }
}

TEST(OpsGatedDeltaNet, ABadShapeIsAnError) {
    ops::Context ctx;
    ops::DeltaNetShape s;  // all zero
    float x = 0;
    EXPECT_THROW(ops::gated_delta_net(ctx, &x, &x, &x, &x, &x, 1, s, &x, &x), Error);
}

}  // namespace
}  // namespace hearth
