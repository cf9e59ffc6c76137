#include "fit/plan.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/error.h"
#include "model/memory.h"

namespace hearth::fit {
namespace {

// Fractions of the peak a runtime reaches: GPUs stream weights at ~70% of their datasheet
// bandwidth and reach ~40% of dense FP16 throughput on prompt batches; on a CPU the measured
// probe figure is already achievable (90% of it), a datasheet figure is not (60%).
constexpr double kGpuBandwidthEff = 0.70;
constexpr double kGpuComputeEff = 0.40;
constexpr double kCpuComputeEff = 0.50;
double cpu_bandwidth_eff(const Machine& m) { return m.bandwidth_measured ? 0.90 : 0.60; }

const TypeTraits& kv_traits(const FitOptions& o) { return o.kv_type ? *o.kv_type : type_traits(TensorType::F16); }

// The parsed metadata the loader keeps (exact for a file; for a catalogue model, the token,
// score and type arrays) and the tokenizer's own tables (calibrated per token and per merge,
// plus its two copies of each long piece: the vocabulary and its index).
uint64_t tokenizer_bytes(const WeightLayout& w) {
    const uint64_t n = static_cast<uint64_t>(std::max(w.hp.n_vocab, 0));
    const uint64_t metadata = w.metadata_heap_bytes ? w.metadata_heap_bytes
                                                    : (3 * n + w.n_merges) * kMetadataValueBytes;
    return metadata + n * kTokenizerBytesPerToken + 2 * w.n_piece_bytes + w.n_merges * kTokenizerBytesPerMerge;
}

struct Sizes {
    std::vector<uint64_t> layer_weights;
    uint64_t layer_kv = 0;  // one layer's KV cache, all sequences
    uint64_t compute = 0;
    Breakdown b;
};

Sizes sizes(const WeightLayout& w, const Machine& m, const FitOptions& o, int64_t n_ctx) {
    Sizes s;
    const HParams& hp = w.hp;
    const int threads = o.n_threads > 0 ? o.n_threads : std::max(m.cpu_threads, 1);
    const uint64_t kv_one = memory::sequence_cache_bytes(hp, n_ctx, kv_traits(o));  // KV + any recurrent state
    const int L = std::max(hp.n_layer, 1);
    s.layer_kv = kv_one / static_cast<uint64_t>(L) * static_cast<uint64_t>(o.parallel);
    s.layer_weights = w.layer_bytes;
    s.layer_weights.resize(static_cast<size_t>(L), 0);
    const int64_t batch = std::min<int64_t>(o.n_batch, n_ctx);
    s.compute = memory::forward_activation_bytes(hp, batch) + memory::kernel_scratch_bytes(hp, batch, n_ctx, threads) +
                memory::logits_bytes(hp, batch, 1, false);
    Breakdown& b = s.b;
    b.weights = w.weights_bytes();
    b.kv_layers = memory::kv_cache_breakdown(hp, n_ctx, kv_traits(o));
    for (memory::KvLayerGroup& g : b.kv_layers.groups) g.bytes *= static_cast<size_t>(o.parallel);
    b.recurrent_state = (1 + memory::kStateCheckpoints) * memory::recurrent_state_bytes(hp) *
                        static_cast<uint64_t>(o.parallel);
    b.kv_cache = b.kv_layers.total() + b.recurrent_state;  // = kv_one × parallel
    b.compute = s.compute;
    b.runtime = (o.runtime_base_bytes ? o.runtime_base_bytes : kRuntimeBaseBytes) + kRunCodeBytes +
                static_cast<uint64_t>(threads - 1) * kPerThreadBytes;  // the pool's workers; the main thread computes too
    b.tokenizer = tokenizer_bytes(w);
    b.host_copies = memory::model_host_copy_bytes(hp, [&w](const TensorInstance& t) { return w.has_optional(t.name); });
    b.metadata = w.header_bytes;
    b.gpu_reserve = m.gpus.empty() || m.gpus[0].unified ? 0 : kGpuRuntimeReserve * m.gpus.size();
    b.overhead = b.runtime + b.tokenizer + b.host_copies + b.metadata + b.gpu_reserve;
    return s;
}

Placement place(const WeightLayout& w, const Machine& m, const Sizes& s) {
    Placement p;
    const int L = static_cast<int>(s.layer_weights.size());
    // Each GPU also holds a compute buffer; the runtime reserve is already out of usable_bytes.
    std::vector<uint64_t> cap;
    uint64_t total_cap = 0, need_all = w.output_bytes;
    for (const Device& d : m.gpus) {
        cap.push_back(d.usable_bytes > s.compute ? d.usable_bytes - s.compute : 0);
        total_cap += cap.back();
        p.devices.push_back({d.name, 0, d.usable_bytes, 0, true});
    }
    for (int i = 0; i < L; ++i) need_all += s.layer_weights[static_cast<size_t>(i)] + s.layer_kv;
    const bool all_fit = !cap.empty() && total_cap > 0 && need_all <= total_cap;
    // All fit: split layers in proportion to each device's room; otherwise fill them in order.
    size_t g = 0;
    std::vector<uint64_t> used(cap.size(), 0);
    int layer = 0;
    for (; layer < L && g < cap.size(); ++layer) {
        const uint64_t need = s.layer_weights[static_cast<size_t>(layer)] + s.layer_kv;
        const int target = all_fit ? static_cast<int>(std::ceil(static_cast<double>(L) * cap[g] / total_cap)) : L;
        while (g < cap.size() && (used[g] + need > cap[g] || p.devices[g].layers >= target)) {
            ++g;
            if (g == cap.size()) break;
        }
        if (g == cap.size()) break;
        used[g] += need;
        p.devices[g].layers++;
    }
    p.gpu_layers = layer;
    p.cpu_layers = L - layer;
    // The output head goes with the last layer when every layer is on a GPU.
    if (p.cpu_layers == 0 && !cap.empty()) {
        for (size_t k = cap.size(); k-- > 0;)
            if (used[k] + w.output_bytes <= cap[k]) {
                used[k] += w.output_bytes;
                p.output_on_gpu = true;
                break;
            }
    }
    for (size_t k = 0; k < cap.size(); ++k)
        if (p.devices[k].layers > 0 || (p.output_on_gpu && used[k] > 0)) p.devices[k].bytes = used[k] + s.compute;
    // The host: token embedding and per-layer embedding table, layers left over, the output head if not on a GPU, metadata,
    // tokenizer and runtime, and a compute buffer when it computes layers.
    uint64_t host = w.embd_bytes + w.ple_embd_bytes + w.other_bytes + s.b.metadata + s.b.tokenizer + s.b.host_copies + s.b.runtime;
    for (int i = p.gpu_layers; i < L; ++i) host += s.layer_weights[static_cast<size_t>(i)] + s.layer_kv;
    if (!p.output_on_gpu) host += w.output_bytes;
    if (p.cpu_layers > 0 || cap.empty()) host += s.compute;
    DeviceUse cpu{"CPU", host, m.ram_usable_bytes, p.cpu_layers, false};
    p.devices.push_back(cpu);
    p.fits = host <= m.ram_usable_bytes;
    p.shortfall = p.fits ? 0 : host - m.ram_usable_bytes;
    return p;
}

void estimate_speed(const WeightLayout& w, const Machine& m, const Sizes& s, FitResult& r) {
    const Placement& p = r.placement;
    const uint64_t total = w.weights_bytes();
    const double active = total ? static_cast<double>(w.active_bytes_per_token()) / static_cast<double>(total) : 1;
    // Only routed experts are read: scale each layer's bytes by the active share of the model.
    auto layer_read = [&](int i) { return static_cast<double>(s.layer_weights[static_cast<size_t>(i)]) * active; };
    const double flops_per_byte = w.flops_per_token() / std::max(1.0, static_cast<double>(w.active_bytes_per_token()));
    double t0 = 0, t_full = 0, t_pp = 0;
    int layer = 0;
    for (size_t g = 0; g + 1 < p.devices.size(); ++g) {
        const Device& d = m.gpus[g];
        double bytes = 0;
        for (int k = 0; k < p.devices[g].layers; ++k) bytes += layer_read(layer++);
        if (p.output_on_gpu && g + 2 == p.devices.size()) bytes += static_cast<double>(w.output_bytes);
        const double kv = static_cast<double>(s.layer_kv) * p.devices[g].layers;
        const double bw = d.bandwidth_gbps * 1e9 * kGpuBandwidthEff;
        t0 += bytes / bw;
        t_full += (bytes + kv) / bw;
        t_pp += bytes * flops_per_byte / (d.tflops * 1e12 * kGpuComputeEff);
    }
    double host = 0;
    for (int i = layer; i < static_cast<int>(s.layer_weights.size()); ++i) host += layer_read(i);
    if (!p.output_on_gpu) host += static_cast<double>(w.output_bytes);
    const double host_kv = static_cast<double>(s.layer_kv) * p.cpu_layers;
    const double bw = m.ram_bandwidth_gbps * 1e9 * cpu_bandwidth_eff(m);
    t0 += host / bw;
    t_full += (host + host_kv) / bw;
    t_pp += host * flops_per_byte / (std::max(m.cpu_tflops, 0.01) * 1e12 * kCpuComputeEff);
    r.est_tg_ts = t0 > 0 ? 1.0 / t0 : 0;
    r.est_tg_ts_full_ctx = t_full > 0 ? 1.0 / t_full : 0;
    r.est_pp_ts = t_pp > 0 ? 1.0 / t_pp : 0;
}

}  // namespace

std::string Placement::summary() const {
    const int L = gpu_layers + cpu_layers;
    if (!fits) return fmt::format("does not fit: {:.2f} GiB short", shortfall / 1073741824.0);
    if (devices.size() == 1) return "CPU only (all in host RAM)";
    if (cpu_layers == 0) return fmt::format("all {} layers on GPU", L);
    if (gpu_layers == 0) return fmt::format("CPU only: no layer fits on the GPU");
    return fmt::format("{} of {} layers on GPU, {} on the CPU", gpu_layers, L, cpu_layers);
}

FitResult fit_model(const WeightLayout& w, const Machine& m, const FitOptions& o) {
    if (o.parallel < 1 || o.parallel > 4096) fail("--parallel must be between 1 and 4096 (got {})", o.parallel);
    if (o.n_batch < 1 || o.n_batch > (1 << 20)) fail("-b/--batch-size must be between 1 and 1048576 (got {})", o.n_batch);
    if (o.n_ctx < 0) fail("--ctx must be positive (got {})", o.n_ctx);
    if (o.n_ctx > (int64_t{1} << 30)) fail("--ctx {} is too large", o.n_ctx);
    FitResult r;
    r.n_ctx = o.n_ctx > 0 ? o.n_ctx : resolve_context_size(w.hp, 0);
    const Sizes s = sizes(w, m, o, r.n_ctx);
    r.breakdown = s.b;
    r.placement = place(w, m, s);
    estimate_speed(w, m, s, r);
    // Embedding tables read a row per token (an untied token_embd, the per-layer table) stay
    // mapped but mostly unread: their pages are not resident.
    r.predicted_rss = s.b.total() - s.b.gpu_reserve - (w.tied_embeddings ? 0 : w.embd_bytes) - w.ple_embd_bytes;
    return r;
}

int64_t largest_fitting_ctx(const WeightLayout& w, const Machine& m, const FitOptions& o, bool all_on_gpu) {
    auto ok = [&](int64_t ctx) {
        FitOptions c = o;
        c.n_ctx = ctx;
        const FitResult r = fit_model(w, m, c);
        return r.placement.fits && (!all_on_gpu || (r.placement.cpu_layers == 0 && !m.gpus.empty()));
    };
    int64_t lo = 0, hi = std::clamp<int64_t>(w.hp.n_ctx_train, 1, int64_t{1} << 30);
    if (ok(hi)) return hi;
    while (hi - lo > 1) {
        const int64_t mid = lo + (hi - lo) / 2;
        (ok(mid) ? lo : hi) = mid;
    }
    return lo;
}

std::vector<HardwareOption> cheapest_hardware(const WeightLayout& w, const FitOptions& o, double min_tps, size_t n) {
    std::vector<HardwareOption> out;
    Machine host;  // a GPU box's host: 64 GiB is common; its CPU hardly matters here
    host.cpu_threads = 16;
    host.cpu_tflops = 1.0;
    host.ram_bandwidth_gbps = 60;
    host.ram_bytes = uint64_t{64} << 30;
    auto consider = [&](const std::string& name, int price, const Machine& m, bool need_all_gpu) {
        const FitResult r = fit_model(w, m, o);
        if (!r.placement.fits || r.est_tg_ts < min_tps) return false;
        if (need_all_gpu && r.placement.cpu_layers > 0) return false;
        out.push_back({name, price, r});
        return true;
    };
    for (const GpuSpec& g : gpu_catalogue()) {
        // Layers split over GPUs run one after another, so more of the same card adds memory,
        // not speed: the smallest count that qualifies is the one to buy.
        for (int count = 1; count <= (g.unified ? 1 : 8); count *= 2) {
            Machine m = stated_machine(std::string(g.name), count, 0, host);
            if (!g.unified) m.ram_usable_bytes = m.ram_bytes - (uint64_t{6} << 30);
            if (consider(count > 1 ? fmt::format("{}x {}", count, g.name) : std::string(g.name), m.price_usd, m, true))
                break;
        }
    }
    for (const CpuSystemSpec& c : cpu_system_catalogue()) {
        Machine m;
        m.cpu_name = std::string(c.name);
        m.cpu_threads = 16;
        m.cpu_tflops = c.tflops;
        m.ram_bytes = static_cast<uint64_t>(c.ram_gb * 1073741824.0);
        m.ram_usable_bytes = m.ram_bytes - m.ram_bytes / 10;
        m.ram_bandwidth_gbps = c.bandwidth_gbps;
        consider(std::string(c.name), c.price_usd, m, false);
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.price_usd < b.price_usd; });
    if (out.size() > n) out.resize(n);
    return out;
}

}  // namespace hearth::fit
