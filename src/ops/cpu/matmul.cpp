// Matrix multiplication. Two implementations behind ops::matmul:
//  - the scalar reference (CpuPath::Scalar): each weight row is dequantized to float once and
//    multiplied with every token of the batch; exact float accumulation.
//  - the SIMD kernels (kernels.h): the activations are converted once per call to the format
//    the weight type's kernel wants (float, or 8-bit blocks for quantized weights), then the
//    kernel computes the output in register tiles.
// Both split the output rows across the thread pool.
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/page_memory.h"
#include "ops/cpu/kernels.h"
#include "ops/cpu/repack.h"
#include "ops/cpu/vec.h"
#include "ops/ops.h"
#include "tensor/quantize_activations.h"

namespace hearth::ops {
namespace {

uint32_t type_id_of(const Matrix& w) { return static_cast<uint32_t>(w.type->type); }

// Row r in the file's block layout: in place, or converted back into `buf` (row_bytes).
const uint8_t* file_row(const Matrix& w, int64_t r, std::vector<uint8_t>& buf) {
    if (w.layout == WeightLayout::Rows) return w.row(r);
    buf.resize(w.row_bytes);
    cpu::deinterleave_row(type_id_of(w), w.data, w.cols, r, buf.data());
    return buf.data();
}

void matmul_reference(Context& ctx, const Matrix& w, const float* x, int64_t n_tokens, float* y) {
    const int64_t cols = w.cols;
    const int64_t rows = w.rows;
    const bool is_f32 = w.type->type == TensorType::F32;
    auto work = [&](int64_t r0, int64_t r1) {
        std::vector<float> row_buf(is_f32 ? 0 : static_cast<size_t>(cols));
        std::vector<uint8_t> file_buf;
        for (int64_t r = r0; r < r1; ++r) {
            const float* wr;
            if (is_f32) {
                wr = reinterpret_cast<const float*>(w.row(r));
            } else {
                w.type->dequantize_row(file_row(w, r, file_buf), row_buf.data(), cols);
                wr = row_buf.data();
            }
            for (int64_t t = 0; t < n_tokens; ++t) y[t * rows + r] = dot_f32(wr, x + t * cols, cols);
        }
    };
    // Small matrices are not worth waking threads for.
    int64_t min_rows = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, cols * n_tokens));
    if (ctx.pool) ctx.pool->parallel_for(rows, work, min_rows);
    else work(0, rows);
}

// Per-thread scratch for quantized activations, 64-byte aligned, grown on demand.
uint8_t* activation_scratch(size_t bytes) {
    struct Free {
        void operator()(uint8_t* p) const { std::free(p); }
    };
    thread_local std::unique_ptr<uint8_t, Free> buffer;
    thread_local size_t capacity = 0;
    if (bytes > capacity) {
        const size_t want = (std::max(bytes, capacity * 2) + 63) & ~size_t{63};
        buffer.reset(static_cast<uint8_t*>(std::aligned_alloc(64, want)));
        if (!buffer) fail("out of memory allocating {} bytes of activation scratch", want);
        capacity = want;
    }
    return buffer.get();
}

void run_parallel(Context& ctx, int64_t n, int64_t min_per_thread, const std::function<void(int64_t, int64_t)>& fn) {
    if (ctx.pool) ctx.pool->parallel_for(n, fn, min_per_thread);
    else fn(0, n);
}

}  // namespace

void matmul(Context& ctx, const Matrix& w, const float* x, int64_t n_tokens, float* y) {
    if (!w.type || !w.type->supported())
        fail("tensor '{}': type {} is not supported for computation", w.name, w.type ? w.type->name : "?");
    if (w.rows <= 0 || n_tokens <= 0) return;

    const cpu::KernelTable* table = cpu::active_kernel_table();
    const uint32_t id = type_id_of(w);
    const bool x16 = w.layout == WeightLayout::Interleaved16;
    const cpu::Kernel* kernel = nullptr;
    if (table && id < cpu::KernelTable::kTypes) {
        const cpu::Kernel& k = x16 ? table->x16[id] : table->by_type[id];
        if (k.gemm) kernel = &k;
    }
    if (!kernel) {  // the scalar path, or a repacked matrix on a path without its kernel (tests)
        matmul_reference(ctx, w, x, n_tokens, y);
        return;
    }

    const int64_t cols = w.cols;
    cpu::GemmArgs a{};
    a.w = w.data;
    a.w_stride = x16 ? w.group_bytes : w.row_bytes;
    a.cols = cols;
    a.n_tokens = n_tokens;
    a.y = y;
    a.y_stride = w.rows;
    const ActFormat act = w.type->act;
    if (act == ActFormat::F32) {
        a.x = reinterpret_cast<const uint8_t*>(x);
        a.x_stride = static_cast<size_t>(cols) * sizeof(float);
    } else {
        const bool q32 = act == ActFormat::Q8_32;
        const ActQuant format = q32 ? ActQuant::Q8_32 : ActQuant::Q8_256;
        const ActRowLayout layout = act_row_layout(format, cols);
        uint8_t* buf = activation_scratch(static_cast<size_t>(n_tokens) * layout.row_bytes);
        const cpu::QuantizeRowFn fast = q32 ? table->quantize_q8_32 : table->quantize_q8_256;
        auto quantize = [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t) {
                uint8_t* dst = buf + static_cast<size_t>(t) * layout.row_bytes;
                if (fast) fast(x + t * cols, dst, cols, layout.scale_offset, layout.sum_offset);
                else quantize_act_row(format, x + t * cols, dst, cols);
            }
        };
        run_parallel(ctx, n_tokens, 4, quantize);
        a.x = buf;
        a.x_stride = layout.row_bytes;
        a.x_scale_offset = layout.scale_offset;
        a.x_sum_offset = layout.sum_offset;
    }

    // Rows go to threads in chunks of kRowChunk (a multiple of every kernel's row tile and of
    // the interleaved layout's group of 16), and
    // each thread should get enough multiply-adds to be worth waking.
    constexpr int64_t kRowChunk = 16;
    const int64_t n_chunks = (w.rows + kRowChunk - 1) / kRowChunk;
    const int64_t macs_per_chunk = kRowChunk * cols * n_tokens;
    const int64_t min_chunks = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, macs_per_chunk));
    run_parallel(ctx, n_chunks, min_chunks, [&](int64_t c0, int64_t c1) {
        kernel->gemm(a, c0 * kRowChunk, std::min(w.rows, c1 * kRowChunk));
    });
}

