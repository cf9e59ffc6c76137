// Log-probabilities of sampled tokens (sample/logprobs.h): the log-softmax against a direct
// computation, the alternatives in order, and non-finite logits.
#include "sample/logprobs.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"

namespace hearth {
namespace {

TEST(TokenLogprob, IsTheLogSoftmaxWithTheBestAlternativesFirst) {
    std::mt19937 rng(5);
    std::normal_distribution<float> dist(0.0f, 4.0f);
    std::vector<float> logits(1000);
    for (float& x : logits) x = dist(rng);
    double z = 0;
    for (float x : logits) z += std::exp(double(x));
    for (int32_t token : {0, 17, 999}) {
        const TokenLogprob lp = token_logprob(logits, token, 5);
        EXPECT_EQ(lp.token, token);
        EXPECT_NEAR(lp.logprob, double(logits[size_t(token)]) - std::log(z), 1e-4);
        ASSERT_EQ(lp.top.size(), 5u);
        // The five largest logits, in order, each with its own log-probability.
        std::vector<int32_t> order(logits.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = int32_t(i);
        std::partial_sort(order.begin(), order.begin() + 5, order.end(),
                          [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)]; });
        for (size_t i = 0; i < 5; ++i) {
            EXPECT_EQ(lp.top[i].first, order[i]);
            EXPECT_NEAR(lp.top[i].second, double(logits[size_t(order[i])]) - std::log(z), 1e-4);
        }
    }
    EXPECT_TRUE(token_logprob(logits, 3, 0).top.empty());
    EXPECT_EQ(token_logprob(logits, 3, 5000).top.size(), logits.size());  // capped at the vocabulary
}

TEST(TokenLogprob, NonFiniteLogitsAreImpossibleTokens) {
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<float> logits = {0.0f, -inf, std::nanf(""), 0.0f};
    const TokenLogprob lp = token_logprob(logits, 1, 4);
    EXPECT_EQ(lp.logprob, -inf);
    EXPECT_NEAR(token_logprob(logits, 0, 0).logprob, std::log(0.5), 1e-6);
    ASSERT_EQ(lp.top.size(), 4u);
    EXPECT_EQ(lp.top[0].first, 0);  // ties in id order
    EXPECT_EQ(lp.top[1].first, 3);
    EXPECT_EQ(lp.top[2].second, -inf);
    // No finite logit at all: every token impossible, no NaN.
    const std::vector<float> none = {-inf, -inf};
    EXPECT_EQ(token_logprob(none, 0, 1).logprob, -inf);
}

TEST(TokenLogprob, BadArgumentsAreErrors) {
    const std::vector<float> logits = {1.0f, 2.0f};
    EXPECT_THROW(token_logprob(logits, 2, 1), Error);
    EXPECT_THROW(token_logprob(logits, -1, 1), Error);
    EXPECT_THROW(token_logprob(logits, 0, -1), Error);
}

}  // namespace
}  // namespace hearth
