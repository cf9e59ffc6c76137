#pragma once
// Token sampling: llama.cpp's common sampler chain, in its order and with its defaults.
//
//   repeat penalty → allowed-token mask → (temperature <= 0: argmax) → top-k → top-p → min-p
//   → temperature → draw
//
// The mask (a grammar's allowed tokens, grammar/token_constraint.h) sets every other token's
// logit to -inf before the chain, so it composes with every setting above.
//
// Draws are reproducible for a given seed on one machine: the generator is std::mt19937_64
// (fully specified by the standard), and the float conversion and the discrete draw are our
// own, so results do not depend on the standard library's distributions.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace hearth {

struct SamplingParams {
    // `seed` value meaning "pick a random seed" (llama.cpp's --seed -1). Sampler::seed() tells
    // which seed was actually used, so a run can be repeated.
    static constexpr uint64_t kRandomSeed = UINT64_MAX;

    float temperature = 0.8f;   // --temp: <= 0 means greedy (argmax)
    int top_k = 40;             // --top-k: 0 disables
    float top_p = 0.95f;        // --top-p: 1 disables
    float min_p = 0.05f;        // --min-p: 0 disables
    float repeat_penalty = 1.0f;  // --repeat-penalty: 1 disables
    int repeat_last_n = 64;     // --repeat-last-n: tokens of history penalized; 0 disables
    uint64_t seed = kRandomSeed;  // --seed

    // Throws hearth::Error naming the flag and the allowed range for any value out of range.
    void validate() const;
};

class Sampler {
public:
    // Validates `params`; n_vocab must be positive.
    Sampler(const SamplingParams& params, int32_t n_vocab);

    // Picks the next token from one row of logits (size n_vocab). Does not record it: call
    // accept() with the token that is actually appended (also for prompt tokens, so the repeat
    // penalty sees them).
    // allowed: empty, or a bitset of n_vocab bits (bit id of word id / 64) of the tokens that
    // may be picked; at least one must be set. The result is always an allowed token.
    int32_t sample(std::span<const float> logits, std::span<const uint64_t> allowed = {});
    // Appends a token to the repeat-penalty history (the last repeat_last_n are kept).
    void accept(int32_t token);
    // Clears the history and reseeds the generator with seed(), so the same inputs give the
    // same draws again.
    void reset();

    const SamplingParams& params() const { return params_; }
    uint64_t seed() const { return seed_; }  // the resolved seed (never kRandomSeed's meaning)
    int32_t n_vocab() const { return n_vocab_; }

private:
    struct Candidate {
        float logit;
        int32_t id;
        float weight;  // unnormalized probability, filled by the step that needs it
    };

    void load_logits(std::span<const float> logits);  // copy, sanitize, apply repeat penalty
    void apply_mask(std::span<const uint64_t> allowed);  // -inf for tokens not allowed
    void select_top_k();                              // fills candidates_ and sorted_
    void apply_top_p_min_p();
    int32_t draw();
    double uniform();  // [0, 1) from 53 random bits

    SamplingParams params_;
    int32_t n_vocab_;
    uint64_t seed_;
    std::mt19937_64 rng_;
    std::vector<int32_t> history_;  // ring buffer of the last repeat_last_n tokens
    size_t history_next_ = 0;       // where the next token goes once the ring is full
    std::vector<float> work_;       // penalized logits, n_vocab
    std::vector<Candidate> candidates_;
    bool sorted_ = false;             // candidates_ in sampling order (else id order)
    std::vector<Candidate> pool_;     // top-p: the bucket that holds the nucleus's edge
    std::vector<double> bucket_mass_;  // top-p: probability mass per logit bucket
    std::vector<int32_t> scratch_ids_;
};

}  // namespace hearth
