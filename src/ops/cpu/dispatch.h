#pragma once
// Which CPU code path the kernels take: chosen once at start-up from what the CPU supports,
// overridable with the environment variable HEARTH_CPU=scalar|avx2|avx512 (for testing every
// path on one machine) or programmatically with set_cpu_path().
//
//   scalar  the reference: each weight row dequantized to float and dotted with float
//           activations (exact up to float rounding; what every other path is tested against)
//   avx2    AVX2 + FMA + F16C: activations quantized to 8 bits once per matmul, integer dot
//           products (maddubs) for quantized weights, float FMA for F32/F16/BF16 weights
//   avx512  AVX-512 F/BW/VL/DQ + VNNI: the same with 512-bit vectors and dpbusd/dpwssd
//
// How the SIMD code is built: each instruction set's kernels live in their own .cpp files
// (ops/cpu/*_avx2.cpp, *_avx512.cpp) compiled with that set's -m flags (see CMakeLists.txt),
// and the rest of the library stays portable. Whole files rather than per-function
// __attribute__((target)): templates, lambdas and inline helpers then get the target without
// annotating each one, and GCC cannot refuse to inline a helper across mismatched targets.
// The cost is a rule those files follow: they include only <immintrin.h>, <cstdint>,
// <cstddef>, <cstring>, ops/cpu/kernels.h and the ops/cpu headers written for them (tiling.h,
// the width-generic float_kernel.h and k_quant_kernel.h, which the files instantiate with
// their own vector type), and keep everything but their one exported
// table function in an anonymous namespace, so no inline function compiled with AVX
// instructions can be merged by the linker into code that scalar CPUs run.
#include <vector>

namespace hearth::ops {

enum class CpuPath { Scalar, Avx2, Avx512 };

// "scalar", "avx2", "avx512".
const char* cpu_path_name(CpuPath path);
// Whether this CPU (and OS) can run the path. Scalar always can.
bool cpu_path_supported(CpuPath path);
// Every path this CPU supports, scalar first.
std::vector<CpuPath> supported_cpu_paths();
// The path the kernels use now. On first use: HEARTH_CPU if set (throws hearth::Error when the
// name is unknown or the CPU lacks it), else the best supported path.
CpuPath active_cpu_path();
// Switches every later kernel call to `path` (throws hearth::Error if unsupported). Not meant
// to race with running kernels: call it between forward passes.
void set_cpu_path(CpuPath path);
// Parses "scalar" / "avx2" / "avx512" (throws hearth::Error naming the accepted values).
CpuPath parse_cpu_path(const char* name);

}  // namespace hearth::ops
