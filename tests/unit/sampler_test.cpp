#include "sample/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"

namespace hearth {
namespace {

SamplingParams plain(float temperature, uint64_t seed = 1) {
    SamplingParams p;
    p.temperature = temperature;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = seed;
    return p;
}

std::vector<float> log_probs(const std::vector<double>& probs) {
    std::vector<float> logits;
    for (double p : probs) logits.push_back(float(std::log(p)));
    return logits;
}

std::vector<float> random_logits(size_t n, uint64_t seed, float scale = 4.0f) {
    std::mt19937_64 rng(seed);
    std::vector<float> logits(n);
    for (float& x : logits) x = float(double(rng() >> 11) * 0x1.0p-53 * 2.0 - 1.0) * scale;
    return logits;
}

int32_t argmax(const std::vector<float>& logits) {
    return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

// Draw counts per token.
std::vector<int> histogram(Sampler& sampler, const std::vector<float>& logits, int draws) {
    std::vector<int> counts(logits.size());
    for (int i = 0; i < draws; ++i) ++counts[size_t(sampler.sample(logits))];
    return counts;
}

TEST(Sampler, DefaultsMatchLlamaCpp) {
    SamplingParams p;
    EXPECT_FLOAT_EQ(p.temperature, 0.8f);
    EXPECT_EQ(p.top_k, 40);
    EXPECT_FLOAT_EQ(p.top_p, 0.95f);
    EXPECT_FLOAT_EQ(p.min_p, 0.05f);
    EXPECT_FLOAT_EQ(p.repeat_penalty, 1.0f);
    EXPECT_EQ(p.repeat_last_n, 64);
    EXPECT_EQ(p.seed, SamplingParams::kRandomSeed);
    EXPECT_NO_THROW(p.validate());
}

TEST(Sampler, GreedyPicksArgmaxAndLowestIdOnTies) {
    Sampler greedy(plain(0.0f), 6);
    EXPECT_EQ(greedy.sample(std::vector<float>{0.1f, -2.0f, 5.0f, 4.9f, 0.0f, 1.0f}), 2);
    EXPECT_EQ(greedy.sample(std::vector<float>{1.0f, 3.0f, 3.0f, 2.0f, 3.0f, -1.0f}), 1);
    EXPECT_EQ(greedy.sample(std::vector<float>{7.0f, 7.0f, 7.0f, 7.0f, 7.0f, 7.0f}), 0);
    // Longer rows (the argmax runs in lanes of 16 plus a tail).
    std::vector<float> row(1005, -3.0f);
    Sampler wide(plain(0.0f), 1005);
    row[1004] = 2.0f;
    EXPECT_EQ(wide.sample(row), 1004);
    row[1003] = 2.0f;
    EXPECT_EQ(wide.sample(row), 1003);
    row[17] = 2.0f;
    row[5] = 2.0f;
    EXPECT_EQ(wide.sample(row), 5);
    // The full default chain at temperature 0 is greedy too.
    SamplingParams defaults;
    defaults.temperature = 0.0f;
    Sampler chain(defaults, 6);
    EXPECT_EQ(chain.sample(std::vector<float>{-1.0f, 2.0f, 0.5f, 2.0f, 2.0f, 1.9f}), 1);
}

TEST(Sampler, NaNAndInfinityAreHandled) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    Sampler greedy(plain(0.0f), 4);
    EXPECT_EQ(greedy.sample(std::vector<float>{nan, 1.0f, nan, 0.5f}), 1);
    SamplingParams p;
    p.seed = 3;
    Sampler chain(p, 4);
    for (int i = 0; i < 200; ++i) {
        EXPECT_EQ(chain.sample(std::vector<float>{nan, 1.0f, nan, -inf}), 1);
        EXPECT_EQ(chain.sample(std::vector<float>{0.0f, 1.0f, inf, 30.0f}), 2);
        EXPECT_EQ(chain.sample(std::vector<float>{-inf, -inf, -inf, -inf}), 0);
    }
}

TEST(Sampler, TopKOneEqualsGreedyAtAnyTemperature) {
    for (uint64_t trial = 0; trial < 20; ++trial) {
        std::vector<float> logits = random_logits(1000, trial);
        if (trial % 2 == 1) {  // plant a tie for the maximum
            const int32_t m = argmax(logits);
            logits[size_t(m + 1 < 1000 ? m + 1 : 0)] = logits[size_t(m)];
        }
        const int32_t expected = argmax(logits);
        for (float temperature : {0.0f, 0.1f, 1.0f, 5.0f, 100.0f}) {
            SamplingParams p = plain(temperature, trial);
            p.top_k = 1;
            Sampler sampler(p, 1000);
            for (int i = 0; i < 20; ++i)
                ASSERT_EQ(sampler.sample(logits), expected) << "temperature " << temperature;
        }
    }
}

TEST(Sampler, SameSeedSameSequenceDifferentSeedsDiffer) {
    const std::vector<float> logits = random_logits(5000, 42, 1.0f);
    auto run = [&](uint64_t seed) {
        SamplingParams p;
        p.top_k = 0;
        p.min_p = 0.0f;
        p.temperature = 1.0f;
        p.seed = seed;
        Sampler sampler(p, 5000);
        std::vector<int32_t> out;
        for (int i = 0; i < 100; ++i) out.push_back(sampler.sample(logits));
        return out;
    };
    EXPECT_EQ(run(1234), run(1234));
    EXPECT_NE(run(1234), run(1235));

    SamplingParams p = plain(1.0f, 99);
    Sampler sampler(p, 5000);
    std::vector<int32_t> first;
    for (int i = 0; i < 50; ++i) first.push_back(sampler.sample(logits));
    sampler.reset();
    std::vector<int32_t> again;
    for (int i = 0; i < 50; ++i) again.push_back(sampler.sample(logits));
    EXPECT_EQ(first, again) << "reset() reseeds";
}

TEST(Sampler, RandomSeedIsResolvedAndReported) {
    Sampler a(SamplingParams{}, 10);
    Sampler b(SamplingParams{}, 10);
    EXPECT_NE(a.seed(), SamplingParams::kRandomSeed);
    EXPECT_NE(a.seed(), b.seed());
    Sampler fixed(plain(1.0f, 7), 10);
    EXPECT_EQ(fixed.seed(), 7u);
}

TEST(Sampler, TopPNeverDrawsOutsideTheNucleus) {
    // Probabilities 0.5, 0.3, 0.15, 0.05: a nucleus of 0.75 needs {0, 1}.
    SamplingParams p = plain(1.0f, 5);
    p.top_p = 0.75f;
    Sampler sampler(p, 4);
    const std::vector<int> counts = histogram(sampler, log_probs({0.5, 0.3, 0.15, 0.05}), 10000);
    EXPECT_EQ(counts[2], 0);
    EXPECT_EQ(counts[3], 0);
    EXPECT_GT(counts[0], 0);
    EXPECT_GT(counts[1], 0);
    // Renormalized inside the nucleus: 0.5 / 0.8 = 0.625.
    EXPECT_NEAR(counts[0] / 10000.0, 0.625, 0.03);
}

TEST(Sampler, TopPOnLargeVocabularyWithoutTopK) {
    // 150k tokens, no top-k: exercises the partial sort of the nucleus.
    const size_t n = 150000;
    const std::vector<float> logits = random_logits(n, 11, 12.0f);
    const float top_p = 0.6f;
    std::vector<int32_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        return logits[size_t(a)] > logits[size_t(b)] || (logits[size_t(a)] == logits[size_t(b)] && a < b);
    });
    const double max_logit = logits[size_t(order[0])];
    double z = 0;
    for (float x : logits) z += std::exp(double(x) - max_logit);
    std::set<int32_t> nucleus;
    double cum = 0;
    for (int32_t id : order) {
        nucleus.insert(id);
        cum += std::exp(double(logits[size_t(id)]) - max_logit) / z;
        if (cum >= top_p) break;
    }
    ASSERT_GT(nucleus.size(), 300u) << "the test should need more than the first partial sort";
    ASSERT_LT(nucleus.size(), n / 2);

