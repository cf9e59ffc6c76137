// hearth quantize: an F32/F16/BF16 GGUF → a quantized one, with llama-quantize's per-tensor mixes.
#include <chrono>
#include <cstdio>
#include <unistd.h>

#include "cli/commands.h"
#include "common/error.h"
#include "common/thread_pool.h"
#include "convert/quantize_model.h"

namespace hearth::cli {
namespace {

struct QuantizeFlags {
    std::string input;
    std::string output;
    std::string type;
    int threads = 0;
    bool pure = false;
    bool quiet = false;
    bool dry_run = false;
};

// --dry-run: each tensor's type and size before and after, nothing written.
int dry_run(const QuantizeFlags& f, const convert::QuantMix& mix) {
    auto file = gguf::File::open(f.input);
    uint64_t before = 0, after = 0;
    for (const auto& p : convert::plan_quantization(*file, mix, f.pure)) {
        const gguf::TensorInfo& t = *p.source;
        const size_t bytes = row_bytes(type_traits(p.type), t.row_length()) * static_cast<size_t>(t.n_rows());
        before += t.n_bytes;
        after += bytes;
        std::printf("%-40s %-20s %-5s -> %-5s %10.3f MiB\n", t.name.c_str(), t.shape_string().c_str(), t.traits->name,
                    type_traits(p.type).name, bytes / 1048576.0);
    }
    std::printf("%s%s: %.2f MiB -> %.2f MiB of weights (nothing written)\n", std::string(mix.name).c_str(),
                f.pure ? " (pure)" : "", before / 1048576.0, after / 1048576.0);
    return 0;
}

int run(const QuantizeFlags& f) {
    convert::QuantizeOptions o;
    o.mix = &convert::find_quant_mix(f.type);  // an unknown type fails before any file is touched
    o.pure = f.pure;
    if (f.dry_run) return dry_run(f, *o.mix);
    if (f.threads < 0 || f.threads > 1024) fail("-t/--threads: {} is not a thread count (1..1024)", f.threads);
    o.n_threads = f.threads ? f.threads : ThreadPool::default_threads();

    const bool show = !f.quiet && isatty(fileno(stderr));
    const auto start = std::chrono::steady_clock::now();
    auto last_print = std::chrono::steady_clock::time_point{};
    bool printed = false;
    if (show)
        o.progress = [&](const convert::WriteProgress& p) {
            const auto now = std::chrono::steady_clock::now();
            if (printed && now - last_print < std::chrono::milliseconds(100)) return;
            printed = true;
            last_print = now;
            const double seconds = std::chrono::duration<double>(now - start).count();
            std::fprintf(stderr, "\r\033[Khearth quantize: %s", convert::format_progress(p, seconds).c_str());
            std::fflush(stderr);
        };
    convert::QuantizeResult r;
    try {
        r = convert::quantize_model(f.input, f.output, o);
    } catch (...) {
        if (show) std::fprintf(stderr, "\r\033[K");
        throw;
    }
    if (show) std::fprintf(stderr, "\r\033[K");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: %s%s, %.2f MiB → %.2f MiB of weights, %.3f B params, %zu tensors (%s), %d threads, %.1f s\n",
                f.output.c_str(), std::string(o.mix->name).c_str(), f.pure ? " (pure)" : "",
                r.input_tensor_bytes / 1048576.0, r.output_tensor_bytes / 1048576.0, r.n_params / 1e9, r.n_tensors,
                r.type_summary.c_str(), o.n_threads, seconds);
    return 0;
}

}  // namespace

CommandRunner add_quantize_command(CLI::App& app) {
    auto flags = std::make_shared<QuantizeFlags>();
    CLI::App* cmd = app.add_subcommand("quantize", "convert an F32/F16/BF16 model to a quantized type or mix");
    cmd->footer(convert::quant_mix_help());
    cmd->add_option("input", flags->input, "F32/F16/BF16 GGUF model")->required();
    cmd->add_option("output", flags->output, "GGUF file to write")->required();
    cmd->add_option("type", flags->type, "tensor type or mix, e.g. Q4_K_M, Q4_0, Q8_0")->required();
    cmd->add_option("-t,--threads", flags->threads, "threads (default: one per physical core)");
    cmd->add_flag("--pure", flags->pure, "every weight matrix gets TYPE's base type (no per-role mix)");
    cmd->add_flag("-q,--quiet", flags->quiet, "no progress on stderr");
    cmd->add_flag("--dry-run", flags->dry_run, "print each tensor's new type and size; write nothing");
    return [flags] { return run(*flags); };
}

}  // namespace hearth::cli
