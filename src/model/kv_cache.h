#pragma once
// What one sequence carries from token to token, per layer: keys and values of every past
// position for attention layers, and for the recurrent layers of hybrids (qwen35) a fixed-size
// state — the convolution's last inputs and each head's delta-net matrix. Owned by the engine,
// written and read by the model's forward pass.
//
// A KV cache can be cut back to any earlier position (later rows are overwritten); a recurrent
// state cannot, it only moves forward. So the cache records how many positions the state has
// absorbed, the forward pass refuses to continue from anywhere else (position 0 starts afresh),
// and a few checkpoints — copies of the state at chosen positions — let a chat turn resume from
// a shared prefix (rewind_to).
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
    ops::KvLayerView layer(int il) const;   // what attention reads (attention layers only; a layer
                                            // that shares KV reads its source layer's)
    ops::KvLayerStore store(int il);        // where the forward pass writes new positions (layers
                                            // with their own KV only)
    // Bytes this cache holds now: KV rows, the recurrent state and the checkpoints taken.
    size_t bytes() const;
    static size_t bytes_for(const HParams& hp, int n_ctx, ops::KvType type);

    // Recurrent layers (empty for transformers).
    bool has_recurrent_state() const { return !state_.empty(); }
    float* conv_state(int il);              // [conv_kernel − 1][conv_channels]
    float* delta_state(int il);             // [n_v_heads][d][d]
    // Positions the recurrent state has absorbed; the forward pass keeps it.
    int state_pos() const { return state_pos_; }
    void set_state_pos(int pos) { state_pos_ = pos; }
    void clear_state();                     // back to a sequence's start (zeros, position 0)
    void reset();                           // a new sequence: clear_state() and forget the checkpoints

    // Saves the current recurrent state as a checkpoint at state_pos() (the oldest of
    // memory::kStateCheckpoints is replaced). A no-op without recurrent layers.
    void checkpoint();
    // Cuts the sequence back to at most n_past positions and returns where it can continue
    // from: n_past itself without recurrent layers or when the state is there; else the latest
    // checkpoint at or before it (restored), else 0 (cleared). Checkpoints past that position
    // are dropped: what follows may differ from what they saw.
    int rewind_to(int n_past);
    // Where rewind_to(n_past) would continue from, without changing anything.
    int resume_point(int n_past) const;

private:
    struct Checkpoint {
        int pos = -1;
        std::vector<float> state;
    };
    // Where one layer's keys and values live (a layer sharing KV points at its source's).
    struct KvPlace {
        size_t k_offset = 0, v_offset = 0;  // bytes into k_, v_
        int64_t k_width = 0, v_width = 0;
        bool own = false;                   // false: recurrent, or reads another layer's KV
        bool attends = false;
    };
    ops::KvLayerView view_of(int il) const;
    // The latest checkpoint past position 0 at or before n_past, or null.
    const Checkpoint* checkpoint_for(int n_past) const;

    int n_ctx_;
    ops::KvType type_;
    std::vector<KvPlace> kv_;               // [n_layer]
    std::vector<uint8_t> k_, v_;
    std::vector<int64_t> state_offset_;     // [n_layer]: floats into state_, −1 for attention layers
    int64_t conv_floats_ = 0;
    std::vector<float> state_;
    int state_pos_ = 0;
    std::vector<Checkpoint> checkpoints_;
};

}  // namespace hearth
