// The SIMD matmul kernels against the scalar reference, for every compute type and every
// dispatch path this CPU has, on random data with awkward sizes (rows not a multiple of any
// tile, 1..9 tokens, 1..3 threads).
//
// Two checks per output:
//  - against the exact reference (dequantized weights · float activations): within
//    1e-2 · Σ|w·x| for kernels that quantize activations to 8 bits, 1e-5 for float kernels;
//  - against the same products with the activations quantized exactly as the kernel does:
//    within float rounding (1e-5 · Σ|w·x|), so a wrong block, scale or offset cannot hide
//    inside the quantization tolerance.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/thread_pool.h"
#include "ops/cpu/dispatch.h"
#include "ops/cpu/kernels.h"
#include "ops/cpu/repack.h"
#include "ops/ops.h"
#include "tensor/dequantize.h"
#include "tensor/fp16.h"
#include "tensor/quantize_activations.h"
#include "tensor/types.h"
#include "process.h"
#include "test_support.h"

namespace hearth {
namespace {

using ops::CpuPath;
namespace cpu = ops::cpu;

// Restores the dispatch path a test started with.
class PathGuard {
public:
    PathGuard() : saved_(ops::active_cpu_path()) {}
    ~PathGuard() { ops::set_cpu_path(saved_); }

private:
    CpuPath saved_;
};

std::vector<CpuPath> simd_paths() {
    std::vector<CpuPath> out;
    for (CpuPath p : ops::supported_cpu_paths())
        if (p != CpuPath::Scalar) out.push_back(p);
    return out;
}

// Offsets of the fp16 fields inside a block, which must hold sane numbers (random bytes
// elsewhere are valid codes and 6-bit scales).
std::vector<size_t> half_fields(TensorType t) {
    switch (t) {
        case TensorType::Q4_0: case TensorType::Q5_0: case TensorType::Q8_0: return {0};
        case TensorType::IQ4_NL: case TensorType::IQ4_XS: return {0};
        case TensorType::Q4_1: case TensorType::Q5_1: case TensorType::Q4_K: case TensorType::Q5_K: return {0, 2};
        case TensorType::Q2_K: return {80, 82};
        case TensorType::Q3_K: return {108};
        case TensorType::Q6_K: return {208};
        default: return {};
    }
}

bool quantizes_activations(TensorType t) { return type_traits(t).act != ActFormat::F32; }

std::vector<uint8_t> random_weights(const TypeTraits& tt, int64_t rows, int64_t cols, std::mt19937& rng) {
    const size_t rb = row_bytes(tt, cols);
    std::vector<uint8_t> data(rb * static_cast<size_t>(rows));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> byte(0, 255);
    auto put16 = [&](size_t at, uint16_t v) { std::memcpy(&data[at], &v, 2); };
    if (tt.type == TensorType::F32) {
        for (size_t i = 0; i < data.size() / 4; ++i) {
            const float v = normal(rng);
            std::memcpy(&data[4 * i], &v, 4);
        }
    } else if (tt.type == TensorType::F16 || tt.type == TensorType::BF16) {
        for (size_t i = 0; i < data.size() / 2; ++i)
            put16(2 * i, tt.type == TensorType::F16 ? fp32_to_fp16(normal(rng)) : fp32_to_bf16(normal(rng)));
    } else {
        for (auto& b : data) b = static_cast<uint8_t>(byte(rng));
        std::uniform_real_distribution<float> mag(0.002f, 0.05f);
        const std::vector<size_t> halves = half_fields(tt.type);
        for (size_t blk = 0; blk < data.size() / tt.block_bytes; ++blk)
            for (size_t off : halves) {
                const float v = mag(rng) * (byte(rng) < 128 ? -1.0f : 1.0f);
                put16(blk * tt.block_bytes + off, fp32_to_fp16(v));
            }
        // MXFP4's E8M0 exponent: scales 2^-10 .. 2^-1 (values up to 6), and now and then the
        // subnormal scales of e = 0, 1.
        if (tt.type == TensorType::MXFP4)
            for (size_t blk = 0; blk < data.size() / tt.block_bytes; ++blk) {
                const int r = byte(rng);
                data[blk * tt.block_bytes] = static_cast<uint8_t>(r < 8 ? r % 2 : 118 + r % 10);
            }
    }
    return data;
}

std::vector<float> random_activations(int64_t n_tokens, int64_t cols, std::mt19937& rng) {
    std::vector<float> x(static_cast<size_t>(n_tokens * cols));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (auto& v : x) v = normal(rng);
    // An outlier (6σ: it sets its block's scale, so the block's other values get coarse
    // steps; only in rows long enough that one block cannot dominate the dot product, as in
    // real models) and an all-zero token (scale 0).
    if (cols >= 256) x[static_cast<size_t>(cols / 3)] = 6.0f;
    if (n_tokens > 2)
        for (int64_t k = 0; k < cols; ++k) x[static_cast<size_t>(2 * cols + k)] = 0.0f;
    return x;
}

struct Shape {
    int64_t rows, cols, n_tokens;
    int threads;
};

void check_matmul(TensorType type, const Shape& s, uint32_t seed) {
    const TypeTraits& tt = type_traits(type);
    std::mt19937 rng(seed);
    std::vector<uint8_t> wdata = random_weights(tt, s.rows, s.cols, rng);
    std::vector<float> x = random_activations(s.n_tokens, s.cols, rng);
    ops::Matrix w;
    w.type = &tt;
    w.data = wdata.data();
    w.cols = s.cols;
    w.rows = s.rows;
    w.row_bytes = row_bytes(tt, s.cols);
    w.name = "w";
    ThreadPool pool(s.threads);
    ops::Context ctx{&pool};

    // Dequantized weights; activations as float and as the kernel quantizes them.
    std::vector<float> wf(static_cast<size_t>(s.rows * s.cols));
    for (int64_t r = 0; r < s.rows; ++r) tt.dequantize_row(w.row(r), &wf[r * s.cols], s.cols);
    std::vector<float> xq = x;
    if (quantizes_activations(type)) {
        const ActQuant f = tt.act == ActFormat::Q8_256 ? ActQuant::Q8_256 : ActQuant::Q8_32;
        const ActRowLayout l = act_row_layout(f, s.cols);
        std::vector<uint8_t> buf(l.row_bytes);
        for (int64_t t = 0; t < s.n_tokens; ++t) {
            quantize_act_row(f, &x[t * s.cols], buf.data(), s.cols);
            for (int64_t k = 0; k < s.cols; ++k) xq[t * s.cols + k] = act_row_value(f, buf.data(), s.cols, k);
        }
    }

    PathGuard guard;
    ops::set_cpu_path(CpuPath::Scalar);
    std::vector<float> ref(static_cast<size_t>(s.rows * s.n_tokens));
    ops::matmul(ctx, w, x.data(), s.n_tokens, ref.data());

    // Every SIMD path on the file's layout; the row-interleaved layout (where the type has one)
    // on every path, the scalar one included (it converts rows back for the reference).
    struct Case {
        CpuPath path;
        const ops::Matrix* w;
        const char* layout;
    };
    std::vector<Case> cases;
    for (CpuPath path : simd_paths()) cases.push_back({path, &w, "rows"});
    ops::Matrix packed;
    if (cpu::has_x16_layout(static_cast<uint32_t>(type))) {
        packed = ops::repack(w, &pool);
        EXPECT_EQ(packed.layout, ops::WeightLayout::Interleaved16);
        for (CpuPath path : ops::supported_cpu_paths()) cases.push_back({path, &packed, "x16"});
    }

    const double tol_ref = quantizes_activations(type) ? 1e-2 : 1e-5;
    for (const Case& c : cases) {
        const CpuPath path = c.path;
        SCOPED_TRACE(std::string(ops::cpu_path_name(path)) + " " + c.layout + " " + tt.name + " rows " +
                     std::to_string(s.rows) + " cols " + std::to_string(s.cols) + " tokens " +
                     std::to_string(s.n_tokens) + " threads " + std::to_string(s.threads));
        ops::set_cpu_path(path);
        std::vector<float> got(ref.size(), std::nanf(""));
        ops::matmul(ctx, *c.w, x.data(), s.n_tokens, got.data());
        // A path without a kernel for the layout (scalar, or x16 where only AVX-512 reads it)
        // falls back to the reference and must give exactly its result.
        const cpu::KernelTable* table = cpu::active_kernel_table();
        const uint32_t id = static_cast<uint32_t>(type);
        const bool has_kernel = table && (c.w->layout == ops::WeightLayout::Rows ? table->by_type[id].gemm
                                                                                 : table->x16[id].gemm);
        if (!has_kernel) {
            EXPECT_EQ(got, ref);
            continue;
        }
        int failures = 0;
        for (int64_t t = 0; t < s.n_tokens && failures < 5; ++t) {
            for (int64_t r = 0; r < s.rows && failures < 5; ++r) {
                double exact_q = 0, mag = 0, mag_q = 0;
                for (int64_t k = 0; k < s.cols; ++k) {
                    const double wv = wf[r * s.cols + k];
                    exact_q += wv * xq[t * s.cols + k];
                    mag += std::fabs(wv * x[t * s.cols + k]);
                    mag_q += std::fabs(wv * xq[t * s.cols + k]);
                }
                const double g = got[t * s.rows + r];
                const double want = ref[t * s.rows + r];
                const bool ok_ref = std::fabs(g - want) <= tol_ref * mag + 1e-6;
                const bool ok_q = std::fabs(g - exact_q) <= 1e-5 * mag_q + 1e-6;
                if (!ok_ref || !ok_q) {
                    ++failures;
                    ADD_FAILURE() << "token " << t << " row " << r << ": got " << g << ", reference " << want
                                  << ", with quantized activations " << exact_q << " (Σ|w·x| " << mag << ")";
                }
            }
        }
    }
}

// Every type of the trait table that hearth computes with: a new type is tested without a list.
std::vector<TensorType> computed_types() {
    std::vector<TensorType> out;
    for (uint32_t id = 0; id < 64; ++id)
        if (const TypeTraits* t = find_type_traits(id); t && t->supported()) out.push_back(t->type);
    return out;
}

class OpsMatmul : public ::testing::TestWithParam<TensorType> {};

TEST_P(OpsMatmul, SimdMatchesScalarReference) {
    if (simd_paths().empty()) GTEST_SKIP() << "this CPU has no SIMD path";
    const TensorType type = GetParam();
    const int64_t block = type_traits(type).block_size;
    // Row lengths: one block, odd and even block counts (the AVX-512 kernels pair blocks; the
    // legacy kernels walk runs of 32 blocks: 33 and 34 leave a short last run), and for float
    // types sizes that leave a tail after the vector width.
    std::vector<int64_t> cols_list;
    if (block == 1) cols_list = {1, 7, 37, 100, 256, 515};
    else if (block == 32) cols_list = {32, 64, 96, 160, 544, 1056, 1088};
    else cols_list = {256, 512, 768, 1280};
    uint32_t seed = 1;
    for (int64_t cols : cols_list)
        for (int64_t rows : {1, 3, 17, 37})
            for (int64_t n_tokens : {1, 2, 3, 4, 5, 7, 9})
                check_matmul(type, {rows, cols, n_tokens, 1 + static_cast<int>(seed % 3)}, seed++);
}

TEST_P(OpsMatmul, LargeBatchesAndThreads) {
    if (simd_paths().empty()) GTEST_SKIP() << "this CPU has no SIMD path";
    const TensorType type = GetParam();
    const int64_t cols = type_traits(type).block_size == 256 ? 512 : 320;
    for (int threads : {1, 2, 3}) check_matmul(type, {133, cols, 70, threads}, 1000 + threads);
}

INSTANTIATE_TEST_SUITE_P(AllComputeTypes, OpsMatmul,
                         ::testing::ValuesIn(computed_types()),
                         [](const ::testing::TestParamInfo<TensorType>& info) {
                             return std::string(type_traits(info.param).name);
                         });

// Every type hearth computes with has a kernel on every SIMD path (else SimdMatchesScalarReference
// would only compare the reference with itself).
TEST(OpsMatmulTable, EverySupportedTypeHasAKernelOnEverySimdPath) {
    PathGuard guard;
    for (CpuPath path : simd_paths()) {
        ops::set_cpu_path(path);
        const cpu::KernelTable* table = cpu::active_kernel_table();
        ASSERT_NE(table, nullptr);
        for (uint32_t id = 0; id < cpu::KernelTable::kTypes; ++id) {
            const TypeTraits* t = find_type_traits(id);
            if (!t || !t->supported()) continue;
            EXPECT_NE(table->by_type[id].gemm, nullptr) << ops::cpu_path_name(path) << " " << t->name;
        }
    }
}

// The interleaved layout holds the file's bytes exactly: every row converts back unchanged,
// padding rows of the last group are zero, and get_row reads through it.
TEST(OpsRepack, RoundTripsEveryRowExactly) {
    for (TensorType type : {TensorType::Q4_0, TensorType::Q5_0, TensorType::Q8_0, TensorType::Q4_K, TensorType::Q6_K, TensorType::IQ4_NL,
                            TensorType::MXFP4}) {
        const TypeTraits& tt = type_traits(type);
        const uint32_t id = static_cast<uint32_t>(type);
        ASSERT_TRUE(cpu::has_x16_layout(id));
        std::mt19937 rng(7);
        for (int64_t rows : {1, 16, 21, 48}) {
            const int64_t cols = 2 * tt.block_size * (tt.block_size == 256 ? 1 : 3);
            std::vector<uint8_t> wdata = random_weights(tt, rows, cols, rng);
            ops::Matrix w;
            w.type = &tt;
            w.data = wdata.data();
            w.cols = cols;
            w.rows = rows;
            w.row_bytes = row_bytes(tt, cols);
            w.name = "w";
            const ops::Matrix packed = ops::repack(w);
            EXPECT_EQ(packed.group_bytes, cpu::x16_group_bytes(id, cols));
            EXPECT_EQ(packed.bytes(), static_cast<size_t>(cpu::x16_groups(rows)) * packed.group_bytes);
            std::vector<uint8_t> back(w.row_bytes);
            std::vector<float> want(static_cast<size_t>(cols)), got(static_cast<size_t>(cols));
            for (int64_t r = 0; r < rows; ++r) {
                cpu::deinterleave_row(id, packed.data, cols, r, back.data());
                ASSERT_EQ(0, std::memcmp(back.data(), w.row(r), w.row_bytes)) << tt.name << " row " << r;
                ops::get_row(w, r, want.data());
                ops::get_row(packed, r, got.data());
                ASSERT_EQ(want, got) << tt.name << " row " << r;
            }
            for (int64_t r = rows; r < cpu::x16_groups(rows) * cpu::kInterleave; ++r) {
                cpu::deinterleave_row(id, packed.data, cols, r, back.data());
                tt.dequantize_row(back.data(), got.data(), cols);
                for (float v : got) ASSERT_EQ(v, 0.0f) << tt.name << " padding row " << r;
            }
        }
    }
    EXPECT_FALSE(cpu::has_x16_layout(static_cast<uint32_t>(TensorType::Q5_K)));
    const TypeTraits& q5 = type_traits(TensorType::Q5_K);
    std::vector<uint8_t> bytes(row_bytes(q5, 256));
    ops::Matrix w;
    w.type = &q5;
    w.data = bytes.data();
    w.cols = 256;
    w.rows = 1;
    w.row_bytes = bytes.size();
    w.name = "q5";
    EXPECT_FALSE(ops::prefers_repacked(w));
    EXPECT_THROW(ops::repack(w), Error);
}


// An expert stack repacked into one allocation holds exactly what each expert repacked alone
// holds, every expert starts on a cache line, and one allocation keeps them all alive.
TEST(OpsRepack, AStackSharesOneAllocationAndMatchesSingleRepacks) {
    const TypeTraits& tt = type_traits(TensorType::Q4_K);
    std::mt19937 rng(11);
    std::vector<std::vector<uint8_t>> data;
    std::vector<ops::Matrix> stack;
    for (int64_t rows : {21, 48, 16}) {  // uneven sizes: offsets must not assume one size
        data.push_back(random_weights(tt, rows, 512, rng));
        ops::Matrix w;
        w.type = &tt;
        w.data = data.back().data();
        w.cols = 512;
        w.rows = rows;
        w.row_bytes = row_bytes(tt, 512);
        w.name = "expert";
        stack.push_back(w);
    }
    const std::vector<ops::Matrix> packed = ops::repack(stack);
    ASSERT_EQ(packed.size(), stack.size());
    for (size_t e = 0; e < stack.size(); ++e) {
        const ops::Matrix alone = ops::repack(stack[e]);
        EXPECT_EQ(packed[e].layout, ops::WeightLayout::Interleaved16);
        EXPECT_EQ(packed[e].storage.get(), packed[0].storage.get()) << "expert " << e;
        EXPECT_EQ(reinterpret_cast<uintptr_t>(packed[e].data) % 64, 0u) << "expert " << e;
        ASSERT_EQ(packed[e].bytes(), alone.bytes());
        EXPECT_EQ(0, std::memcmp(packed[e].data, alone.data, alone.bytes())) << "expert " << e;
        if (e > 0) {
            EXPECT_GE(packed[e].data, packed[e - 1].data + packed[e - 1].bytes());
        }
    }
    std::vector<ops::Matrix> bad = stack;
    bad[1].type = &type_traits(TensorType::Q5_K);
    EXPECT_THROW(ops::repack(bad), Error);
}
TEST(OpsDispatch, NamesParseAndScalarIsAlwaysThere) {
    const std::vector<CpuPath> paths = ops::supported_cpu_paths();
    ASSERT_FALSE(paths.empty());
    EXPECT_EQ(paths[0], CpuPath::Scalar);
    for (CpuPath p : {CpuPath::Scalar, CpuPath::Avx2, CpuPath::Avx512})
        EXPECT_EQ(ops::parse_cpu_path(ops::cpu_path_name(p)), p);
    EXPECT_THROW(ops::parse_cpu_path("sse9"), Error);
    PathGuard guard;
    for (CpuPath p : paths) {
        ops::set_cpu_path(p);
        EXPECT_EQ(ops::active_cpu_path(), p);
    }
    for (CpuPath p : {CpuPath::Avx2, CpuPath::Avx512}) {
        if (!ops::cpu_path_supported(p)) {
            EXPECT_THROW(ops::set_cpu_path(p), Error);
        }
    }
}

TEST(OpsDispatch, EnvironmentForcesAPath) {
    // The variable is read once per process, so run the CLI under it.
    HEARTH_SHARED_OR_SKIP(model, "golden/synth-llama-256-Q4_0.gguf");
    auto run_with = [&](const char* value) {
        ::setenv("HEARTH_CPU", value, 1);
        test::ProcessResult r = test::run_process(
            {HEARTH_BINARY, "run", "-m", model, "-p", "Once", "-n", "4", "--temp", "0"});
        ::unsetenv("HEARTH_CPU");
        return r;
    };
    std::string first_output;
    for (CpuPath p : ops::supported_cpu_paths()) {
        test::ProcessResult r = run_with(ops::cpu_path_name(p));
        EXPECT_EQ(r.exit_code, 0) << ops::cpu_path_name(p) << ": " << r.err;
    }
    test::ProcessResult bad = run_with("sse9");
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("sse9"), std::string::npos) << bad.err;
    for (CpuPath p : {CpuPath::Avx2, CpuPath::Avx512}) {
        if (ops::cpu_path_supported(p)) continue;
        test::ProcessResult r = run_with(ops::cpu_path_name(p));
        EXPECT_EQ(r.exit_code, 1);
        EXPECT_NE(r.err.find("does not support"), std::string::npos) << r.err;
    }
}

TEST(QuantizeActivations, RoundTripWithinHalfAStep) {
    std::mt19937 rng(7);
    std::vector<float> x = random_activations(1, 512, rng);
    for (ActQuant f : {ActQuant::Q8_32, ActQuant::Q8_256}) {
        const int64_t block = f == ActQuant::Q8_32 ? 32 : 256;
        const ActRowLayout l = act_row_layout(f, 512);
        EXPECT_EQ(l.row_bytes % 64, 0u);
        std::vector<uint8_t> buf(l.row_bytes);
        quantize_act_row(f, x.data(), buf.data(), 512);
        for (int64_t b = 0; b < 512 / block; ++b) {
            float amax = 0;
            for (int64_t i = 0; i < block; ++i) amax = std::max(amax, std::fabs(x[b * block + i]));
            for (int64_t i = 0; i < block; ++i) {
                const float v = act_row_value(f, buf.data(), 512, b * block + i);
                EXPECT_LE(std::fabs(v - x[b * block + i]), 0.5f * amax / 127.0f * 1.0001f);
            }
        }
        // The sums stored beside the codes.
        const auto* qs = reinterpret_cast<const int8_t*>(buf.data());
        if (f == ActQuant::Q8_32) {
            const auto* d = reinterpret_cast<const float*>(buf.data() + l.scale_offset);
            const auto* s = reinterpret_cast<const float*>(buf.data() + l.sum_offset);
            for (int b = 0; b < 16; ++b) {
                int sum = 0;
                for (int i = 0; i < 32; ++i) sum += qs[32 * b + i];
                EXPECT_EQ(s[b], d[b] * static_cast<float>(sum));
            }
        } else {
            const auto* d = reinterpret_cast<const float*>(buf.data() + l.scale_offset);
            const auto* s = reinterpret_cast<const float*>(buf.data() + l.sum_offset);
            for (int g = 0; g < 32; ++g) {
                int sum = 0;
                for (int i = 0; i < 16; ++i) sum += qs[16 * g + i];
                EXPECT_EQ(s[g], d[g / 16] * static_cast<float>(sum));
            }
        }
    }
    EXPECT_THROW(act_row_layout(ActQuant::Q8_32, 48), Error);
    EXPECT_THROW(act_row_layout(ActQuant::Q8_256, 512 + 32), Error);
}

}  // namespace
}  // namespace hearth
