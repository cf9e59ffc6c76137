// Cost of grammar-constrained sampling per generated token, against plain sampling.
//
// Build: cmake --build BUILD --target hearth_grammar_bench  (not part of `all`)
// Run:   BUILD/bin/hearth_grammar_bench [VOCAB.gguf] [--steps 2000]
//        (no VOCAB: a synthetic 128k-token vocabulary of ASCII and multi-byte pieces)
//
// A JSON Schema is compiled and "generated" with random logits: each step computes the
// allowed-token mask, samples with it (default sampler settings), and accepts the token; a
// finished sentence starts over. Reported per step: the mask, the masked sample, accept, and
// the same sampler without a mask on the same logits (the unconstrained baseline).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <time.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "gguf/gguf.h"
#include "grammar/grammar.h"
#include "grammar/json_schema.h"
#include "grammar/token_constraint.h"
#include "sample/sampler.h"
#include "tokenizer/tokenizer.h"

namespace {

// Thread CPU time: other processes on a shared machine do not inflate it.
struct clock_type {
    using time_point = double;
    static double now() {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return double(ts.tv_sec) * 1e6 + double(ts.tv_nsec) / 1e3;
    }
};

double us_since(double t0) { return clock_type::now() - t0; }

// 128k pieces: words with and without a leading space, punctuation runs, digits, and
// multi-byte text (accented Latin, CJK, emoji), some split mid-character, like a real BPE vocabulary.
std::vector<std::string> synthetic_vocab(size_t n) {
    std::mt19937 rng(1);
    const std::string letters = "etaoinshrdlcumwfgypbvkjxqz";
    const std::vector<std::string> multi = {"\xC3\xA9", "\xC3\xA0", "\xE4\xB8\xAD", "\xE6\x96\x87",
                                            "\xF0\x9F\x98\x80", "\xD0\xBF", "\xCE\xB1"};
    const std::string punct = "{}[]\":,.!?-_()'";
    std::vector<std::string> v;
    for (int b = 0; b < 256; ++b) v.push_back(std::string(1, char(b)));  // byte tokens
    while (v.size() < n) {
        std::string t;
        const unsigned kind = rng() % 10;
        if (kind < 6) {
            if (rng() % 2) t += ' ';
            const int len = 1 + int(rng() % 9);
            for (int i = 0; i < len; ++i) t += letters[std::min<size_t>(rng() % 26, rng() % 26)];
            if (rng() % 8 == 0) t[t[0] == ' ' ? 1 : 0] = char(std::toupper(t[t[0] == ' ' ? 1 : 0]));
        } else if (kind < 7) {
            const int len = 1 + int(rng() % 3);
            for (int i = 0; i < len; ++i) t += punct[rng() % punct.size()];
        } else if (kind < 8) {
            const int len = 1 + int(rng() % 3);
            for (int i = 0; i < len; ++i) t += char('0' + rng() % 10);
        } else {
            const int len = 1 + int(rng() % 3);
            for (int i = 0; i < len; ++i) t += multi[rng() % multi.size()];
            if (rng() % 4 == 0) t.pop_back();  // a piece that ends mid-character
        }
        v.push_back(t);
    }
    return v;
}

double quantile(std::vector<double> x, double q) {
    if (x.empty()) return 0;
    std::sort(x.begin(), x.end());
    return x[std::min(x.size() - 1, size_t(q * double(x.size())))];
}
double mean(const std::vector<double>& x) {
    double s = 0;
    for (double v : x) s += v;
    return x.empty() ? 0 : s / double(x.size());
}

}  // namespace