void get_row(const Matrix& w, int64_t index, float* out) {
    if (index < 0 || index >= w.rows)
        fail("tensor '{}': row {} out of range (it has {} rows)", w.name, index, w.rows);
    if (!w.type->supported())
        fail("tensor '{}': type {} is not supported for computation", w.name, w.type->name);
    thread_local std::vector<uint8_t> buf;  // one row, for repacked matrices (per token: no allocation)
    w.type->dequantize_row(file_row(w, index, buf), out, w.cols);
}

size_t Matrix::bytes() const {
    return layout == WeightLayout::Interleaved16 ? static_cast<size_t>(cpu::x16_groups(rows)) * group_bytes
                                                 : static_cast<size_t>(rows) * row_bytes;
}

bool prefers_repacked(const Matrix& w) {
    static const bool enabled = [] {
        const char* v = std::getenv("HEARTH_REPACK");
        return !(v && std::string(v) == "0");
    }();
    if (!enabled || w.empty() || w.layout != WeightLayout::Rows || !w.type) return false;
    const uint32_t id = type_id_of(w);
    const cpu::KernelTable* table = cpu::active_kernel_table();
    return table && id < cpu::KernelTable::kTypes && table->x16[id].gemm && cpu::has_x16_layout(id);
}

namespace {

// w in the x16 layout at `buf` (x16 bytes, zeroed), which `storage` keeps alive.
Matrix repack_into(const Matrix& w, uint8_t* buf, std::shared_ptr<const uint8_t> storage, ThreadPool* pool,
                   const std::function<void(const uint8_t*, size_t)>& done) {
    const uint32_t id = type_id_of(w);
    Matrix out = w;
    out.layout = WeightLayout::Interleaved16;
    out.group_bytes = cpu::x16_group_bytes(id, w.cols);
    out.storage = std::move(storage);
    out.data = buf;
    const int64_t groups = cpu::x16_groups(w.rows);
    auto work = [&](int64_t g0, int64_t g1) {
        cpu::interleave_groups(id, w.data, w.row_bytes, w.rows, w.cols, g0, g1, buf);
    };
    // Slices of about 8 MiB of source rows, so that `done` can free each one soon after it is
    // read: the old and new copies then overlap by one slice, not by the whole matrix.
    const int64_t slice = std::max<int64_t>(
        64, static_cast<int64_t>((size_t{8} << 20) / std::max<size_t>(1, w.row_bytes * cpu::kInterleave)));
    for (int64_t g0 = 0; g0 < groups; g0 += slice) {
        const int64_t g1 = std::min(groups, g0 + slice);
        if (pool) pool->parallel_for(g1 - g0, [&](int64_t a, int64_t b) { work(g0 + a, g0 + b); }, 16);
        else work(g0, g1);
        if (done) {
            const int64_t r0 = g0 * cpu::kInterleave, r1 = std::min(w.rows, g1 * cpu::kInterleave);
            done(w.row(r0), static_cast<size_t>(r1 - r0) * w.row_bytes);
        }
    }
    return out;
}

void check_repackable(const Matrix& w) {
    if (w.layout != WeightLayout::Rows || !cpu::has_x16_layout(type_id_of(w)))
        fail("tensor '{}': type {} has no interleaved layout", w.name, w.type->name);
}

size_t x16_bytes(const Matrix& w) {
    return static_cast<size_t>(cpu::x16_groups(w.rows)) * cpu::x16_group_bytes(type_id_of(w), w.cols);
}

}  // namespace

Matrix repack(const Matrix& w, ThreadPool* pool, const std::function<void(const uint8_t*, size_t)>& done) {
    check_repackable(w);
    std::shared_ptr<uint8_t> memory = allocate_pages(x16_bytes(w));  // zeroed: padding rows stay 0
    uint8_t* buf = memory.get();
    return repack_into(w, buf, std::move(memory), pool, done);
}

std::vector<Matrix> repack(std::span<const Matrix> ws, ThreadPool* pool,
                           const std::function<void(const uint8_t*, size_t)>& done) {
    constexpr size_t kAlign = 64;  // each matrix starts on a cache line
    std::vector<size_t> offset(ws.size() + 1, 0);
    for (size_t i = 0; i < ws.size(); ++i) {
        check_repackable(ws[i]);
        offset[i + 1] = offset[i] + (x16_bytes(ws[i]) + kAlign - 1) / kAlign * kAlign;
    }
    std::shared_ptr<uint8_t> memory = allocate_pages(offset.back());
    std::vector<Matrix> out;
    out.reserve(ws.size());
    for (size_t i = 0; i < ws.size(); ++i) out.push_back(repack_into(ws[i], memory.get() + offset[i], memory, pool, done));
    return out;
}

}  // namespace hearth::ops
