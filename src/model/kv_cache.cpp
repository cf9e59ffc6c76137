#include "model/kv_cache.h"

#include <new>
#include <unistd.h>

#include "common/error.h"
#include "model/memory.h"

namespace hearth {

KvCache::KvCache(const HParams& hp, int n_ctx, ops::KvType type)
    : n_ctx_(n_ctx), type_(type), k_width_(hp.kv_width()), v_width_(hp.v_width()) {
    const size_t elem = ops::kv_type_bytes(type);
    k_layer_bytes_ = static_cast<size_t>(n_ctx) * k_width_ * elem;
    v_layer_bytes_ = static_cast<size_t>(n_ctx) * v_width_ * elem;
    const size_t total = bytes_for(hp, n_ctx, type);
    // Check against physical memory first: with overcommit a too-large allocation "succeeds"
    // and the kernel kills the process while the cache is zeroed.
    const uint64_t ram = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
    if (n_ctx <= 0) fail("context size must be positive (got {})", n_ctx);
    if (ram > 0 && total > ram)
        fail("the {} KV cache for a context of {} tokens needs {:.1f} GiB, more than this machine's {:.1f} GiB "
             "of RAM (lower -c/--ctx-size)",
             ops::kv_type_name(type), n_ctx, total / 1073741824.0, ram / 1073741824.0);
    try {
        k_.assign(k_layer_bytes_ * hp.n_layer, 0);
        v_.assign(v_layer_bytes_ * hp.n_layer, 0);
    } catch (const std::bad_alloc&) {
        fail("cannot allocate {:.1f} GiB for the KV cache of a {}-token context (lower -c/--ctx-size)",
             total / 1073741824.0, n_ctx);
    }
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

ops::KvLayerStore KvCache::store(int il) {
    ops::KvLayerStore view;
    view.type = type_;
    view.k = k_.data() + il * k_layer_bytes_;
    view.v = v_.data() + il * v_layer_bytes_;
    view.k_width = k_width_;
    view.v_width = v_width_;
    return view;
}

size_t KvCache::bytes_for(const HParams& hp, int n_ctx, ops::KvType type) {
    return memory::kv_cache_bytes(hp, n_ctx, type);
}

}  // namespace hearth
