#include "sample/logprobs.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"

namespace hearth {

TokenLogprob token_logprob(std::span<const float> logits, int32_t token, int n_top) {
    if (token < 0 || static_cast<size_t>(token) >= logits.size())
        fail("logprobs: token {} is outside the {} logits", token, logits.size());
    if (n_top < 0) fail("logprobs: the number of alternatives must be >= 0 (got {})", n_top);
    constexpr float kImpossible = -std::numeric_limits<float>::infinity();
    float max = kImpossible;
    for (float x : logits)
        if (std::isfinite(x)) max = std::max(max, x);
    double sum = 0;
    for (float x : logits)
        if (std::isfinite(x)) sum += std::exp(double(x) - max);
    const double log_z = double(max) + std::log(sum);  // -inf when no logit is finite
    auto logprob = [&](int32_t id) {
        const float x = logits[size_t(id)];
        return std::isfinite(x) && std::isfinite(log_z) ? float(double(x) - log_z) : kImpossible;
    };

    TokenLogprob out;
    out.token = token;
    out.logprob = logprob(token);
    // The n_top best by logit, in one pass with a small sorted list (n_top is at most ~20).
    const size_t k = std::min(static_cast<size_t>(n_top), logits.size());
    std::vector<int32_t> best;
    best.reserve(k + 1);
    auto better = [&](int32_t a, int32_t b) {
        const float la = std::isfinite(logits[size_t(a)]) ? logits[size_t(a)] : kImpossible;
        const float lb = std::isfinite(logits[size_t(b)]) ? logits[size_t(b)] : kImpossible;
        return la > lb || (la == lb && a < b);
    };
    for (int32_t id = 0; k > 0 && id < int32_t(logits.size()); ++id) {
        if (best.size() == k && !better(id, best.back())) continue;
        best.insert(std::upper_bound(best.begin(), best.end(), id, better), id);
        if (best.size() > k) best.pop_back();
    }
    for (int32_t id : best) out.top.emplace_back(id, logprob(id));
    return out;
}

}  // namespace hearth
