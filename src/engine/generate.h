#pragma once
// The generation loop: evaluate the prompt as one batch, then sample one token at a time
// until an end-of-generation token, the token limit, or a full context.
#include <functional>
#include <string>
#include <vector>

#include "engine/session.h"
#include "sample/sampler.h"
#include "tokenizer/tokenizer.h"

namespace hearth {

namespace grammar {
class TokenConstraint;
}

struct GenerateOptions {
    int n_predict = -1;  // -1: until end of generation or the context is full
    SamplingParams sampling;
    // Grammar-constrained sampling (engine/grammar_constraint.h): only tokens that keep the
    // text inside the grammar are sampled, and generation stops (EndOfGeneration) once the
    // grammar is complete and nothing can follow. Reset at the start of each generate().
    // Not owned; one per running generation.
    grammar::TokenConstraint* constraint = nullptr;
};

enum class StopReason { EndOfGeneration, Length, ContextFull, Cancelled };
const char* stop_reason_name(StopReason r);

struct GenerateResult {
    std::vector<TokenId> tokens;  // generated ids (the end-of-generation token not included)
    StopReason stop = StopReason::Length;
    int n_prompt = 0;
    double prompt_ms = 0;
    double gen_ms = 0;  // from the first sampled token to the last
    uint64_t seed = 0;  // the seed actually used
};

// Called with each generated token (end-of-generation tokens are not passed); return false
// to stop early (StopReason::Cancelled).
using TokenCallback = std::function<bool(TokenId)>;

// Runs `prompt` from the session's current position (usually 0) and generates.
GenerateResult generate(Session& session, const Tokenizer& tokenizer, const std::vector<TokenId>& prompt,
                        const GenerateOptions& options, const TokenCallback& on_token);

}  // namespace hearth
