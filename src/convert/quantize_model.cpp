#include "convert/quantize_model.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "common/thread_pool.h"
#include "tensor/quantize.h"

namespace hearth::convert {
namespace {

bool is_float_type(uint32_t id) {
    return id == static_cast<uint32_t>(TensorType::F32) || id == static_cast<uint32_t>(TensorType::F16) ||
           id == static_cast<uint32_t>(TensorType::BF16);
}

ModelShape shape_of(const gguf::File& file) {
    ModelShape shape;
    shape.tied_embeddings = file.find_tensor("output.weight") == nullptr;
    int attn_v = 0;
    for (const auto& t : file.tensors())
        if (tensor_role(t.name) == TensorRole::AttnV) ++attn_v;
    const std::string arch = file.get_string("general.architecture").value_or("");
    auto get = [&](const char* key) -> uint64_t {
        if (arch.empty()) return 0;
        auto v = file.get_u64(arch + "." + key);
        return v && *v < (1u << 30) ? *v : 0;
    };
    const uint64_t n_layer = get("block_count");
    shape.n_layer = n_layer ? static_cast<int>(n_layer) : std::max(attn_v, 1);
    const uint64_t n_head = get("attention.head_count");
    const uint64_t n_head_kv = get("attention.head_count_kv");
    if (n_head && n_head_kv) shape.n_gqa = static_cast<int>(n_head / n_head_kv);
    shape.n_expert = static_cast<int>(get("expert_count"));
    shape.is_70b = n_layer == 80;
    return shape;
}

}  // namespace

std::vector<PlannedTensor> plan_quantization(const gguf::File& file, const QuantMix& mix, bool pure) {
    const ModelShape shape = shape_of(file);
    std::vector<PlannedTensor> plan;
    for (const auto& t : file.tensors()) {
        const auto src_type = static_cast<TensorType>(t.type_id);
        plan.push_back({&t, is_quantizable(t.name, t.dims.size())
                                ? choose_tensor_type(mix, t.name, t.row_length(), shape, pure)
                                : src_type});
    }
    return plan;
}

QuantizeResult quantize_model(const std::string& input, const std::string& output, const QuantizeOptions& options) {
    if (!options.mix) fail("quantize: no quantization type given");
    const QuantMix& mix = *options.mix;
    std::shared_ptr<const gguf::File> file = gguf::File::open(input);

    // Check every tensor before anything is written.
    for (const auto& t : file->tensors()) {
        if (is_float_type(t.type_id)) continue;
        if (t.traits->block_size > 1)
            fail("{}: tensor '{}' is already quantized ({}); quantize needs F32, F16 or BF16 input "
                 "(requantizing is not supported)", input, t.name, t.traits->name);
        fail("{}: tensor '{}' has type {}, which quantize cannot convert (it needs F32, F16 or BF16 input)", input,
             t.name, t.traits->name);
    }

    ThreadPool threads(options.n_threads > 0 ? options.n_threads : ThreadPool::default_threads());
    ModelOutput out(options.progress);
    gguf::Writer& w = out.writer();
    for (const auto& kv : file->metadata()) w.set(kv.key, kv.value);
    w.set("general.file_type", gguf::make::u32(mix.file_type()));
    w.set("general.quantization_version", gguf::make::u32(2));

    QuantizeResult result;
    for (const PlannedTensor& planned : plan_quantization(*file, mix, options.pure)) {
        const gguf::TensorInfo& t = *planned.source;
        result.input_tensor_bytes += t.n_bytes;
        const auto src_type = static_cast<TensorType>(t.type_id);
        const int64_t cols = t.row_length();
        const TensorType dst_type = planned.type;
        const gguf::TensorInfo* info = &t;
        if (dst_type == src_type) {
            out.add_tensor(t.name, dst_type, t.dims, [info](uint8_t* dst, size_t n, const ModelOutput::Tick&) {
                std::memcpy(dst, info->data, n);
            });
            continue;
        }
        QuantizeRowFn quantize = find_quantizer(dst_type);
        if (!quantize) fail("quantize: hearth cannot produce {} (tensor '{}')", type_traits(dst_type).name, t.name);
        DequantizeRowFn to_float = t.traits->dequantize_row;
        ThreadPool* pool = &threads;
        out.add_tensor(t.name, dst_type, t.dims,
                       [info, cols, to_float, quantize, dst_type, pool](uint8_t* dst, size_t n_bytes,
                                                                         const ModelOutput::Tick& tick) {
                           const size_t src_row = row_bytes(*info->traits, cols);
                           const size_t dst_row = row_bytes(type_traits(dst_type), cols);
                           const int64_t n_rows = static_cast<int64_t>(n_bytes / dst_row);
                           // Slabs of about 8 MiB of output between progress reports.
                           const int64_t slab = std::max<int64_t>(1, static_cast<int64_t>((8u << 20) / dst_row));
                           for (int64_t first = 0; first < n_rows; first += slab) {
                               const int64_t count = std::min(slab, n_rows - first);
                               pool->parallel_for(count, [&](int64_t begin, int64_t end) {
                                   std::vector<float> row(static_cast<size_t>(cols));
                                   for (int64_t r = first + begin; r < first + end; ++r) {
                                       to_float(info->data + static_cast<size_t>(r) * src_row, row.data(), cols);
                                       quantize(row.data(), dst + static_cast<size_t>(r) * dst_row, cols);
                                   }
                               });
                               tick(static_cast<size_t>(first + count) * dst_row);
                           }
                       });
    }
    out.write(output);

    result.output_tensor_bytes = out.tensor_bytes();
    result.n_params = out.n_params();
    result.n_tensors = out.n_tensors();
    result.type_summary = out.type_summary();
    return result;
}

}  // namespace hearth::convert
