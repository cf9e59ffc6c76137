// Binds GGUF tensors to the weight struct, checking each one's presence, type and shape.
#include <fmt/format.h>

#include "common/error.h"
#include "common/thread_pool.h"
#include "model/model.h"

namespace hearth {
namespace {

class Binder {
public:
    explicit Binder(const gguf::File& f) : f_(f) {}

    const gguf::TensorInfo* find(const std::string& name) const { return f_.find_tensor(name); }

    // A 2-D weight of `rows` rows of `cols` elements, in any supported type.
    ops::Matrix matrix(const std::string& name, int64_t cols, int64_t rows, bool required = true) const {
        const gguf::TensorInfo* t = find(name);
        if (!t) {
            if (required) fail("{}: missing tensor '{}'", f_.path(), name);
            return {};
        }
        if (t->dims.size() != 2 || t->dims[0] != cols || (rows >= 0 && t->dims[1] != rows))
            fail("{}: tensor '{}' has shape {}, expected [{}, {}]", f_.path(), name, t->shape_string(),
                 cols, rows >= 0 ? std::to_string(rows) : std::string("n"));
        check_supported(*t);
        ops::Matrix m;
        m.type = t->traits;
        m.data = t->data;
        m.cols = t->dims[0];
        m.rows = t->dims[1];
        m.row_bytes = row_bytes(*t->traits, m.cols);
        m.name = name;
        return m;
    }

    // A 1-D vector (norm weights, biases), converted to float once at load.
    std::vector<float> vector(const std::string& name, int64_t n, bool required = true) const {
        const gguf::TensorInfo* t = find(name);
        if (!t) {
            if (required) fail("{}: missing tensor '{}'", f_.path(), name);
            return {};
        }
        if (t->n_elements != n || t->dims.size() != 1)
            fail("{}: tensor '{}' has shape {}, expected [{}]", f_.path(), name, t->shape_string(), n);
        check_supported(*t);
        std::vector<float> out(static_cast<size_t>(n));
        t->traits->dequantize_row(t->data, out.data(), n);
        return out;
    }

private:
    void check_supported(const gguf::TensorInfo& t) const {
        if (!t.traits->supported())
            fail("{}: tensor '{}' has type {}, which hearth cannot compute with yet (supported: F32, "
                 "F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)",
                 f_.path(), t.name, t.traits->name);
    }
    const gguf::File& f_;
};

// The active backend may read some matrices faster in another layout (ops::prefers_repacked):
// convert those once, on every core, and drop the mapped pages they came from so that memory
// holds one copy of each weight.
void repack_for_backend(const gguf::File& f, ModelWeights& w) {
    std::vector<ops::Matrix*> todo;
    for (LayerWeights& L : w.layers)
        for (ops::Matrix* m : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down})
            if (ops::prefers_repacked(*m)) todo.push_back(m);
    // token_embd is read a row at a time (get_row converts one row back), but when it is also
    // the output matrix every generated token reads all of it.
    if (w.tied_output) {
        if (ops::prefers_repacked(w.token_embd)) todo.push_back(&w.token_embd);
    } else if (ops::prefers_repacked(w.output)) {
        todo.push_back(&w.output);
    }
    if (todo.empty()) return;
    ThreadPool pool(ThreadPool::default_threads());
    for (ops::Matrix* m : todo)
        *m = ops::repack(*m, &pool, [&f](const uint8_t* p, size_t n) { f.release_pages(p, n); });
    if (w.tied_output) w.output = w.token_embd;
}

}  // namespace

std::unique_ptr<Model> Model::load(std::shared_ptr<const gguf::File> file) {
    std::unique_ptr<Model> m(new Model());
    m->file_ = std::move(file);
    const gguf::File& f = *m->file_;
    m->hp_ = read_hparams(f);
    HParams& hp = m->hp_;
    Binder b(f);

    m->w_.token_embd = b.matrix("token_embd.weight", hp.n_embd, -1);
    hp.n_vocab = static_cast<int>(m->w_.token_embd.rows);
    m->w_.output_norm = b.vector("output_norm.weight", hp.n_embd);
    m->w_.output = b.matrix("output.weight", hp.n_embd, hp.n_vocab, /*required=*/false);
    if (m->w_.output.empty()) {
        m->w_.output = m->w_.token_embd;
        m->w_.tied_output = true;
    }
    if (b.find("rope_freqs.weight")) {
        m->w_.rope_freqs = b.vector("rope_freqs.weight", hp.rope.n_rot / 2);
        for (float v : m->w_.rope_freqs)
            if (!(v > 0)) fail("{}: tensor 'rope_freqs.weight' holds a non-positive factor {}", f.path(), v);
    }

    const int64_t E = hp.n_embd;
    for (int il = 0; il < hp.n_layer; ++il) {
        auto name = [il](const char* part) { return fmt::format("blk.{}.{}", il, part); };
        LayerWeights L;
        L.attn_norm = b.vector(name("attn_norm.weight"), E);
        L.wq = b.matrix(name("attn_q.weight"), E, hp.q_width());
        L.wk = b.matrix(name("attn_k.weight"), E, hp.kv_width());
        L.wv = b.matrix(name("attn_v.weight"), E, hp.v_width());
        L.wo = b.matrix(name("attn_output.weight"), static_cast<int64_t>(hp.n_head) * hp.head_dim_v, E);
        // Biases are part of qwen2 but harmless to honour wherever a converter wrote them.
        L.bq = b.vector(name("attn_q.bias"), hp.q_width(), hp.has_qkv_bias);
        L.bk = b.vector(name("attn_k.bias"), hp.kv_width(), hp.has_qkv_bias);
        L.bv = b.vector(name("attn_v.bias"), hp.v_width(), hp.has_qkv_bias);
        if (hp.has_qk_norm) {
            L.q_norm = b.vector(name("attn_q_norm.weight"), hp.head_dim);
            L.k_norm = b.vector(name("attn_k_norm.weight"), hp.head_dim);
        }
        L.ffn_norm = b.vector(name("ffn_norm.weight"), E);
        L.w_gate = b.matrix(name("ffn_gate.weight"), E, hp.n_ff);
        L.w_up = b.matrix(name("ffn_up.weight"), E, hp.n_ff);
        L.w_down = b.matrix(name("ffn_down.weight"), hp.n_ff, E);
        m->w_.layers.push_back(std::move(L));
    }
    if (auto v = f.get_u64(hp.arch_name + ".vocab_size"); v && *v != static_cast<uint64_t>(hp.n_vocab))
        fail("{}: {}.vocab_size is {} but token_embd.weight has {} rows", f.path(), hp.arch_name, *v, hp.n_vocab);
    m->hp_.rope.freq_factors = m->w_.rope_freqs.empty() ? nullptr : m->w_.rope_freqs.data();
    repack_for_backend(f, m->w_);
    return m;
}

size_t Model::bytes_per_token() const {
    size_t total = w_.token_embd.row_bytes + w_.output.bytes();
    for (const auto& L : w_.layers)
        for (const ops::Matrix* m : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down})
            total += m->bytes();
    return total;
}

size_t Model::host_copy_bytes() const {
    auto bytes = [](const std::vector<float>& v) { return v.size() * sizeof(float); };
    size_t total = bytes(w_.output_norm) + bytes(w_.rope_freqs);
    for (const LayerWeights& L : w_.layers)
        total += bytes(L.attn_norm) + bytes(L.ffn_norm) + bytes(L.bq) + bytes(L.bk) + bytes(L.bv) +
                 bytes(L.q_norm) + bytes(L.k_norm);
    return total;
}

}  // namespace hearth