    SamplingParams p = plain(1.0f, 8);
    p.top_p = top_p;
    Sampler sampler(p, int32_t(n));
    for (int i = 0; i < 300; ++i) {
        const int32_t t = sampler.sample(logits);
        ASSERT_TRUE(nucleus.count(t)) << "token " << t << " is outside the nucleus";
    }
}

TEST(Sampler, MinPNeverDrawsBelowTheThreshold) {
    // min_p 0.1 of the max 0.5 drops everything under 0.05.
    SamplingParams p = plain(1.0f, 6);
    p.min_p = 0.1f;
    Sampler sampler(p, 5);
    const std::vector<int> counts =
        histogram(sampler, log_probs({0.5, 0.3, 0.15, 0.04, 0.01}), 10000);
    EXPECT_EQ(counts[3], 0);
    EXPECT_EQ(counts[4], 0);
    EXPECT_GT(counts[0], 0);
    EXPECT_GT(counts[1], 0);
    EXPECT_GT(counts[2], 0);
}

TEST(Sampler, TopKNeverDrawsOutsideTheTopK) {
    const size_t n = 150000;
    const std::vector<float> logits = random_logits(n, 21, 2.0f);
    std::vector<int32_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)]; });
    const std::set<int32_t> top(order.begin(), order.begin() + 40);
    SamplingParams p = plain(1.0f, 9);
    p.top_k = 40;
    Sampler sampler(p, int32_t(n));
    std::set<int32_t> seen;
    for (int i = 0; i < 2000; ++i) {
        const int32_t t = sampler.sample(logits);
        ASSERT_TRUE(top.count(t)) << "token " << t << " is outside the top 40";
        seen.insert(t);
    }
    EXPECT_EQ(seen.size(), 40u) << "the logits are close, so every one of the 40 is drawn";
}

