#pragma once
// Quality beside speed: perplexity over a text, and KL divergence against a reference model's
// distributions on the same tokens.
//
// Perplexity is windowed as llama.cpp's llama-perplexity does it, so the numbers compare: the
// text's tokens are cut into windows of n_ctx; each window starts with BOS (when the model has
// one) and only its second half is scored, so every scored token has at least n_ctx/2 tokens
// of context. PPL = exp(mean negative log-likelihood); its ± is exp-propagated from the
// standard error of that mean.
#include <string>
#include <vector>

#include "engine/loader.h"
#include "engine/session.h"

namespace hearth::cost {

struct PerplexityOptions {
    int n_ctx = 512;             // window; capped by nothing but the model's context length
    SessionOptions session;      // threads, KV type (n_ctx and n_batch are set from n_ctx)
    std::string save_logits;     // write the scored positions' log-probabilities here
    std::string kl_base;         // compare against log-probabilities saved earlier
    int max_windows = 0;         // 0: every full window of the text
    bool parse_special = true;   // special-token text in the text becomes that token
};

struct PerplexityResult {
    int n_ctx = 0;
    int n_windows = 0;
    int n_scored = 0;            // tokens scored in all
    int n_text_tokens = 0;
    double ppl = 0, ppl_stderr = 0;
    double nll_mean = 0, nll_stderr = 0;
    bool has_kl = false;
    double kl_mean = 0, kl_stderr = 0, kl_max = 0;
    double same_top = 0;          // fraction of positions where both models rank the same token first
    double base_ppl = 0;          // the reference's perplexity on the same tokens
    std::string kl_base;
};

// Runs `text` through the model. Throws hearth::Error when the text is shorter than one window,
// or when --kl-base was saved from other tokens, another window size or vocabulary.
PerplexityResult compute_perplexity(const LoadedModel& model, const std::string& text, const PerplexityOptions& options);

}  // namespace hearth::cost
