// hearth fit: will a model run on this (or a stated) machine, where do its layers go, and how
// fast. All arithmetic is in src/fit/; this file parses flags and prints.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/bandwidth.h"
#include "cli/commands.h"
#include "common/error.h"
#include "convert/quant_mix.h"
#include "fit/hardware.h"
#include "fit/model_catalogue.h"
#include "fit/plan.h"
#include "fit/weights.h"
#include "model/memory.h"

namespace hearth::cli {
namespace {

using nlohmann::ordered_json;

struct FitFlags {
    std::string model, table, quant, params;
    int layers = 0, hidden = 0, kv_heads = 0, head_dim = 0;
    int64_t ctx = 0;
    int parallel = 1, n_batch = 512, n_threads = 0;
    std::string kv_type = "f16";
    std::string gpu, ram;
    int n_gpus = 1;
    bool cpu_only = false, json = false, list_models = false, list_gpus = false, measure_bandwidth = false;
    double min_tps = 0;
    double ram_bandwidth = 0;
};

double gib(uint64_t b) { return static_cast<double>(b) / 1073741824.0; }
// "1.50 GiB", or "768.0 KiB" / "12.3 MiB" for what would print as 0.00 GiB.
std::string size_text(uint64_t b) {
    if (b >= (uint64_t{1} << 30)) return fmt::format("{:.2f} GiB", gib(b));
    if (b >= (uint64_t{1} << 20)) return fmt::format("{:.1f} MiB", b / 1048576.0);
    return fmt::format("{:.1f} KiB", b / 1024.0);
}

// Resident size of this process now: the binary, libc and libstdc++ pages a run also has.
uint64_t own_resident_bytes() {
    std::ifstream in("/proc/self/statm");
    uint64_t size = 0, resident = 0;
    in >> size >> resident;
    return resident * static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
}

const TypeTraits& parse_fit_kv_type(const std::string& name) {
    if (name == "f16") return type_traits(TensorType::F16);
    if (name == "f32") return type_traits(TensorType::F32);
    if (name == "q8_0") return type_traits(TensorType::Q8_0);
    if (name == "q4_0") return type_traits(TensorType::Q4_0);
    fail("--kv-type must be f16, f32, q8_0 or q4_0 (got '{}')", name);
}

bool looks_like_file(const std::string& s) {
    std::error_code ec;
    return std::filesystem::exists(s, ec) || s.find('/') != std::string::npos ||
           (s.size() > 5 && s.substr(s.size() - 5) == ".gguf");
}

// The model from -m (file or catalogue name) or --params.
fit::WeightLayout resolve_model(const FitFlags& f, const std::string& name, const std::string& quant) {
    const bool shape_flags = f.layers || f.hidden || f.kv_heads || f.head_dim;
    if (!f.params.empty()) {
        if (!name.empty()) fail("give either -m/--model or --params, not both");
        fit::ParamsShape s;
        s.n_params = fit::parse_param_count(f.params);
        auto positive = [](int v, const char* flag) {
            if (v < 0) fail("{} must be positive (got {})", flag, v);
            return v;
        };
        s.n_layer = positive(f.layers, "--layers");
        s.n_embd = positive(f.hidden, "--hidden");
        s.n_head_kv = positive(f.kv_heads, "--kv-heads");
        s.head_dim = positive(f.head_dim, "--head-dim");
        return fit::layout_from_params(s, convert::find_quant_mix(quant.empty() ? "F16" : quant));
    }
    if (shape_flags) fail("--layers, --hidden, --kv-heads and --head-dim describe a --params model");
    if (name.empty()) fail("say which model: -m FILE.gguf, -m llama3.1:8b (see --list-models) or --params 70.6B");
    if (looks_like_file(name)) {
        if (!quant.empty()) fail("--quant applies to catalogue models; a GGUF file's tensor types are read from it");
        auto file = gguf::File::open(name);
        return fit::layout_from_file(*file);
    }
    const fit::CatalogueModel& m = fit::find_catalogue_model(name);
    return fit::layout_from_catalogue(m, convert::find_quant_mix(quant.empty() ? "Q4_K_M" : quant));
}

fit::Machine resolve_machine(const FitFlags& f) {
    fit::Machine m = fit::detect_machine();
    if (f.measure_bandwidth) {
        const BandwidthProbe probe = cached_read_bandwidth(m.cpu_threads);
        m.ram_bandwidth_gbps = probe.gbps;
        m.bandwidth_measured = true;
    }
    if (!f.gpu.empty() || !f.ram.empty() || f.n_gpus != 1)
        m = fit::stated_machine(f.gpu, f.n_gpus, f.ram.empty() ? 0 : fit::parse_memory_size(f.ram, "--ram"), m);
    if (f.ram_bandwidth < 0) fail("--ram-bandwidth must be positive (got {})", f.ram_bandwidth);
    if (f.ram_bandwidth > 0) {
        m.ram_bandwidth_gbps = f.ram_bandwidth;
        m.bandwidth_measured = false;
    }
    if (f.cpu_only) m.gpus.clear();
    return m;
}

// The KV cache per kind of layer (what the text's KV lines say), all sequences.
ordered_json kv_json(const fit::Breakdown& b, const fit::WeightLayout& w) {
    ordered_json groups = ordered_json::array();
    int storing = 0;
    for (const memory::KvLayerGroup& g : b.kv_layers.groups) {
        storing += g.n_layers;
        groups.push_back({{"kind", g.window ? "window" : "global"}, {"layers", g.n_layers}, {"kv_heads", g.n_head_kv},
                          {"head_dim", g.head_dim}, {"head_dim_v", g.head_dim_v}, {"bytes", g.bytes}});
    }
    return {{"layers_storing_kv", storing},
            {"layers_sharing_kv", b.kv_layers.n_sharing},
            {"recurrent_layers", b.kv_layers.n_recurrent},
            {"sliding_window", w.hp.n_swa},
            {"window_layers_hold_full_context", true},  // memory.h: the cache is not cut to the window
            {"groups", groups},
            {"recurrent_state_bytes", b.recurrent_state}};
}

ordered_json weights_json(const fit::WeightLayout& w) {
    const uint64_t layers = w.weights_bytes() - w.embd_bytes - w.ple_embd_bytes - w.output_bytes - w.other_bytes;
    return {{"token_embd", w.embd_bytes},
            {"per_layer_token_embd", w.ple_embd_bytes},
            {"per_layer_token_embd_row", w.ple_embd_row_bytes},
            {"output", w.output_bytes},
            {"layers", layers},
            {"other", w.other_bytes},
            {"active_bytes_per_token", w.active_bytes_per_token()}};
}

ordered_json result_json(const fit::WeightLayout& w, const fit::FitResult& r) {
    const fit::Breakdown& b = r.breakdown;
    ordered_json devices = ordered_json::array();
    for (const fit::DeviceUse& d : r.placement.devices)
        devices.push_back({{"name", d.name}, {"bytes", d.bytes}, {"capacity_bytes", d.capacity},
                           {"layers", d.layers}, {"gpu", d.gpu}});
    return {{"model", w.source},
            {"quant", w.quant},
            {"n_params", w.n_params},
            {"n_layer", w.hp.n_layer},
            {"n_ctx", r.n_ctx},
            {"n_ctx_train", w.hp.n_ctx_train},
            {"weights_bytes", b.weights},
            {"weights", weights_json(w)},
            {"kv_cache_bytes", b.kv_cache},
            {"kv_cache", kv_json(b, w)},
            {"recurrent_state_bytes", b.recurrent_state},
            {"attention_layers", w.hp.n_attention_layers()},
            {"compute_bytes", b.compute},
            {"overhead_bytes", b.overhead},
            {"overhead", {{"runtime", b.runtime}, {"tokenizer", b.tokenizer}, {"host_copies", b.host_copies},
                          {"metadata", b.metadata}, {"gpu_runtime", b.gpu_reserve}}},
            {"total_bytes", b.total()},
            {"predicted_rss_bytes", r.predicted_rss},
            {"fits", r.placement.fits},
            {"shortfall_bytes", r.placement.shortfall},
            {"placement",
             {{"summary", r.placement.summary()},
              {"gpu_layers", r.placement.gpu_layers},
              {"cpu_layers", r.placement.cpu_layers},
              {"output_on_gpu", r.placement.output_on_gpu},
              {"devices", devices}}},
            {"est_tg_ts", r.est_tg_ts},
            {"est_tg_ts_full_ctx", r.est_tg_ts_full_ctx},
            {"est_pp_ts", r.est_pp_ts}};
}

std::string machine_line(const fit::Machine& m) {
    std::string s = fmt::format("{}: {} ({} threads), RAM {:.1f} GiB ({:.1f} usable), {:.0f} GB/s{}", m.source,
                                m.cpu_name, m.cpu_threads, gib(m.ram_bytes), gib(m.ram_usable_bytes),
                                m.ram_bandwidth_gbps, m.bandwidth_measured ? " measured" : " assumed");
    for (const fit::Device& d : m.gpus)
        s += fmt::format("\n          GPU {}: {:.1f} GiB ({:.1f} usable), {:.0f} GB/s", d.name, gib(d.memory_bytes),
                         gib(d.usable_bytes), d.bandwidth_gbps);
    return s;
}

// The KV cache line(s), from the same per-layer breakdown the total is the sum of. A model whose
// attention layers all store KV of one shape and attend to everything gets the one-line formula;
// otherwise one line per kind of layer (window / global, heads, head size), the layers that reuse
// another layer's KV, and what a window layer keeps.
void print_kv_lines(const fit::WeightLayout& w, const fit::FitOptions& o, const fit::FitResult& r, const TypeTraits& kv,
                    const std::string& kv_name) {
    const fit::Breakdown& b = r.breakdown;
    const memory::KvBreakdown& k = b.kv_layers;
    // A hybrid keeps KV for its attention layers only, plus a fixed-size recurrent state.
    const std::string state =
        b.recurrent_state == 0
            ? std::string()
            : fmt::format("; + {:.1f} MiB recurrent state of {} delta-net layers, with {} checkpoints",
                          b.recurrent_state / 1048576.0, k.n_recurrent, memory::kStateCheckpoints);
    const std::string bytes = kv.block_size == 1 ? fmt::format("{} B", kv.block_bytes)
                                                 : fmt::format("{}/{} B ({})", kv.block_bytes, kv.block_size, kv_name);
    const std::string seqs = fmt::format("{} sequence{}", o.parallel, o.parallel == 1 ? "" : "s");
    const bool uniform = k.groups.size() <= 1 && k.n_sharing == 0 && (k.groups.empty() || !k.groups[0].window) &&
                         (k.groups.empty() || k.groups[0].head_dim == k.groups[0].head_dim_v);
    if (uniform) {
        const memory::KvLayerGroup g = k.groups.empty() ? memory::KvLayerGroup{} : k.groups[0];
        std::printf("  KV cache  %9.2f GiB  (2 x %d %slayers x %lld ctx x %d kv heads x %d head dim x %s x %s%s)\n",
                    gib(b.kv_cache), g.n_layers, b.recurrent_state ? "attention " : "", static_cast<long long>(r.n_ctx),
                    g.n_head_kv, g.head_dim, bytes.c_str(), seqs.c_str(), state.c_str());
        return;
    }
    int storing = 0;
    for (const memory::KvLayerGroup& g : k.groups) storing += g.n_layers;
    const std::string sharing =
        k.n_sharing == 0 ? std::string() : fmt::format(", {} reuse an earlier layer's", k.n_sharing);
    std::printf("  KV cache  %9.2f GiB  (%d of %d layers store KV%s; %lld ctx x %s x %s%s)\n", gib(b.kv_cache), storing,
                w.hp.n_layer, sharing.c_str(), static_cast<long long>(r.n_ctx), bytes.c_str(), seqs.c_str(),
                state.c_str());
    for (const memory::KvLayerGroup& g : k.groups) {
        const std::string dims = g.head_dim == g.head_dim_v
                                     ? fmt::format("2 x {} kv heads x {} head dim", g.n_head_kv, g.head_dim)
                                     : fmt::format("{} kv heads x ({} k + {} v head dim)", g.n_head_kv, g.head_dim,
                                                   g.head_dim_v);
        // The cache keeps every position for a window layer too (memory::kv_cache_breakdown).
        const std::string window =
            g.window ? fmt::format("  (all {} positions: not cut to the {}-token window)", r.n_ctx, w.hp.n_swa)
                     : std::string();
        std::printf("            %12s  %2d %s layer%s x %s%s\n", size_text(g.bytes).c_str(), g.n_layers,
                    g.window ? "window" : "global", g.n_layers == 1 ? "" : "s", dims.c_str(), window.c_str());
    }
}

void print_text(const fit::WeightLayout& w, const fit::Machine& m, const fit::FitOptions& o, const fit::FitResult& r,
                const TypeTraits& kv, const std::string& kv_name) {
    const fit::Breakdown& b = r.breakdown;
    std::printf("model     %s  %s  (%.2f B params, %d layers, context %lld of %d trained)\n", w.source.c_str(),
                w.quant.c_str(), w.n_params / 1e9, w.hp.n_layer, static_cast<long long>(r.n_ctx), w.hp.n_ctx_train);
    std::printf("hardware  %s\n\n", machine_line(m).c_str());
    const uint64_t layers = b.weights - w.embd_bytes - w.ple_embd_bytes - w.output_bytes - w.other_bytes;
    // The per-layer embedding table is mapped and read a row per token, like an untied token_embd.
    const std::string ple = w.ple_embd_bytes == 0 ? std::string()
                                                   : fmt::format(", per-layer embedding {} (mapped, {} read per token)",
                                                                 size_text(w.ple_embd_bytes), size_text(w.ple_embd_row_bytes));
    std::printf("  weights   %9.2f GiB  (%.2f GB: token embedding %.2f GiB%s, output %.2f GiB, %d layers %.3f GiB each)\n",
                gib(b.weights), b.weights / 1e9, gib(w.embd_bytes), ple.c_str(), gib(w.output_bytes), w.hp.n_layer,
                gib(layers) / std::max(w.hp.n_layer, 1));
    print_kv_lines(w, o, r, kv, kv_name);
    std::printf("  compute   %9.2f GiB  (activations of a %d-token batch, kernel scratch, logits)\n", gib(b.compute),
                o.n_batch);
    std::printf("  overhead  %9.2f GiB  (runtime %.1f MiB, tokenizer %.1f MiB, metadata %.1f MiB, norms %.1f MiB%s)\n",
                gib(b.overhead), b.runtime / 1048576.0, b.tokenizer / 1048576.0, b.metadata / 1048576.0,
                b.host_copies / 1048576.0,
                b.gpu_reserve ? fmt::format(", GPU runtime {:.0f} MiB", b.gpu_reserve / 1048576.0).c_str() : "");
    std::printf("  total     %9.2f GiB\n", gib(b.total()));
    if (m.gpus.empty())
        std::printf("  (peak resident memory of `hearth run` on the CPU: %s%s)\n",
                    r.predicted_rss >= (uint64_t{1} << 30) ? fmt::format("{:.2f} GiB", gib(r.predicted_rss)).c_str()
                                                           : fmt::format("{:.1f} MiB", r.predicted_rss / 1048576.0).c_str(),
                    w.tied_embeddings ? "" : ", the untied token embedding paged in only as used");
    std::printf("\n");
    std::printf("placement: %s\n", r.placement.summary().c_str());
    for (const fit::DeviceUse& d : r.placement.devices)
        std::printf("  %-22s %8.2f GiB of %8.2f GiB  %3d layers%s\n", d.name.c_str(), gib(d.bytes), gib(d.capacity),
                    d.layers, !d.gpu ? "" : (d.bytes > d.capacity ? "  OVER" : ""));
    if (r.placement.fits)
        std::printf("speed (estimate): generation ~%.1f t/s (%.1f t/s with a full context), prompt ~%.0f t/s\n",
                    r.est_tg_ts, r.est_tg_ts_full_ctx, r.est_pp_ts);
}

// When the context does not fit (at all, or on the GPUs), say how far it goes.
void print_context_advice(const fit::WeightLayout& w, const fit::Machine& m, const fit::FitOptions& o,
                          const fit::FitResult& r) {
    if (!r.placement.fits) {
        const int64_t best = fit::largest_fitting_ctx(w, m, o, false);
        if (best > 0)
            std::printf("context %lld does not fit; the largest that does is %lld (--ctx %lld)\n",
                        static_cast<long long>(r.n_ctx), static_cast<long long>(best), static_cast<long long>(best));
        else
            std::printf("no context fits: the weights alone need more memory than there is\n");
    } else if (!m.gpus.empty() && r.placement.cpu_layers > 0) {
        const int64_t best = fit::largest_fitting_ctx(w, m, o, true);
        if (best > 0)
            std::printf("everything fits on the GPU%s up to a context of %lld (--ctx %lld)\n",
                        m.gpus.size() > 1 ? "s" : "", static_cast<long long>(best), static_cast<long long>(best));
    }
}

int run_table(const FitFlags& f, const fit::Machine& m, fit::FitOptions o) {
    if (looks_like_file(f.table)) fail("--table needs a catalogue model (see --list-models), not a file");
    const fit::CatalogueModel& model = fit::find_catalogue_model(f.table);
    ordered_json rows = ordered_json::array();
    if (!f.json) {
        std::printf("%s at context %lld on %s\n\n", std::string(model.name).c_str(),
                    static_cast<long long>(o.n_ctx ? o.n_ctx : std::min(model.n_ctx, 4096)), machine_line(m).c_str());
        std::printf("%-7s %6s %9s %10s  %-36s %8s %8s\n", "quant", "bpw", "file GB", "total GiB", "placement", "tg t/s",
                    "pp t/s");
    }
    for (const convert::QuantMix& mix : convert::quant_mixes()) {
        const fit::WeightLayout w = fit::layout_from_catalogue(model, mix);
        const fit::FitResult r = fit::fit_model(w, m, o);
        const double bpw = 8.0 * static_cast<double>(w.weights_bytes()) / static_cast<double>(w.n_params);
        if (f.json) {
            ordered_json j = result_json(w, r);
            j["bits_per_weight"] = bpw;
            rows.push_back(j);
        } else {
            std::printf("%-7s %6.2f %9.2f %10.2f  %-36s %8.1f %8.0f\n", std::string(mix.name).c_str(), bpw,
                        w.file_bytes() / 1e9, gib(r.breakdown.total()), r.placement.summary().c_str(),
                        r.placement.fits ? r.est_tg_ts : 0.0, r.placement.fits ? r.est_pp_ts : 0.0);
        }
    }
    if (f.json) std::printf("%s\n", rows.dump(2).c_str());
    return 0;
}

int run(const FitFlags& f) {
    const uint64_t base = own_resident_bytes();
    if (f.list_models) {
        for (const fit::CatalogueModel& m : fit::catalogue_models())
            std::printf("%-18s %-9s %3d layers, hidden %5d, %3d/%2d heads, vocab %6d, ctx %6d%s%s%s\n",
                        std::string(m.name).c_str(), std::string(m.arch).c_str(), m.n_layer, m.n_embd, m.n_head,
                        m.n_head_kv, m.n_vocab, m.n_ctx, m.n_expert ? fmt::format(", {} experts", m.n_expert).c_str() : "",
                        std::string(m.aliases).empty() ? "" : fmt::format("  (also {})", m.aliases).c_str(),
                        m.synth_preset.empty()
                            ? ""
                            : fmt::format("  (per-layer shapes: synth preset {}; {})", m.synth_preset, m.provenance).c_str());
        return 0;
    }
    if (f.list_gpus) {
        for (const fit::GpuSpec& g : fit::gpu_catalogue())
            std::printf("%-22s %5.0f GB %6.0f GB/s %6.0f TFLOPS %4d W  ~$%d\n", std::string(g.name).c_str(), g.vram_gb,
                        g.bandwidth_gbps, g.fp16_tflops, g.tdp_w, g.price_usd);
        return 0;
    }
    fit::FitOptions o;
    if (f.ctx < 0) fail("--ctx must be positive (got {})", f.ctx);
    o.n_ctx = f.ctx;
    o.parallel = f.parallel;
    o.n_batch = f.n_batch;
    o.n_threads = f.n_threads;
    if (f.n_threads < 0) fail("-t/--threads must be positive (got {})", f.n_threads);
    o.runtime_base_bytes = base;
    const TypeTraits& kv = parse_fit_kv_type(f.kv_type);
    o.kv_type = &kv;
    if (f.min_tps < 0) fail("--min-tps must be positive (got {})", f.min_tps);
    const fit::Machine m = resolve_machine(f);
    if (!f.table.empty()) {
        if (!f.model.empty() || !f.params.empty() || !f.quant.empty())
            fail("--table takes the model itself and shows every quantization; drop -m/--params/--quant");
        return run_table(f, m, o);
    }
    const fit::WeightLayout w = resolve_model(f, f.model, f.quant);
    const fit::FitResult r = fit::fit_model(w, m, o);
    std::vector<fit::HardwareOption> options;
    if (f.min_tps > 0) options = fit::cheapest_hardware(w, o, f.min_tps, 5);
    if (f.json) {
        ordered_json j = result_json(w, r);
        if (!r.placement.fits) j["largest_fitting_ctx"] = fit::largest_fitting_ctx(w, m, o, false);
        if (!m.gpus.empty() && r.placement.cpu_layers > 0)
            j["largest_all_gpu_ctx"] = fit::largest_fitting_ctx(w, m, o, true);
        j["machine"] = {{"source", m.source}, {"cpu", m.cpu_name}, {"ram_bytes", m.ram_bytes},
                        {"ram_usable_bytes", m.ram_usable_bytes}, {"ram_bandwidth_gbps", m.ram_bandwidth_gbps},
                        {"bandwidth_measured", m.bandwidth_measured}};
        if (f.min_tps > 0) {
            ordered_json hw = ordered_json::array();
            for (const auto& h : options)
                hw.push_back({{"name", h.name}, {"price_usd", h.price_usd}, {"est_tg_ts", h.result.est_tg_ts},
                              {"placement", h.result.placement.summary()}});
            j["cheapest_hardware"] = hw;
        }
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    print_text(w, m, o, r, kv, f.kv_type);
    print_context_advice(w, m, o, r);
    if (f.min_tps > 0) {
        std::printf("\ncheapest catalogue hardware for >= %.1f t/s at this context:\n", f.min_tps);
        if (options.empty()) std::printf("  none in the catalogue\n");
        for (const auto& h : options)
            std::printf("  %-30s ~$%-6d ~%.1f t/s  %s\n", h.name.c_str(), h.price_usd, h.result.est_tg_ts,
                        h.result.placement.summary().c_str());
    }
    return 0;
}

}  // namespace

CommandRunner add_fit_command(CLI::App& app) {
    auto f = std::make_shared<FitFlags>();
    CLI::App* cmd = app.add_subcommand("fit", "will a model fit this machine: memory, layer placement, speed");
    cmd->footer(
        "Examples:\n"
        "  hearth fit -m model.gguf                        (exact sizes from the file, this machine)\n"
        "  hearth fit -m llama3.1:70b --quant Q3_K_S --gpu \"RTX 4090\" --gpus 2 --ram 64G\n"
        "  hearth fit --params 70.6B --quant F16 --ctx 8192\n"
        "  hearth fit --table llama3.1:8b --gpu \"RTX 3060 12GB\"\n"
        "  hearth fit -m qwen2.5:32b --min-tps 20          (cheapest catalogue hardware)\n"
        "Memory = weights + KV cache (2 x layers x ctx x kv heads x head dim x bytes x sequences)\n"
        "+ compute buffers + runtime overhead; see docs/fit.md for the model and its limits.\n"
        "Speeds are roofline estimates: bandwidth for generation, compute for prompts.");
    cmd->add_option("-m,--model", f->model, "GGUF file, or a catalogue model such as llama3.1:8b");
    cmd->add_option("--quant", f->quant, "quantization of a catalogue model (default Q4_K_M): " + convert::quant_mix_names());
    cmd->add_option("--params", f->params, "parameter count of a dense model not in the catalogue (70.6B, 500M)");
    cmd->add_option("--layers", f->layers, "with --params: layer count (for the KV cache)");
    cmd->add_option("--hidden", f->hidden, "with --params: hidden size");
    cmd->add_option("--kv-heads", f->kv_heads, "with --params: key/value heads");
    cmd->add_option("--head-dim", f->head_dim, "with --params: head dimension");
    cmd->add_option("-c,--ctx,--ctx-size", f->ctx, "context in tokens (default: hearth's, the model's capped at 4096)");
    cmd->add_option("--parallel", f->parallel, "sequences served at once, each with its own KV cache")->capture_default_str();
    cmd->add_option("--kv-type", f->kv_type, "KV cache type: f16, f32, q8_0, q4_0")->capture_default_str();
    cmd->add_option("-b,--batch-size", f->n_batch, "prompt tokens per forward pass")->capture_default_str();
    cmd->add_option("-t,--threads", f->n_threads, "threads (default: all)");
    cmd->add_option("--gpu", f->gpu, "a catalogue GPU instead of the detected ones (--list-gpus)");
    cmd->add_option("--gpus", f->n_gpus, "how many of --gpu")->capture_default_str();
    cmd->add_option("--ram", f->ram, "host RAM instead of the detected amount (64G, 512M)");
    cmd->add_option("--ram-bandwidth", f->ram_bandwidth, "host memory bandwidth in GB/s (stated --ram assumes 89.6)");
    cmd->add_flag("--cpu-only", f->cpu_only, "ignore GPUs");
    cmd->add_flag("--measure-bandwidth", f->measure_bandwidth, "measure RAM bandwidth now (cached for later runs)");
    cmd->add_option("--min-tps", f->min_tps, "list the cheapest catalogue hardware reaching this generation speed");
    cmd->add_option("--table", f->table, "every quantization of a catalogue model side by side");
    cmd->add_flag("--list-models", f->list_models, "list the model catalogue");
    cmd->add_flag("--list-gpus", f->list_gpus, "list the GPU catalogue");
    cmd->add_flag("--json", f->json, "one JSON object (an array with --table)");
    return [f] { return run(*f); };
}

}  // namespace hearth::cli