// The chain in llama.cpp's order on a fully sorted list: what the sampler must keep.
std::set<int32_t> reference_kept(const std::vector<float>& logits, const SamplingParams& p) {
    std::vector<int32_t> order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)]; });
    if (p.top_k > 0 && size_t(p.top_k) < order.size()) order.resize(size_t(p.top_k));
    const double max_logit = logits[size_t(order[0])];
    if (p.top_p < 1.0f) {
        double z = 0;
        for (int32_t id : order) z += std::exp(double(logits[size_t(id)]) - max_logit);
        double cum = 0;
        for (size_t i = 0; i < order.size(); ++i) {
            cum += std::exp(double(logits[size_t(order[i])]) - max_logit) / z;
            if (cum >= p.top_p) {
                order.resize(i + 1);
                break;
            }
        }
    }
    if (p.min_p > 0.0f) {
        std::erase_if(order, [&](int32_t id) {
            return double(logits[size_t(id)]) < max_logit + std::log(double(p.min_p));
        });
    }
    return {order.begin(), order.end()};
}

TEST(Sampler, ChainKeepsTheSameSetAsAReferenceInLlamaCppOrder) {
    std::mt19937_64 rng(77);
    for (int trial = 0; trial < 60; ++trial) {
        const std::vector<float> logits = random_logits(24, uint64_t(trial), 3.0f);
        SamplingParams p;
        p.seed = uint64_t(trial);
        p.temperature = 3.0f;
        p.top_k = int(rng() % 6) * 6;              // 0 (off), 6 .. 30 (>= n_vocab: all)
        p.top_p = 0.3f + 0.1f * float(rng() % 8);  // 0.3 .. 1.0
        p.min_p = 0.05f * float(rng() % 5);        // 0 .. 0.2
        const std::set<int32_t> kept = reference_kept(logits, p);
        Sampler sampler(p, 24);
        std::set<int32_t> seen;
        for (int i = 0; i < 4000; ++i) {
            const int32_t t = sampler.sample(logits);
            ASSERT_TRUE(kept.count(t)) << "trial " << trial << ": token " << t << " should be cut";
            seen.insert(t);
        }
        // At temperature 3 every kept token has probability > e^-2 / 24 ≈ 0.56%.
        EXPECT_EQ(seen, kept) << "trial " << trial;
    }
}

TEST(Sampler, EmpiricalFrequenciesMatchTheDistribution) {
    const std::vector<double> probs = {0.1, 0.2, 0.3, 0.4};
    const int draws = 200000;  // standard error <= 0.0011 per frequency
    {
        Sampler sampler(plain(1.0f, 2024), 4);
        const std::vector<int> counts = histogram(sampler, log_probs(probs), draws);
        for (size_t i = 0; i < probs.size(); ++i)
            EXPECT_NEAR(counts[i] / double(draws), probs[i], 0.006) << "token " << i;
    }
    {
        // Temperature 2 flattens: p_i^(1/2), renormalized.
        Sampler sampler(plain(2.0f, 2025), 4);
        const std::vector<int> counts = histogram(sampler, log_probs(probs), draws);
        double z = 0;
        for (double p : probs) z += std::sqrt(p);
        for (size_t i = 0; i < probs.size(); ++i)
            EXPECT_NEAR(counts[i] / double(draws), std::sqrt(probs[i]) / z, 0.006) << "token " << i;
    }
}