int main(int argc, char** argv) {
    using namespace hearth;
    std::string vocab_path;
    int steps = 2000;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--steps") && i + 1 < argc) steps = std::atoi(argv[++i]);
        else vocab_path = argv[i];
    }
    try {
        std::vector<std::string> bytes;
        std::vector<int32_t> end_tokens;
        std::string source = "synthetic";
        if (!vocab_path.empty()) {
            auto file = gguf::File::open(vocab_path);
            auto tokenizer = load_tokenizer(*file);
            for (TokenId id = 0; id < tokenizer->n_vocab(); ++id) {
                if (tokenizer->is_end_of_generation(id)) end_tokens.push_back(id);
                bytes.emplace_back(tokenizer->is_end_of_generation(id) ? "" : tokenizer->token_to_piece(id));
            }
            source = vocab_path;
        } else {
            bytes = synthetic_vocab(128000);
            bytes.push_back("");  // EOS
            end_tokens.push_back(int32_t(bytes.size() - 1));
        }
        const int32_t n_vocab = int32_t(bytes.size());

        const auto schema = nlohmann::ordered_json::parse(R"({"type":"object","properties":{
            "name":{"type":"string","maxLength":40},"age":{"type":"integer"},
            "tags":{"type":"array","items":{"type":"string","maxLength":20},"maxItems":4},
            "address":{"type":"object","properties":{"city":{"type":"string","maxLength":30},
                       "zip":{"type":"string","maxLength":10}},"required":["city"]}},
            "required":["name","age","tags","address"]})");
        auto t_build = clock_type::now();
        grammar::TokenConstraint constraint(grammar::parse_gbnf(grammar::schema_to_gbnf(schema)), bytes, end_tokens);
        const double build_ms = us_since(t_build) / 1000.0;

        SamplingParams params;  // llama.cpp's defaults: top-k 40, top-p 0.95, min-p 0.05, temp 0.8
        params.seed = 7;
        Sampler masked(params, n_vocab);
        Sampler plain(params, n_vocab);
        std::mt19937 rng(3);
        std::normal_distribution<float> normal(0.0f, 3.0f);
        std::vector<float> logits(static_cast<size_t>(n_vocab), 0.0f);

        std::vector<double> t_mask, t_masked_sample, t_accept, t_plain, t_first;
        int sentences = 0;
        bool fresh = true;
        for (int step = 0; step < steps; ++step) {
            for (float& x : logits) x = normal(rng);
            auto t0 = clock_type::now();
            const auto& mask = constraint.allowed();
            const double mask_us = us_since(t0);
            if (mask.n_text_allowed == 0) {
                ++sentences;
                constraint.reset();
                fresh = true;
                continue;
            }
            t0 = clock_type::now();
            const int32_t token = masked.sample(logits, mask.bits);
            t_masked_sample.push_back(us_since(t0));
            (fresh ? t_first : t_mask).push_back(mask_us);
            fresh = false;
            t0 = clock_type::now();
            if (std::find(end_tokens.begin(), end_tokens.end(), token) != end_tokens.end()) {
                ++sentences;
                constraint.reset();
                fresh = true;
            } else {
                constraint.accept(token);
            }
            t_accept.push_back(us_since(t0));
            t0 = clock_type::now();
            (void)plain.sample(logits);
            t_plain.push_back(us_since(t0));
        }
        const double constrained = mean(t_mask) + mean(t_masked_sample) + mean(t_accept);
        std::printf("vocabulary: %s (%d tokens); constraint built in %.1f ms\n", source.c_str(), n_vocab, build_ms);
        std::printf("steps: %zu, sentences finished: %d\n", t_masked_sample.size(), sentences);
        std::printf("per step, microseconds of CPU time      mean    median       p90       max\n");
        auto row = [](const char* name, const std::vector<double>& x) {
            std::printf("  %-32s %8.1f  %8.1f  %8.1f  %8.1f\n", name, mean(x), quantile(x, 0.5), quantile(x, 0.9),
                        quantile(x, 1.0));
        };
        row("mask (allowed())", t_mask);
        row("mask, first step of a sentence", t_first);
        row("sample with mask", t_masked_sample);
        row("accept", t_accept);
        row("sample without mask (baseline)", t_plain);
        std::printf("constrained step (mask + sample + accept): %.1f us; grammar overhead over plain sampling: %.1f us\n",
                    constrained, constrained - mean(t_plain));
    } catch (const Error& e) {
        std::fprintf(stderr, "hearth_grammar_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
