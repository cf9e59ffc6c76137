#pragma once
// The gated FFN activation of a family, shared by the dense and the expert FFN.
#include "model/arch.h"
#include "ops/ops.h"

namespace hearth {

// gate[i] ← act(gate[i]) · up[i] over n values.
inline void gated_activation(FfnActivation act, float* gate, const float* up, int64_t n) {
    switch (act) {
        case FfnActivation::SiLU: ops::silu_mul(gate, up, n); break;
        case FfnActivation::GeluTanh: ops::gelu_tanh_mul(gate, up, n); break;
        case FfnActivation::SwiGluOai: ops::swiglu_oai(gate, up, n, /*alpha=*/1.702f, /*limit=*/7.0f); break;
    }
}

}  // namespace hearth