TEST(Sampler, RepeatPenaltyChangesTheArgmax) {
    SamplingParams p = plain(0.0f);
    p.repeat_penalty = 1.1f;
    Sampler sampler(p, 4);
    const std::vector<float> positive = {2.0f, 1.9f, -1.0f, -1.1f};
    EXPECT_EQ(sampler.sample(positive), 0);
    sampler.accept(0);
    EXPECT_EQ(sampler.sample(positive), 1) << "2.0 / 1.1 < 1.9";

    sampler.reset();
    const std::vector<float> negative = {-5.0f, -5.0f, -1.0f, -1.05f};
    EXPECT_EQ(sampler.sample(negative), 2);
    sampler.accept(2);
    EXPECT_EQ(sampler.sample(negative), 3) << "-1.0 * 1.1 < -1.05";
}

TEST(Sampler, RepeatPenaltyOncePerDistinctTokenInTheWindow) {
    SamplingParams p = plain(0.0f);
    p.repeat_penalty = 1.1f;
    p.repeat_last_n = 3;
    Sampler sampler(p, 4);
    const std::vector<float> logits = {2.0f, 1.7f, 0.0f, 0.0f};
    sampler.accept(0);
    sampler.accept(0);
    sampler.accept(0);
    EXPECT_EQ(sampler.sample(logits), 0) << "2.0 / 1.1 > 1.7; 2.0 / 1.1^3 would not be";

    const std::vector<float> close = {2.0f, 1.9f, 0.0f, 0.0f};
    EXPECT_EQ(sampler.sample(close), 1);
    sampler.accept(2);
    sampler.accept(3);
    EXPECT_EQ(sampler.sample(close), 1) << "one 0 is still among the last 3";
    sampler.accept(3);
    EXPECT_EQ(sampler.sample(close), 0) << "token 0 left the window";

    SamplingParams off = p;
    off.repeat_last_n = 0;
    Sampler no_window(off, 4);
    no_window.accept(0);
    EXPECT_EQ(no_window.sample(close), 0);
}

void expect_invalid(SamplingParams p, const std::string& flag) {
    try {
        p.validate();
        ADD_FAILURE() << "expected an error naming " << flag;
    } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find(flag), std::string::npos) << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
    EXPECT_THROW(Sampler(p, 10), Error);
}

TEST(Sampler, ValidateNamesTheFlag) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    SamplingParams p;
    p.temperature = -0.5f;
    expect_invalid(p, "--temp");
    p = {};
    p.temperature = nan;
    expect_invalid(p, "--temp");
    p = {};
    p.top_k = -1;
    expect_invalid(p, "--top-k");
    for (float bad : {0.0f, -0.1f, 1.01f, nan}) {
        p = {};
        p.top_p = bad;
        expect_invalid(p, "--top-p");
    }
    for (float bad : {-0.01f, 1.5f, nan}) {
        p = {};
        p.min_p = bad;
        expect_invalid(p, "--min-p");
    }
    for (float bad : {0.0f, -1.0f, nan}) {
        p = {};
        p.repeat_penalty = bad;
        expect_invalid(p, "--repeat-penalty");
    }
    p = {};
    p.repeat_last_n = -1;
    expect_invalid(p, "--repeat-last-n");

    try {
        p = {};
        p.top_p = 1.5f;
        p.validate();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "--top-p must be in (0, 1] (1 = disabled), got 1.5");
    }

    // Edges that are allowed.
    p = {};
    p.temperature = 0.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 1.0f;
    p.repeat_last_n = 0;
    p.repeat_penalty = 0.5f;
    EXPECT_NO_THROW(p.validate());
    p.min_p = 0.0f;
    EXPECT_NO_THROW(p.validate());
}

TEST(Sampler, RejectsWrongSizesAndTokens) {
    EXPECT_THROW(Sampler(SamplingParams{}, 0), Error);
    Sampler sampler(SamplingParams{}, 4);
    EXPECT_THROW(sampler.sample(std::vector<float>{1.0f, 2.0f}), Error);
    EXPECT_THROW(sampler.accept(4), Error);
    EXPECT_THROW(sampler.accept(-1), Error);
    EXPECT_NO_THROW(sampler.accept(3));
}

}  // namespace
}  // namespace hearth
