// Binds GGUF tensors to the weight structs by walking the architecture's manifest, checking
// each one's presence, type and shape.
#include <algorithm>

#include <fmt/format.h>

#include "common/error.h"
#include "common/thread_pool.h"
#include "model/model.h"

namespace hearth {
namespace {

// "F32, F16, …": the types the kernels compute with, from the trait table.
std::string computable_types() {
    std::string out;
    for (uint32_t id = 0; id < 64; ++id)
        if (const TypeTraits* t = find_type_traits(id); t && t->supported()) out += (out.empty() ? "" : ", ") + std::string(t->name);
    return out;
}

std::string shape_of(const std::vector<int64_t>& dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

class Binder {
public:
    explicit Binder(const gguf::File& f) : f_(f) {}

    // The file's tensor for `t`, checked against the manifest's shape; nullptr when absent.
    const gguf::TensorInfo* find_checked(const TensorInstance& t) const {
        const gguf::TensorInfo* info = f_.find_tensor(t.name);
        if (!info) {
            if (t.spec->required) fail("{}: missing tensor '{}' (expected shape {})", f_.path(), t.name, shape_of(t.dims));
            return nullptr;
        }
        if (info->dims != t.dims) {
            if (t.spec->kind == TensorKind::ExpertStack && info->dims.size() == 3 && info->dims[2] != t.dims[2])
                fail("{}: tensor '{}' holds {} experts but expert_count is {}", f_.path(), t.name, info->dims[2],
                     t.dims[2]);
            fail("{}: tensor '{}' has shape {}, expected {}", f_.path(), t.name, info->shape_string(), shape_of(t.dims));
        }
        if (!info->traits->supported())
            fail("{}: tensor '{}' has type {}, which hearth cannot compute with (supported: {})", f_.path(), t.name,
                 info->traits->name, computable_types());
        return info;
    }

    static ops::Matrix matrix(const gguf::TensorInfo& t, const uint8_t* data, int64_t cols, int64_t rows,
                              const std::string& name) {
        ops::Matrix m;
        m.type = t.traits;
        m.data = data;
        m.cols = cols;
        m.rows = rows;
        m.row_bytes = row_bytes(*t.traits, cols);
        m.name = name;
        return m;
    }

    static std::vector<float> floats(const gguf::TensorInfo& t) {
        std::vector<float> out(static_cast<size_t>(t.n_elements));
        t.traits->dequantize_row(t.data, out.data(), t.n_elements);
        return out;
    }

    // One matrix per expert, viewing the 3-D stack in place.
    static std::vector<ops::Matrix> experts(const gguf::TensorInfo& t) {
        const int64_t cols = t.dims[0], rows = t.dims[1], n = t.dims[2];
        const size_t expert_bytes = row_bytes(*t.traits, cols) * static_cast<size_t>(rows);
        std::vector<ops::Matrix> out;
        for (int64_t e = 0; e < n; ++e)
            out.push_back(matrix(t, t.data + static_cast<size_t>(e) * expert_bytes, cols, rows,
                                 fmt::format("{}[{}]", t.name, e)));
        return out;
    }

private:
    const gguf::File& f_;
};

ops::Matrix* matrix_slot(ModelWeights& w, LayerWeights* L, Slot s) {
    switch (s) {
        case Slot::TokenEmbd: return &w.token_embd;
        case Slot::Output: return &w.output;
        case Slot::Wq: return &L->wq;
        case Slot::Wk: return &L->wk;
        case Slot::Wv: return &L->wv;
        case Slot::Wqkv: return &L->wqkv;
        case Slot::Wo: return &L->wo;
        case Slot::Gate: return &L->w_gate;
        case Slot::Up: return &L->w_up;
        case Slot::Down: return &L->w_down;
        case Slot::Router: return &L->router;
        case Slot::GateShexp: return &L->gate_shexp;
        case Slot::UpShexp: return &L->up_shexp;
        case Slot::DownShexp: return &L->down_shexp;
        case Slot::SsmQkv: return &L->ssm_qkv;
        case Slot::SsmZ: return &L->ssm_z;
        case Slot::SsmBeta: return &L->ssm_beta;
        case Slot::SsmAlpha: return &L->ssm_alpha;
        case Slot::SsmOut: return &L->ssm_out;
        case Slot::PleTokenEmbd: return &w.ple_token_embd;
        case Slot::PleModelProj: return &w.ple_model_proj;
        case Slot::PleGate: return &L->ple_gate;
        case Slot::PleProj: return &L->ple_proj;
        default: return nullptr;
    }
}

std::vector<float>* vector_slot(ModelWeights& w, LayerWeights* L, Slot s) {
    switch (s) {
        case Slot::OutputNorm: return &w.output_norm;
        case Slot::RopeFreqs: return &w.rope_freqs;
        case Slot::RopeFactorsShort: return &w.rope_factors_short;
        case Slot::RopeFactorsLong: return &w.rope_factors_long;
        case Slot::AttnNorm: return &L->attn_norm;
        case Slot::Bq: return &L->bq;
        case Slot::Bk: return &L->bk;
        case Slot::Bv: return &L->bv;
        case Slot::Bo: return &L->bo;
        case Slot::QNorm: return &L->q_norm;
        case Slot::KNorm: return &L->k_norm;
        case Slot::Sinks: return &L->sinks;
        case Slot::PostAttnNorm: return &L->post_attn_norm;
        case Slot::FfnNorm: return &L->ffn_norm;
        case Slot::PostFfnNorm: return &L->post_ffn_norm;
        case Slot::RouterBias: return &L->router_bias;
        case Slot::GateExpsBias: return &L->gate_exps_bias;
        case Slot::UpExpsBias: return &L->up_exps_bias;
        case Slot::DownExpsBias: return &L->down_exps_bias;
        case Slot::ShexpGate: return &L->shexp_gate;
        case Slot::SsmConv: return &L->ssm_conv;
        case Slot::SsmDtBias: return &L->ssm_dt_bias;
        case Slot::SsmA: return &L->ssm_a;
        case Slot::SsmNorm: return &L->ssm_norm;
        case Slot::LayerOutScale: return &L->layer_out_scale;
        case Slot::PleProjNorm: return &w.ple_proj_norm;
        case Slot::PlePostNorm: return &L->ple_post_norm;
        default: return nullptr;
    }
}

std::vector<ops::Matrix>* experts_slot(LayerWeights* L, Slot s) {
    switch (s) {
        case Slot::GateExps: return &L->gate_exps;
        case Slot::UpExps: return &L->up_exps;
        case Slot::DownExps: return &L->down_exps;
        default: return nullptr;
    }
}

void bind(const TensorInstance& t, const gguf::TensorInfo& info, ModelWeights& w) {
    LayerWeights* L = t.layer >= 0 ? &w.layers[static_cast<size_t>(t.layer)] : nullptr;
    const Slot slot = t.spec->slot;
    switch (t.spec->kind) {
        case TensorKind::Matrix:
            if (ops::Matrix* m = matrix_slot(w, L, slot)) {
                *m = Binder::matrix(info, info.data, info.dims[0], info.dims[1], t.name);
                return;
            }
            break;
        case TensorKind::Vector:
        case TensorKind::ExpertVectors:
        case TensorKind::FloatTable:
            if (std::vector<float>* v = vector_slot(w, L, slot)) {
                *v = Binder::floats(info);
                return;
            }
            break;
        case TensorKind::ExpertStack:
            if (std::vector<ops::Matrix>* e = experts_slot(L, slot)) {
                *e = Binder::experts(info);
                return;
            }
            break;
    }
    fail("internal: tensor '{}' has no place in the weights (slot {})", t.name, static_cast<int>(slot));
}

// The active backend may read some matrices faster in another layout (ops::prefers_repacked):
// convert those once, on every core, and drop the mapped pages they came from so that memory
// holds one copy of each weight.
void repack_for_backend(const gguf::File& f, ModelWeights& w) {
    std::vector<ops::Matrix*> todo;
    std::vector<std::vector<ops::Matrix>*> stacks;
    for (LayerWeights& L : w.layers) {
        for (ops::Matrix* m : L.matrix_slots())
            if (!m->empty() && m != &L.router && ops::prefers_repacked(*m)) todo.push_back(m);
        for (auto* stack : {&L.gate_exps, &L.up_exps, &L.down_exps})
            if (!stack->empty() && std::ranges::all_of(*stack, ops::prefers_repacked)) stacks.push_back(stack);
    }
    // token_embd is read a row at a time (get_row converts one row back), but when it is also
    // the output matrix every generated token reads all of it.
    if (w.tied_output) {
        if (ops::prefers_repacked(w.token_embd)) todo.push_back(&w.token_embd);
    } else if (ops::prefers_repacked(w.output)) {
        todo.push_back(&w.output);
    }
    if (!w.ple_model_proj.empty() && ops::prefers_repacked(w.ple_model_proj)) todo.push_back(&w.ple_model_proj);
    if (todo.empty() && stacks.empty()) return;
    ThreadPool pool(ThreadPool::default_threads());
    auto release = [&f](const uint8_t* p, size_t n) { f.release_pages(p, n); };
    for (ops::Matrix* m : todo) *m = ops::repack(*m, &pool, release);
    for (std::vector<ops::Matrix>* stack : stacks) *stack = ops::repack(*stack, &pool, release);
    if (w.tied_output) w.output = w.token_embd;
}

}  // namespace

std::vector<const ops::Matrix*> ModelWeights::matrices() const {
    std::vector<const ops::Matrix*> out{&token_embd};
    if (!tied_output) out.push_back(&output);
    for (const ops::Matrix* m : {&ple_token_embd, &ple_model_proj})
        if (!m->empty()) out.push_back(m);
    for (const LayerWeights& L : layers) {
        for (const ops::Matrix* m : L.matrix_slots())
            if (!m->empty()) out.push_back(m);
        for (const auto* stack : {&L.gate_exps, &L.up_exps, &L.down_exps})
            for (const ops::Matrix& m : *stack) out.push_back(&m);
    }
    return out;
}

std::unique_ptr<Model> Model::load(std::shared_ptr<const gguf::File> file) {
    std::unique_ptr<Model> m(new Model());
    m->file_ = std::move(file);
    const gguf::File& f = *m->file_;
    m->hp_ = read_hparams(f);
    HParams& hp = m->hp_;
    Binder b(f);

    // The vocabulary size is the embedding's row count; everything else follows the metadata.
    const gguf::TensorInfo* embd = f.find_tensor("token_embd.weight");
    if (!embd) fail("{}: missing tensor 'token_embd.weight'", f.path());
    if (embd->dims.size() != 2 || embd->dims[0] != hp.n_embd)
        fail("{}: tensor 'token_embd.weight' has shape {}, expected [{}, n_vocab]", f.path(), embd->shape_string(),
             hp.n_embd);
    hp.n_vocab = static_cast<int>(embd->dims[1]);
    if (auto v = f.get_u64(hp.arch_name + ".vocab_size"); v && *v != static_cast<uint64_t>(hp.n_vocab))
        fail("{}: {}.vocab_size is {} but token_embd.weight has {} rows", f.path(), hp.arch_name, *v, hp.n_vocab);

    // Every layer owns at least one tensor, so a block count above the tensor count is a
    // corrupt file; checked before anything is sized by it.
    if (static_cast<size_t>(hp.n_layer) > f.tensors().size())
        fail("{}: {}.block_count = {} but the file holds only {} tensors", f.path(), hp.arch_name, hp.n_layer,
             f.tensors().size());
    m->w_.layers.resize(static_cast<size_t>(hp.n_layer));
    auto in_file = [&f](const TensorInstance& t) { return f.find_tensor(t.name) != nullptr; };
    for (const TensorInstance& t : expand_manifest(hp, in_file))
        if (const gguf::TensorInfo* info = b.find_checked(t)) bind(t, *info, m->w_);

    ModelWeights& w = m->w_;
    // Layers that read an earlier layer's KV never run their own key/value projections, which
    // converters may still write: drop them so that bytes per token counts what is read.
    for (int il = 0; il < hp.n_layer; ++il)
        if (hp.shares_kv(il)) {
            LayerWeights& L = w.layers[static_cast<size_t>(il)];
            L.wk = {}, L.wv = {};
        }
    if (w.output.empty()) {
        w.output = w.token_embd;
        w.tied_output = true;
    }
    for (const auto* factors : {&w.rope_freqs, &w.rope_factors_short, &w.rope_factors_long})
        for (float v : *factors)
            if (!(v > 0)) fail("{}: a rope frequency factor tensor holds a non-positive factor {}", f.path(), v);
    hp.rope.freq_factors = w.rope_freqs.empty() ? nullptr : w.rope_freqs.data();
    hp.rope_local.freq_factors = hp.arch->local_rope_unscaled ? nullptr : hp.rope.freq_factors;
    repack_for_backend(f, w);
    return m;
}

size_t Model::bytes_per_token() const {
    size_t total = w_.token_embd.row_bytes + w_.output.bytes();
    if (!w_.ple_token_embd.empty()) total += w_.ple_token_embd.row_bytes + w_.ple_model_proj.bytes();
    for (const LayerWeights& L : w_.layers) {
        for (const ops::Matrix* m : L.matrix_slots())
            if (!m->empty()) total += m->bytes();
        size_t experts = 0;
        for (const auto* stack : {&L.gate_exps, &L.up_exps, &L.down_exps})
            for (const ops::Matrix& m : *stack) experts += m.bytes();
        if (hp_.n_expert > 0) total += experts / static_cast<size_t>(hp_.n_expert) * static_cast<size_t>(hp_.n_expert_used);
    }
    return total;
}

uint64_t Model::active_params() const {
    auto params = [](const ops::Matrix& m) { return m.empty() ? uint64_t{0} : static_cast<uint64_t>(m.rows * m.cols); };
    uint64_t total = static_cast<uint64_t>(w_.token_embd.cols) + (w_.tied_output ? params(w_.token_embd) : params(w_.output));
    if (!w_.ple_token_embd.empty())
        total += static_cast<uint64_t>(w_.ple_token_embd.cols) + params(w_.ple_model_proj);
    for (const LayerWeights& L : w_.layers) {
        for (const ops::Matrix* m : L.matrix_slots()) total += params(*m);
        uint64_t experts = 0;
        for (const auto* stack : {&L.gate_exps, &L.up_exps, &L.down_exps})
            for (const ops::Matrix& m : *stack) experts += params(m);
        if (hp_.n_expert > 0) total += experts / static_cast<uint64_t>(hp_.n_expert) * static_cast<uint64_t>(hp_.n_expert_used);
    }
    return total;
}

size_t Model::host_copy_bytes() const {
    auto bytes = [](const std::vector<float>& v) { return v.size() * sizeof(float); };
    size_t total = bytes(w_.output_norm) + bytes(w_.rope_freqs) + bytes(w_.rope_factors_short) +
                   bytes(w_.rope_factors_long) + bytes(w_.ple_proj_norm);
    for (const LayerWeights& L : w_.layers)
        for (const auto* v : L.vector_slots()) total += bytes(*v);
    return total;
}

}  // namespace hearth
