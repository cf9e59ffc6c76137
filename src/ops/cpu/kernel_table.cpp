// The kernel table of each dispatch path, built on first use (which only happens on CPUs that
// support the path, so no SIMD code runs before the CPU has been checked).
#include "ops/cpu/dispatch.h"
#include "ops/cpu/kernels.h"

namespace hearth::ops::cpu {
namespace {

KernelTable build_table([[maybe_unused]] CpuPath path) {
    KernelTable t;
#if defined(__x86_64__)
    if (path == CpuPath::Avx2) {
        add_float_kernels_avx2(t);
        add_legacy_quant_kernels_avx2(t);
        add_k_quant_kernels_avx2(t);
        add_quantizers_avx2(t);
        add_attention_kernels_avx2(t);
        add_repacked_kernels_avx2(t);
        add_delta_rule_kernels_avx2(t);
    } else if (path == CpuPath::Avx512) {
        add_float_kernels_avx512(t);
        add_legacy_quant_kernels_avx512(t);
        add_k_quant_kernels_avx512(t);
        add_quantizers_avx512(t);
        add_attention_kernels_avx512(t);
        add_repacked_kernels_avx512(t);
        add_delta_rule_kernels_avx512(t);
    }
#endif
    return t;
}

}  // namespace

const KernelTable* active_kernel_table() {
    switch (active_cpu_path()) {
        case CpuPath::Scalar: return nullptr;
        case CpuPath::Avx2: {
            static const KernelTable table = build_table(CpuPath::Avx2);
            return &table;
        }
        case CpuPath::Avx512: {
            static const KernelTable table = build_table(CpuPath::Avx512);
            return &table;
        }
    }
    return nullptr;
}

}  // namespace hearth::ops::cpu
