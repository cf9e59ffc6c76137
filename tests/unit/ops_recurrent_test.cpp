// The recurrent-layer ops (Qwen3.5's gated DeltaNet) against float64 references written
// straight from the formulas, and the property that makes a recurrent layer usable in a
// session: one call over T tokens equals any split of them into calls, state carried between.
// The delta rule runs token by token or in chunks, on every CPU path: each form on each path
// is checked against the float64 recurrence and against the scalar token loop (the reference).
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/thread_pool.h"
#include "ops/cpu/dispatch.h"
#include "ops/cpu/kernels.h"
#include "ops/ops.h"
#include "scoped_cpu_path.h"

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
    s.chunk = 1;  // token by token: the same operations in the same order under any split
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
    s.n_k_heads = s.n_v_heads = s.k_dim = s.v_dim = 1;
    for (int chunk : {-1, ops::kDeltaChunkMax + 1}) {
        s.chunk = chunk;
        try {
            ops::gated_delta_net(ctx, &x, &x, &x, &x, &x, 1, s, &x, &x);
            FAIL() << "expected an error for chunk " << chunk;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("chunk " + std::to_string(chunk)), std::string::npos) << e.what();
        }
    }
}

// ---- the chunked form and the SIMD kernels ----

// Runs the rule over T tokens in calls of `calls` sizes (summing to T) from `state`.
std::vector<float> run_delta(const ops::DeltaNetShape& s, const DeltaInputs& in, const std::vector<int64_t>& calls,
                             std::vector<float>& state, ThreadPool* pool) {
    ops::Context ctx{pool};
    const int64_t qs = s.n_k_heads * s.k_dim, vs = s.n_v_heads * s.v_dim;
    int64_t T = 0;
    for (int64_t n : calls) T += n;
    std::vector<float> out(static_cast<size_t>(T * vs));
    int64_t t = 0;
    for (int64_t n : calls) {
        ops::gated_delta_net(ctx, &in.q[t * qs], &in.k[t * qs], &in.v[t * vs], &in.g[t * s.n_v_heads],
                             &in.beta[t * s.n_v_heads], n, s, state.data(), &out[t * vs]);
        t += n;
    }
    return out;
}

// max |got − want| / (1 + |want|)
template <class A, class B>
double max_rel_diff(const std::vector<A>& got, const std::vector<B>& want) {
    double m = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double w = static_cast<double>(want[i]);
        m = std::max(m, std::fabs(static_cast<double>(got[i]) - w) / (1.0 + std::fabs(w)));
    }
    return m;
}

struct DeltaCase {
    int n_k_heads, n_v_heads, k_dim, v_dim;
    float g_min;  // log decays drawn from [g_min, 0]
};

// Shapes with value widths that are and are not multiples of the vector widths (8, 16, 32
// columns), chunk sizes that do and do not divide the calls, a state carried from a first call
// into a second (and a non-zero state to start from), and decays strong enough that a chunk's
// cumulative decay leaves the float range.
TEST(OpsGatedDeltaNet, ChunkedAndTokenByTokenAgreeOnEveryPath) {
    const DeltaCase cases[] = {{2, 4, 16, 12, -2.0f}, {1, 3, 8, 40, -1.0f}, {2, 2, 32, 32, -0.5f},
                               {1, 2, 20, 37, -3.0f}, {2, 4, 64, 128, -0.2f}, {1, 1, 24, 16, -40.0f}};
    const std::vector<std::vector<int64_t>> splits = {{50}, {23, 27}, {1, 48, 1}};
    std::mt19937 rng(6);
    ThreadPool pool(2);
    for (const DeltaCase& dc : cases) {
        ops::DeltaNetShape s;
        s.n_k_heads = dc.n_k_heads;
        s.n_v_heads = dc.n_v_heads;
        s.k_dim = dc.k_dim;
        s.v_dim = dc.v_dim;
        s.scale = 1.0f / std::sqrt(static_cast<float>(dc.k_dim));
        const int64_t T = 50;
        DeltaInputs in = delta_inputs(s, T, rng);
        std::uniform_real_distribution<float> u(dc.g_min, 0.0f);
        for (float& g : in.g) g = u(rng);
        const std::vector<float> state0 = randn(static_cast<size_t>(s.n_v_heads) * s.k_dim * s.v_dim, rng, 0.3f);
        std::vector<double> S_ref(state0.begin(), state0.end());
        const std::vector<double> want = delta_reference(s, in, T, S_ref);

        // The reference of the SIMD kernels: the scalar token loop.
        std::vector<float> scalar_state = state0;
        std::vector<float> scalar_out;
        {
            test::ScopedCpuPath scoped(ops::CpuPath::Scalar);
            s.chunk = 1;
            scalar_out = run_delta(s, in, {T}, scalar_state, nullptr);
        }
        EXPECT_LE(max_rel_diff(scalar_out, want), 1e-5);

        for (ops::CpuPath path : ops::supported_cpu_paths()) {
            test::ScopedCpuPath scoped(path);
            for (int chunk : {1, 4, 7, 16, 64}) {
                for (const std::vector<int64_t>& split : splits) {
                    SCOPED_TRACE(std::string("path ") + ops::cpu_path_name(path) + ", dims " +
                                 std::to_string(dc.k_dim) + "x" + std::to_string(dc.v_dim) + ", chunk " +
                                 std::to_string(chunk) + ", calls " + std::to_string(split.size()));
                    s.chunk = chunk;
                    std::vector<float> state = state0;
                    const std::vector<float> out = run_delta(s, in, split, state, &pool);
                    EXPECT_LE(max_rel_diff(out, want), 2e-5);
                    EXPECT_LE(max_rel_diff(state, S_ref), 2e-5);
                    EXPECT_LE(max_rel_diff(out, scalar_out), 2e-5);
                    EXPECT_LE(max_rel_diff(state, scalar_state), 2e-5);
                    for (float x : out) ASSERT_TRUE(std::isfinite(x));
                }
            }
        }
    }
}

