// hearth synth: a GGUF with random weights in the real shapes of a popular model, for benchmarks.
#include <chrono>
#include <cstdio>
#include <unistd.h>

#include "cli/commands.h"
#include "common/error.h"
#include "convert/synth.h"

namespace hearth::cli {
namespace {

struct SynthFlags {
    std::string preset;
    std::string type;
    std::string output;
    uint64_t seed = 1;
    int layers = 0;
    int ctx = 0;
    int vocab_size = 0;
    std::string vocab_from;
    bool pure = false;
    int pool_rows = 64;
    int pooling_type = -1;
    bool quiet = false;
};

// Rewrites one status line on a terminal, at most ten times a second.
class ProgressLine {
public:
    ProgressLine(const char* command, bool enabled) : command_(command), enabled_(enabled) {}
    convert::ProgressFn callback() {
        if (!enabled_) return {};
        return [this](const convert::WriteProgress& p) {
            const auto now = std::chrono::steady_clock::now();
            if (printed_ && now - last_print_ < std::chrono::milliseconds(100)) return;
            printed_ = true;
            last_print_ = now;
            const double seconds = std::chrono::duration<double>(now - start_).count();
            std::fprintf(stderr, "\r\033[K%s: %s", command_, convert::format_progress(p, seconds).c_str());
            std::fflush(stderr);
        };
    }
    void clear() {
        if (enabled_) std::fprintf(stderr, "\r\033[K");
    }

private:
    const char* command_;
    bool enabled_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_print_{};
    bool printed_ = false;
};

int run(const SynthFlags& f) {
    convert::SynthOptions o;
    o.preset = convert::find_model_preset(f.preset);
    o.mix = &convert::find_quant_mix(f.type);
    o.pure = f.pure;
    o.pool_rows = f.pool_rows;
    o.seed = f.seed;
    o.vocab_from = f.vocab_from;
    if (f.pooling_type < -1 || f.pooling_type > 4)
        fail("--pooling-type: {} is not one of 0 (none), 1 (mean), 2 (cls), 3 (last), 4 (rank)", f.pooling_type);
    o.pooling_type = f.pooling_type;
    if (f.layers < 0 || f.layers > 1024) fail("--layers: {} is not a layer count (1..1024)", f.layers);
    if (f.layers) o.preset.n_layer = f.layers;
    if (f.ctx < 0) fail("--ctx: {} is not a context length", f.ctx);
    if (f.ctx) o.preset.n_ctx = f.ctx;
    if (f.vocab_size < 0) fail("--vocab-size: {} is not a vocabulary size", f.vocab_size);
    if (f.vocab_size && !f.vocab_from.empty()) fail("--vocab-size and --vocab-from cannot be combined");
    if (f.vocab_size) o.preset.n_vocab = f.vocab_size;

    ProgressLine progress("hearth synth", !f.quiet && isatty(fileno(stderr)));
    o.progress = progress.callback();
    const auto start = std::chrono::steady_clock::now();
    convert::SynthResult r;
    try {
        r = convert::synthesize_model(o, f.output);
    } catch (...) {
        progress.clear();
        throw;
    }
    progress.clear();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: %s %s%s, %.2f MiB of weights, %.3f B params, %d layers, vocab %d (%s), %.1f s\n",
                f.output.c_str(), std::string(o.preset.name).c_str(), std::string(o.mix->name).c_str(),
                f.pure ? " (pure)" : "", r.tensor_bytes / 1048576.0, r.n_params / 1e9, o.preset.n_layer, r.n_vocab,
                r.type_summary.c_str(), seconds);
    return 0;
}

}  // namespace

CommandRunner add_synth_command(CLI::App& app) {
    auto flags = std::make_shared<SynthFlags>();
    CLI::App* cmd = app.add_subcommand("synth", "write a model with random weights in a real model's shapes (for benchmarks)");
    std::string presets;
    for (const auto& p : convert::model_presets())
        presets += fmt::format("  {:<15} {} ({}, {} layers, n_embd {}, vocab {})\n", p.name, p.display_name, p.arch,
                               p.n_layer, p.n_embd, p.n_vocab);
    cmd->footer("presets:\n" + presets + convert::quant_mix_help());
    cmd->add_option("--preset", flags->preset, "model shape to copy (see the list below)")->required();
    cmd->add_option("--type", flags->type, "tensor type or mix, e.g. Q4_K_M, Q4_0, F16")->required();
    cmd->add_option("-o,--output", flags->output, "GGUF file to write")->required();
    cmd->add_option("--seed", flags->seed, "random seed")->capture_default_str();
    cmd->add_option("--layers", flags->layers, "override the layer count");
    cmd->add_option("--ctx", flags->ctx, "override the context length written to the file");
    cmd->add_option("--vocab-size", flags->vocab_size, "override the vocabulary size (synthesized vocabulary)");
    cmd->add_option("--vocab-from", flags->vocab_from, "copy the tokenizer (every tokenizer.* key) from this GGUF");
    cmd->add_option("--pooling-type", flags->pooling_type,
                    "write <arch>.pooling_type (0 none, 1 mean, 2 cls, 3 last, 4 rank), as embedding models have");
    cmd->add_flag("--pure", flags->pure, "every weight matrix gets TYPE's base type (no per-role mix)");
    cmd->add_option("--pool-rows", flags->pool_rows,
                    "distinct random rows per row length that matrices copy from (more: fewer repeated rows, "
                    "slower; tiny test models use thousands so no two vocabulary rows tie)")
        ->check(CLI::Range(1, 1 << 20))
        ->capture_default_str();
    cmd->add_flag("-q,--quiet", flags->quiet, "no progress on stderr");
    return [flags] { return run(*flags); };
}

}  // namespace hearth::cli
