#pragma once
// The output side shared by `hearth synth` and `hearth quantize`: a GGUF writer whose tensors
// are produced one at a time while the file is written (never the whole model in memory),
// with progress reports and a tally of types, bytes and parameters for the summary line.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/writer.h"
#include "tensor/types.h"

namespace hearth::convert {

struct WriteProgress {
    size_t tensor_index = 0;       // 0-based index of the tensor being produced
    size_t n_tensors = 0;
    std::string_view tensor_name;
    uint64_t bytes_done = 0;       // tensor bytes produced so far, this tensor's part included
    uint64_t bytes_total = 0;      // tensor bytes of the whole file
};
// Called often (per tensor and within large ones); must be cheap. Runs on the writing thread.
using ProgressFn = std::function<void(const WriteProgress&)>;

// One status line for a progress display: "[ 17/147] blk.1.ffn_up.weight  41%  312.4/771.0 MiB
// 150.2 MiB/s", given the seconds since the write began.
std::string format_progress(const WriteProgress& p, double seconds);

class ModelOutput {
public:
    // Reports how many bytes of the current tensor are done; fills call it as they go.
    using Tick = std::function<void(size_t bytes_done_in_tensor)>;
    using Fill = std::function<void(uint8_t* dst, size_t n_bytes, const Tick& tick)>;

    explicit ModelOutput(ProgressFn progress = {});

    gguf::Writer& writer() { return writer_; }
    void add_tensor(std::string name, TensorType type, std::vector<int64_t> dims, Fill fill);

    // Writes through a temporary file and a rename (gguf::Writer::write).
    void write(const std::string& path);

    uint64_t tensor_bytes() const { return bytes_total_; }
    uint64_t n_params() const { return n_params_; }
    size_t n_tensors() const { return names_.size(); }
    // "Q4_K 96, Q6_K 17, F32 33": tensors per type, most common first.
    std::string type_summary() const;

private:
    gguf::Writer writer_;
    ProgressFn progress_;
    std::vector<std::string> names_;
    std::map<std::string, int> type_counts_;
    uint64_t bytes_total_ = 0;
    uint64_t n_params_ = 0;
    uint64_t bytes_before_ = 0;  // while writing: bytes of the tensors already finished
};

}  // namespace hearth::convert
