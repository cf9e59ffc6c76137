#include "cost/perplexity.h"

#include <cmath>
#include <cstring>
#include <fstream>

#include "common/error.h"
#include "engine/prompt.h"

namespace hearth::cost {
namespace {

// The log-probabilities file: a header, every window's tokens, then for each scored position
// n_vocab float32 log-probabilities. Little-endian, as the machines hearth runs on.
constexpr char kMagic[8] = {'H', 'R', 'T', 'H', 'L', 'G', 'P', '1'};
struct LogitsHeader {
    char magic[8];
    uint32_t n_vocab, n_ctx, n_windows, first_scored;
};

void log_softmax(const float* logits, int n, std::vector<double>& out) {
    out.resize(static_cast<size_t>(n));
    double mx = logits[0];
    for (int i = 1; i < n; ++i) mx = std::max<double>(mx, logits[i]);
    double sum = 0;
    for (int i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - mx);
    const double lse = mx + std::log(sum);
    for (int i = 0; i < n; ++i) out[static_cast<size_t>(i)] = logits[i] - lse;
}

int argmax(const std::vector<double>& v) {
    size_t best = 0;
    for (size_t i = 1; i < v.size(); ++i)
        if (v[i] > v[best]) best = i;
    return static_cast<int>(best);
}

struct MeanError {
    double sum = 0, sum_sq = 0;
    long n = 0;
    void add(double v) { sum += v, sum_sq += v * v, ++n; }
    double mean() const { return n ? sum / n : 0; }
    double stderr_of_mean() const {
        if (n < 2) return 0;
        const double m = mean();
        const double var = std::max(0.0, (sum_sq / n - m * m)) * n / (n - 1);
        return std::sqrt(var / n);
    }
};

}  // namespace

PerplexityResult compute_perplexity(const LoadedModel& lm, const std::string& text, const PerplexityOptions& o) {
    const HParams& hp = lm.model->hparams();
    const int n_vocab = hp.n_vocab;
    const int n_ctx = o.n_ctx;
    if (n_ctx < 8) fail("-c/--ctx-size must be at least 8 for perplexity (got {})", n_ctx);
    if (o.max_windows < 0) fail("--chunks must be 0 (all) or positive (got {})", o.max_windows);

    std::vector<TokenId> tokens = tokenize_prompt(*lm.tokenizer, text, /*add_special=*/true, o.parse_special);
    const int n_windows_all = static_cast<int>(tokens.size() / static_cast<size_t>(n_ctx));
    if (n_windows_all < 1)
        fail("the text has {} tokens, fewer than one window of -c {} (use a longer text or a smaller -c)", tokens.size(),
             n_ctx);
    const int n_windows = o.max_windows > 0 ? std::min(o.max_windows, n_windows_all) : n_windows_all;
    const int first = n_ctx / 2;  // positions [first, n_ctx - 1) predict tokens first+1 .. n_ctx-1

    SessionOptions so = o.session;
    so.n_ctx = n_ctx;
    so.n_batch = n_ctx;
    Session session(*lm.model, so);
    const TokenId bos = lm.tokenizer->bos();
    const bool use_bos = bos != kNoToken && lm.tokenizer->vocab().add_bos;

    // The reference log-probabilities, checked against these tokens.
    std::ifstream base;
    if (!o.kl_base.empty()) {
        base.open(o.kl_base, std::ios::binary);
        if (!base) fail("--kl-base {}: cannot open", o.kl_base);
        LogitsHeader h{};
        if (!base.read(reinterpret_cast<char*>(&h), sizeof h) || std::memcmp(h.magic, kMagic, 8) != 0)
            fail("--kl-base {}: not a file written by hearth perplexity --save-logits", o.kl_base);
        if (h.n_vocab != static_cast<uint32_t>(n_vocab))
            fail("--kl-base {}: saved with a vocabulary of {} tokens, this model has {}", o.kl_base, h.n_vocab, n_vocab);
        if (h.n_ctx != static_cast<uint32_t>(n_ctx) || h.first_scored != static_cast<uint32_t>(first))
            fail("--kl-base {}: saved with -c {}, this run uses -c {}", o.kl_base, h.n_ctx, n_ctx);
        if (h.n_windows != static_cast<uint32_t>(n_windows))
            fail("--kl-base {}: saved over {} windows, this text gives {}", o.kl_base, h.n_windows, n_windows);
        std::vector<TokenId> saved(static_cast<size_t>(n_windows) * n_ctx);
        if (!base.read(reinterpret_cast<char*>(saved.data()), static_cast<std::streamsize>(saved.size() * sizeof(TokenId))))
            fail("--kl-base {}: truncated", o.kl_base);
        for (size_t i = 0; i < saved.size(); ++i) {
            TokenId expect = tokens[i];
            if (use_bos && i % static_cast<size_t>(n_ctx) == 0) expect = bos;
            if (saved[i] != expect)
                fail("--kl-base {}: token {} differs ({} saved, {} here): the reference saw another text or tokenizer",
                     o.kl_base, i, saved[i], expect);
        }
    }
    std::ofstream save;
    if (!o.save_logits.empty()) {
        save.open(o.save_logits, std::ios::binary | std::ios::trunc);
        if (!save) fail("--save-logits {}: cannot create", o.save_logits);
        LogitsHeader h{};
        std::memcpy(h.magic, kMagic, 8);
        h.n_vocab = static_cast<uint32_t>(n_vocab);
        h.n_ctx = static_cast<uint32_t>(n_ctx);
        h.n_windows = static_cast<uint32_t>(n_windows);
        h.first_scored = static_cast<uint32_t>(first);
        save.write(reinterpret_cast<const char*>(&h), sizeof h);
        for (int w = 0; w < n_windows; ++w)
            for (int j = 0; j < n_ctx; ++j) {
                TokenId t = tokens[static_cast<size_t>(w) * n_ctx + j];
                if (use_bos && j == 0) t = bos;
                save.write(reinterpret_cast<const char*>(&t), sizeof t);
            }
    }

    MeanError nll, kl, base_nll;
    double kl_max = 0;
    long same_top = 0;
    std::vector<double> lp, lp_base(static_cast<size_t>(n_vocab));
    std::vector<float> lp_f(static_cast<size_t>(n_vocab)), base_f(static_cast<size_t>(n_vocab));
    for (int w = 0; w < n_windows; ++w) {
        std::vector<TokenId> window(tokens.begin() + static_cast<long>(w) * n_ctx,
                                    tokens.begin() + static_cast<long>(w + 1) * n_ctx);
        if (use_bos) window[0] = bos;
        session.reset();
        const std::vector<float>& logits = session.eval(window, LogitsFor::All);
        for (int j = first; j < n_ctx - 1; ++j) {
            log_softmax(logits.data() + static_cast<size_t>(j) * n_vocab, n_vocab, lp);
            const TokenId next = window[static_cast<size_t>(j) + 1];
            nll.add(-lp[static_cast<size_t>(next)]);
            // Saved as float32, and compared at that precision too, so a model against its own
            // saved distributions gives exactly 0.
            for (int i = 0; i < n_vocab; ++i) lp_f[static_cast<size_t>(i)] = static_cast<float>(lp[static_cast<size_t>(i)]);
            if (save.is_open()) {
                save.write(reinterpret_cast<const char*>(lp_f.data()), static_cast<std::streamsize>(lp_f.size() * sizeof(float)));
            }
            if (base.is_open()) {
                if (!base.read(reinterpret_cast<char*>(base_f.data()), static_cast<std::streamsize>(base_f.size() * sizeof(float))))
                    fail("--kl-base {}: truncated", o.kl_base);
                double d = 0;
                for (int i = 0; i < n_vocab; ++i) {
                    const double b = base_f[static_cast<size_t>(i)];
                    lp_base[static_cast<size_t>(i)] = b;
                    d += std::exp(b) * (b - static_cast<double>(lp_f[static_cast<size_t>(i)]));
                }
                d = std::max(0.0, d);  // rounding can give -1e-17 for identical distributions
                kl.add(d);
                kl_max = std::max(kl_max, d);
                base_nll.add(-lp_base[static_cast<size_t>(next)]);
                if (argmax(lp_base) == argmax(lp)) ++same_top;
            }
        }
    }
    if (save.is_open() && !save.flush()) fail("--save-logits {}: write failed", o.save_logits);

    PerplexityResult r;
    r.n_ctx = n_ctx;
    r.n_windows = n_windows;
    r.n_scored = static_cast<int>(nll.n);
    r.n_text_tokens = static_cast<int>(tokens.size());
    r.nll_mean = nll.mean();
    r.nll_stderr = nll.stderr_of_mean();
    r.ppl = std::exp(r.nll_mean);
    r.ppl_stderr = r.ppl * r.nll_stderr;
    if (base.is_open()) {
        r.has_kl = true;
        r.kl_base = o.kl_base;
        r.kl_mean = kl.mean();
        r.kl_stderr = kl.stderr_of_mean();
        r.kl_max = kl_max;
        r.same_top = kl.n ? static_cast<double>(same_top) / static_cast<double>(kl.n) : 0;
        r.base_ppl = std::exp(base_nll.mean());
    }
    return r;
}

}  // namespace hearth::cost
