#pragma once
// Keys and values of every past position, per layer, for one sequence. Owned by the engine,
// written and read by the model's forward pass.
#include <cstdint>
#include <vector>

#include "model/hparams.h"
#include "ops/ops.h"

namespace hearth {

class KvCache {
public:
    KvCache(const HParams& hp, int n_ctx, ops::KvType type);

    int n_ctx() const { return n_ctx_; }
    ops::KvType type() const { return type_; }
    ops::KvLayerView layer(int il) const;   // what attention reads
    ops::KvLayerStore store(int il);        // where the forward pass writes new positions
    // Bytes this cache holds: 2 × layers × ctx × kv width × element size.
    size_t bytes() const { return k_.size() + v_.size(); }
    static size_t bytes_for(const HParams& hp, int n_ctx, ops::KvType type);

private:
    int n_ctx_;
    ops::KvType type_;
    int64_t k_width_, v_width_;
    size_t k_layer_bytes_, v_layer_bytes_;
    std::vector<uint8_t> k_, v_;
};

}  // namespace hearth
