#include "convert/model_output.h"

#include <algorithm>

#include <fmt/format.h>

namespace hearth::convert {

std::string format_progress(const WriteProgress& p, double seconds) {
    const double mib = 1.0 / (1 << 20);
    const double pct = p.bytes_total ? 100.0 * static_cast<double>(p.bytes_done) / static_cast<double>(p.bytes_total) : 100.0;
    std::string rate = seconds > 0.2 ? fmt::format("  {:.1f} MiB/s", p.bytes_done * mib / seconds) : "";
    const int width = static_cast<int>(std::to_string(p.n_tensors).size());
    return fmt::format("[{:>{}}/{}] {:<32} {:3.0f}%  {:.1f}/{:.1f} MiB{}", p.tensor_index + 1, width, p.n_tensors,
                       p.tensor_name, pct, p.bytes_done * mib, p.bytes_total * mib, rate);
}

ModelOutput::ModelOutput(ProgressFn progress) : writer_(3), progress_(std::move(progress)) {}

void ModelOutput::add_tensor(std::string name, TensorType type, std::vector<int64_t> dims, Fill fill) {
    const TypeTraits& traits = type_traits(type);
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    const size_t index = names_.size();
    auto wrapped = [this, index, fill = std::move(fill)](uint8_t* dst, size_t n_bytes) {
        const uint64_t before = bytes_before_;
        auto report = [&](size_t done) {
            if (progress_)
                progress_({index, names_.size(), names_[index], before + std::min(done, n_bytes), bytes_total_});
        };
        report(0);
        fill(dst, n_bytes, report);
        report(n_bytes);
        bytes_before_ = before + n_bytes;
    };
    writer_.add_tensor(name, static_cast<uint32_t>(type), dims, wrapped);  // checks shape and size
    n_params_ += static_cast<uint64_t>(n);
    bytes_total_ += static_cast<uint64_t>(n / traits.block_size) * traits.block_bytes;
    ++type_counts_[traits.name];
    names_.push_back(std::move(name));
}

void ModelOutput::write(const std::string& path) {
    bytes_before_ = 0;
    writer_.write(path);
}

std::string ModelOutput::type_summary() const {
    std::vector<std::pair<std::string, int>> counts(type_counts_.begin(), type_counts_.end());
    std::stable_sort(counts.begin(), counts.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    std::string out;
    for (const auto& [name, count] : counts) {
        if (!out.empty()) out += ", ";
        out += fmt::format("{} {}", name, count);
    }
    return out;
}

}  // namespace hearth::convert
