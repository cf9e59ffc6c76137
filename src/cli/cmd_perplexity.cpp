// hearth perplexity: how well a model predicts a text (windowed, as llama-perplexity), and how
// far its distributions are from a reference model's (KL divergence) — the quality side of a
// quantization's cost.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "cost/perplexity.h"
#include "engine/loader.h"

namespace hearth::cli {
namespace {

struct PerplexityFlags {
    ModelFlag model;
    std::string text_file;
    int n_ctx = 512;
    int chunks = 0;
    int n_threads = 0;
    std::string kv_type = "f16";
    std::string kl_base;
    std::string save_logits;
    bool json = false;
    bool no_parse_special = false;
};

int run(const PerplexityFlags& f) {
    const std::string text = read_input_file(f.text_file, "text file");
    cost::PerplexityOptions o;
    o.n_ctx = f.n_ctx;
    o.max_windows = f.chunks;
    o.session.n_threads = f.n_threads;
    o.session.kv_type = parse_kv_type(f.kv_type);
    o.kl_base = f.kl_base;
    o.save_logits = f.save_logits;
    o.parse_special = !f.no_parse_special;
    if (!o.kl_base.empty() && o.kl_base == o.save_logits) fail("--kl-base and --save-logits name the same file");
    LoadedModel lm = load_model(f.model.path);
    print_warnings(lm);
    const cost::PerplexityResult r = cost::compute_perplexity(lm, text, o);
    if (f.json) {
        nlohmann::ordered_json j = {{"model", f.model.path}, {"text", f.text_file},     {"n_ctx", r.n_ctx},
                                    {"windows", r.n_windows}, {"text_tokens", r.n_text_tokens},
                                    {"scored_tokens", r.n_scored}, {"ppl", r.ppl}, {"ppl_stderr", r.ppl_stderr},
                                    {"nll_mean", r.nll_mean}, {"nll_stderr", r.nll_stderr}};
        if (r.has_kl) {
            j["kl_base"] = r.kl_base;
            j["base_ppl"] = r.base_ppl;
            j["kl_mean"] = r.kl_mean;
            j["kl_stderr"] = r.kl_stderr;
            j["kl_max"] = r.kl_max;
            j["same_top"] = r.same_top;
        }
        if (!f.save_logits.empty()) j["saved_logits"] = f.save_logits;
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("perplexity: %.4f ± %.4f  (%d tokens scored in %d windows of %d; text %d tokens)\n", r.ppl, r.ppl_stderr,
                r.n_scored, r.n_windows, r.n_ctx, r.n_text_tokens);
    if (r.has_kl)
        std::printf("KL divergence vs %s: mean %.6f ± %.6f, max %.6f; same top token %.2f%%; reference perplexity %.4f\n",
                    r.kl_base.c_str(), r.kl_mean, r.kl_stderr, r.kl_max, 100 * r.same_top, r.base_ppl);
    if (!f.save_logits.empty()) std::printf("saved log-probabilities to %s\n", f.save_logits.c_str());
    return 0;
}

}  // namespace

CommandRunner add_perplexity_command(CLI::App& app) {
    auto flags = std::make_shared<PerplexityFlags>();
    CLI::App* cmd = app.add_subcommand("perplexity", "perplexity of a model over a text, and KL divergence vs a reference");
    cmd->footer(
        "The text is cut into windows of -c tokens; each starts with BOS and only its second half is scored\n"
        "(as llama-perplexity does), so numbers compare across runtimes at the same -c.\n"
        "KL divergence: save the reference's log-probabilities, then compare another model on the same text:\n"
        "  hearth perplexity -m f16.gguf -f wiki.txt -c 512 --save-logits base.bin\n"
        "  hearth perplexity -m q4_0.gguf -f wiki.txt -c 512 --kl-base base.bin\n"
        "The saved file holds n_vocab float32 values per scored token (large for big vocabularies).");
    flags->model.add(*cmd);
    cmd->add_option("-f,--file", flags->text_file, "text to score")->required();
    cmd->add_option("-c,--ctx-size", flags->n_ctx, "window size in tokens")->capture_default_str();
    cmd->add_option("--chunks", flags->chunks, "score at most this many windows (0: all)")->capture_default_str();
    cmd->add_option("-t,--threads", flags->n_threads, "threads (0: all hardware threads)")->capture_default_str();
    cmd->add_option("--kv-type", flags->kv_type, "KV cache type: f16 or f32")->capture_default_str();
    cmd->add_option("--kl-base", flags->kl_base, "reference log-probabilities from --save-logits: report KL divergence");
    cmd->add_option("--save-logits", flags->save_logits, "write this model's log-probabilities for a later --kl-base");
    cmd->add_flag("--no-parse-special", flags->no_parse_special,
                  "tokenize special-token text in the text (\"<|endoftext|>\") as plain text");
    cmd->add_flag("--json", flags->json, "print the result as JSON");
    return [flags] { return run(*flags); };
}

}  // namespace hearth::cli
