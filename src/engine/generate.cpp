#include "engine/generate.h"

#include <chrono>

#include "common/error.h"
#include "grammar/token_constraint.h"

namespace hearth {

const char* stop_reason_name(StopReason r) {
    switch (r) {
        case StopReason::EndOfGeneration: return "stop";
        case StopReason::Length: return "length";
        case StopReason::ContextFull: return "context";
        case StopReason::Cancelled: return "cancelled";
    }
    return "?";
}

GenerateResult generate(Session& session, const Tokenizer& tokenizer, const std::vector<TokenId>& prompt,
                        const GenerateOptions& options, const TokenCallback& on_token) {
    using clock = std::chrono::steady_clock;
    if (prompt.empty()) fail("the prompt is empty and the model has no BOS token to start from");
    if (session.n_past() + static_cast<int64_t>(prompt.size()) > session.n_ctx())
        fail("the prompt has {} tokens, more than the context size {} (raise -c/--ctx-size)",
             prompt.size(), session.n_ctx() - session.n_past());
    if (options.n_predict < -1) fail("-n/--n-predict must be -1 (unlimited) or at least 0 (got {})", options.n_predict);

    Sampler sampler(options.sampling, session.model().hparams().n_vocab);
    for (TokenId t : prompt) sampler.accept(t);

    GenerateResult result;
    result.seed = sampler.seed();
    result.n_prompt = static_cast<int>(prompt.size());

    grammar::TokenConstraint* constraint = options.constraint;
    if (constraint) {
        if (constraint->n_vocab() != session.model().hparams().n_vocab)
            fail("grammar: built for {} tokens, the model has {}", constraint->n_vocab(),
                 session.model().hparams().n_vocab);
        constraint->reset();
    }

    auto t0 = clock::now();
    std::vector<float> logits = session.eval(prompt);
    auto t1 = clock::now();
    result.prompt_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();

    for (;;) {
        if (options.n_predict >= 0 && static_cast<int>(result.tokens.size()) >= options.n_predict) {
            result.stop = StopReason::Length;
            break;
        }
        TokenId next = 0;
        if (constraint) {
            const grammar::TokenConstraint::Mask& mask = constraint->allowed();
            if (mask.n_text_allowed == 0) {
                if (!mask.end_allowed)
                    fail("grammar: no token of the vocabulary can continue the text here");
                result.stop = StopReason::EndOfGeneration;  // complete, and nothing may follow
                break;
            }
            next = sampler.sample(logits, mask.bits);
        } else {
            next = sampler.sample(logits);
        }
        if (tokenizer.is_end_of_generation(next)) {
            result.stop = StopReason::EndOfGeneration;
            break;
        }
        if (constraint) constraint->accept(next);
        sampler.accept(next);
        result.tokens.push_back(next);
        if (on_token && !on_token(next)) {
            result.stop = StopReason::Cancelled;
            break;
        }
        if (options.n_predict >= 0 && static_cast<int>(result.tokens.size()) >= options.n_predict) {
            result.stop = StopReason::Length;
            break;
        }
        if (session.n_past() >= session.n_ctx()) {
            result.stop = StopReason::ContextFull;
            break;
        }
        logits = session.eval({next});
    }
    result.gen_ms = std::chrono::duration<double, std::milli>(clock::now() - t1).count();
    return result;
}

}  // namespace hearth
