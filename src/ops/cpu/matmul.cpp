// Reference-quality CPU matmul: each weight row is converted to float once and multiplied
// with every token of the batch, rows split across threads. Exact float accumulation; the
// fast quantized-activation kernels come later behind the same interface.
#include <algorithm>
#include <vector>

#include "common/error.h"
#include "ops/cpu/vec.h"
#include "ops/ops.h"

namespace hearth::ops {

void matmul(Context& ctx, const Matrix& w, const float* x, int64_t n_tokens, float* y) {
    if (!w.type || !w.type->supported())
        fail("tensor '{}': type {} is not supported for computation", w.name, w.type ? w.type->name : "?");
    const int64_t cols = w.cols;
    const int64_t rows = w.rows;
    const bool is_f32 = w.type->type == TensorType::F32;
    auto work = [&](int64_t r0, int64_t r1) {
        std::vector<float> row_buf(is_f32 ? 0 : static_cast<size_t>(cols));
        for (int64_t r = r0; r < r1; ++r) {
            const float* wr;
            if (is_f32) {
                wr = reinterpret_cast<const float*>(w.row(r));
            } else {
                w.type->dequantize_row(w.row(r), row_buf.data(), cols);
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

void get_row(const Matrix& w, int64_t index, float* out) {
    if (index < 0 || index >= w.rows)
        fail("tensor '{}': row {} out of range (it has {} rows)", w.name, index, w.rows);
    if (!w.type->supported())
        fail("tensor '{}': type {} is not supported for computation", w.name, w.type->name);
    w.type->dequantize_row(w.row(index), out, w.cols);
}

}  // namespace hearth::ops
