#pragma once
// Log-probabilities of sampled tokens, for the APIs that report them (OpenAI `logprobs`).
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace hearth {

// A sampled token's log-probability under the model — the log-softmax of its logits, before
// temperature, truncation and any grammar, as OpenAI reports it — and the most likely tokens.
struct TokenLogprob {
    int32_t token = 0;
    float logprob = 0;
    std::vector<std::pair<int32_t, float>> top;  // (token, log-probability), most likely first
};

// n_top: how many alternatives (0 for none). Non-finite logits count as impossible tokens.
// Throws hearth::Error for a token outside the logits or n_top < 0.
TokenLogprob token_logprob(std::span<const float> logits, int32_t token, int n_top);

}  // namespace hearth
