#include "model/kv_cache.h"

namespace hearth {

KvCache::KvCache(const HParams& hp, int n_ctx, ops::KvType type)
    : n_ctx_(n_ctx), type_(type), k_width_(hp.kv_width()), v_width_(hp.v_width()) {
    const size_t elem = ops::kv_type_bytes(type);
    k_layer_bytes_ = static_cast<size_t>(n_ctx) * k_width_ * elem;
    v_layer_bytes_ = static_cast<size_t>(n_ctx) * v_width_ * elem;
    k_.assign(k_layer_bytes_ * hp.n_layer, 0);
    v_.assign(v_layer_bytes_ * hp.n_layer, 0);
}

ops::KvLayerView KvCache::layer(int il) const {
    ops::KvLayerView view;
    view.type = type_;
    view.k = k_.data() + il * k_layer_bytes_;
    view.v = v_.data() + il * v_layer_bytes_;
    view.k_width = k_width_;
    view.v_width = v_width_;
    return view;
}

size_t KvCache::bytes_for(const HParams& hp, int n_ctx, ops::KvType type) {
    return static_cast<size_t>(n_ctx) * hp.n_layer * (hp.kv_width() + hp.v_width()) *
           ops::kv_type_bytes(type);
}

}  // namespace hearth