// The default walks short calls token by token and long ones in chunks of kDeltaChunk.
TEST(OpsGatedDeltaNet, TheDefaultFormMatchesThePinnedOnes) {
    ops::DeltaNetShape s;
    s.n_k_heads = 1;
    s.n_v_heads = 2;
    s.k_dim = s.v_dim = 16;
    s.scale = 0.25f;
    std::mt19937 rng(7);
    for (int64_t T : {int64_t{ops::kDeltaChunkMin - 1}, int64_t{ops::kDeltaChunk + 5}}) {
        const DeltaInputs in = delta_inputs(s, T, rng);
        const size_t state_size = static_cast<size_t>(s.n_v_heads) * s.k_dim * s.v_dim;
        std::vector<float> state(state_size, 0.0f), pinned_state(state_size, 0.0f);
        s.chunk = 0;
        const std::vector<float> automatic = run_delta(s, in, {T}, state, nullptr);
        s.chunk = T < ops::kDeltaChunkMin ? 1 : ops::kDeltaChunk;
        const std::vector<float> pinned = run_delta(s, in, {T}, pinned_state, nullptr);
        EXPECT_EQ(automatic, pinned) << "T " << T;
        EXPECT_EQ(state, pinned_state) << "T " << T;
    }
}

// The SIMD paths' small matrix product against the reference loop, on shapes with row and
// column tails and strided operands; it accumulates into c.
TEST(OpsGatedDeltaNet, SimdSmallGemmMatchesTheLoop) {
    std::mt19937 rng(8);
    for (ops::CpuPath path : ops::supported_cpu_paths()) {
        if (path == ops::CpuPath::Scalar) continue;
        test::ScopedCpuPath scoped(path);
        const ops::cpu::KernelTable* table = ops::cpu::active_kernel_table();
        ASSERT_NE(table, nullptr);
        ASSERT_NE(table->small_gemm_f32, nullptr);
        ASSERT_NE(table->delta_tokens, nullptr);
        for (int64_t m : {1, 3, 4, 9})
            for (int64_t n : {1, 7, 8, 16, 33, 64, 70})
                for (int64_t k : {0, 1, 5, 32}) {
                    const int64_t lda = k + 3, ldb = n + 5, ldc = n + 2;
                    const std::vector<float> a = randn(static_cast<size_t>(m * lda), rng);
                    const std::vector<float> b = randn(static_cast<size_t>(std::max<int64_t>(k, 1) * ldb), rng);
                    std::vector<float> c = randn(static_cast<size_t>(m * ldc), rng);
                    std::vector<double> want(c.begin(), c.end());
                    for (int64_t i = 0; i < m; ++i)
                        for (int64_t j = 0; j < n; ++j)
                            for (int64_t p = 0; p < k; ++p) want[i * ldc + j] += double{a[i * lda + p]} * b[p * ldb + j];
                    table->small_gemm_f32(m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc);
                    EXPECT_LE(max_rel_diff(c, want), 1e-5) << ops::cpu_path_name(path) << " " << m << "x" << n << "x" << k;
                }
    }
}

}  // namespace
}  // namespace hearth
