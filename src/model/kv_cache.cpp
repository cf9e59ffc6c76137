#include "model/kv_cache.h"

#include <algorithm>
#include <new>
#include <unistd.h>

#include "common/error.h"
#include "model/memory.h"

namespace hearth {

KvCache::KvCache(const HParams& hp, int n_ctx, ops::KvType type) : n_ctx_(n_ctx), type_(type) {
    const size_t elem = ops::kv_type_bytes(type);
    const size_t total = bytes_for(hp, n_ctx, type);
    // Check against physical memory first: with overcommit a too-large allocation "succeeds"
    // and the kernel kills the process while the cache is zeroed.
    const uint64_t ram = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
    if (n_ctx <= 0) fail("context size must be positive (got {})", n_ctx);
    if (ram > 0 && total > ram)
        fail("the {} KV cache for a context of {} tokens needs {:.1f} GiB, more than this machine's {:.1f} GiB "
             "of RAM (lower -c/--ctx-size)",
             ops::kv_type_name(type), n_ctx, total / 1073741824.0, ram / 1073741824.0);
    size_t k_bytes = 0, v_bytes = 0;
    int64_t state_floats = 0;
    conv_floats_ = int64_t{hp.ssm.conv_kernel - 1} * hp.ssm.conv_channels();
    const int64_t delta_floats = int64_t{hp.ssm.n_v_heads} * hp.ssm.state_size * hp.ssm.state_size;
    kv_.resize(static_cast<size_t>(hp.n_layer));
    for (int il = 0; il < hp.n_layer; ++il) {
        KvPlace& p = kv_[il];
        if (hp.layer_kind(il) == LayerKind::Recurrent) {
            state_offset_.push_back(state_floats);
            state_floats += conv_floats_ + delta_floats;
            continue;
        }
        state_offset_.push_back(-1);
        p.attends = true;
        if (hp.shares_kv(il)) continue;  // pointed at its source below
        const LayerGeometry g = hp.geometry(il);
        p.own = true;
        p.k_width = g.kv_width();
        p.v_width = g.v_width();
        p.k_offset = k_bytes;
        p.v_offset = v_bytes;
        k_bytes += static_cast<size_t>(n_ctx) * static_cast<size_t>(p.k_width) * elem;
        v_bytes += static_cast<size_t>(n_ctx) * static_cast<size_t>(p.v_width) * elem;
    }
    for (int il = 0; il < hp.n_layer; ++il)
        if (kv_[il].attends && !kv_[il].own) {
            const KvPlace& src = kv_.at(static_cast<size_t>(hp.kv_source(il)));
            kv_[il] = src;
            kv_[il].own = false;
        }
    try {
        k_.assign(k_bytes, 0);
        v_.assign(v_bytes, 0);
        state_.assign(static_cast<size_t>(state_floats), 0.0f);
    } catch (const std::bad_alloc&) {
        fail("cannot allocate {:.1f} GiB for the KV cache of a {}-token context (lower -c/--ctx-size)",
             total / 1073741824.0, n_ctx);
    }
}

size_t KvCache::bytes() const {
    size_t checkpoint_bytes = 0;
    for (const Checkpoint& c : checkpoints_) checkpoint_bytes += c.state.size() * sizeof(float);
    return k_.size() + v_.size() + state_.size() * sizeof(float) + checkpoint_bytes;
}

ops::KvLayerView KvCache::view_of(int il) const {
    const KvPlace& p = kv_.at(static_cast<size_t>(il));
    if (!p.attends) fail("internal: layer {} is recurrent and has no KV cache", il);
    ops::KvLayerView view;
    view.type = type_;
    view.k = k_.data() + p.k_offset;
    view.v = v_.data() + p.v_offset;
    view.k_width = p.k_width;
    view.v_width = p.v_width;
    return view;
}

ops::KvLayerView KvCache::layer(int il) const { return view_of(il); }

ops::KvLayerStore KvCache::store(int il) {
    const KvPlace& p = kv_.at(static_cast<size_t>(il));
    if (!p.own) fail("internal: layer {} has no KV cache of its own to write", il);
    ops::KvLayerStore view;
    view.type = type_;
    view.k = k_.data() + p.k_offset;
    view.v = v_.data() + p.v_offset;
    view.k_width = p.k_width;
    view.v_width = p.v_width;
    return view;
}

float* KvCache::conv_state(int il) {
    const int64_t off = state_offset_.at(static_cast<size_t>(il));
    if (off < 0) fail("internal: layer {} is an attention layer and has no recurrent state", il);
    return state_.data() + off;
}

float* KvCache::delta_state(int il) { return conv_state(il) + conv_floats_; }

void KvCache::clear_state() {
    std::fill(state_.begin(), state_.end(), 0.0f);
    state_pos_ = 0;
}

void KvCache::checkpoint() {
    if (state_.empty()) return;
    for (Checkpoint& c : checkpoints_)
        if (c.pos == state_pos_) {  // already saved here: refresh it
            c.state = state_;
            return;
        }
    if (checkpoints_.size() < static_cast<size_t>(memory::kStateCheckpoints)) {
        checkpoints_.push_back({state_pos_, state_});
        return;
    }
    // Replace the one at the lowest position: later prefixes are the likelier to be shared.
    auto oldest = std::min_element(checkpoints_.begin(), checkpoints_.end(),
                                   [](const Checkpoint& a, const Checkpoint& b) { return a.pos < b.pos; });
    oldest->pos = state_pos_;
    oldest->state = state_;
}

void KvCache::reset() {
    clear_state();
    checkpoints_.clear();
}

const KvCache::Checkpoint* KvCache::checkpoint_for(int n_past) const {
    const Checkpoint* best = nullptr;
    for (const Checkpoint& c : checkpoints_)
        if (c.pos > 0 && c.pos <= n_past && (!best || c.pos > best->pos)) best = &c;
    return best;
}

int KvCache::resume_point(int n_past) const {
    if (state_.empty() || n_past == state_pos_) return n_past;
    const Checkpoint* best = checkpoint_for(n_past);
    return best ? best->pos : 0;
}

int KvCache::rewind_to(int n_past) {
    if (state_.empty()) return n_past;
    if (n_past != state_pos_) {
        if (const Checkpoint* best = checkpoint_for(n_past)) {
            state_ = best->state;
            state_pos_ = best->pos;
        } else {
            clear_state();
        }
    }
    std::erase_if(checkpoints_, [this](const Checkpoint& c) { return c.pos > state_pos_; });
    return state_pos_;
}

size_t KvCache::bytes_for(const HParams& hp, int n_ctx, ops::KvType type) {
    return memory::sequence_cache_bytes(hp, n_ctx, memory::kv_type_traits(type));
}

}  // namespace hearth
