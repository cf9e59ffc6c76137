// libFuzzer target for the model loader: hearth::gguf::File::parse and then hearth::Model::load
// on arbitrary bytes.
//
// Bad input must end in hearth::Error and nothing else: a file that parses as GGUF but whose
// metadata or tensors do not describe a model hearth can run (unknown architecture, missing or
// mis-shaped tensors, inconsistent hyperparameters, wrong expert counts) must be refused with
// an error, never read outside the buffer or crash. Seeds: the small golden models of every
// architecture (scripts/fuzz.sh), so mutations start from files that load.
//
// Build and run: FUZZ_TARGETS=model_load_fuzz scripts/fuzz.sh
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/error.h"
#include "gguf/gguf.h"
#include "model/model.h"

namespace {
volatile uint64_t g_sink;  // keeps the loaded model's facts from being optimized away
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::shared_ptr<const hearth::gguf::File> file;
    try {
        file = hearth::gguf::File::parse("fuzz-input", data, size);
    } catch (const hearth::Error&) {
        return 0;  // refused cleanly: anything else (another exception, a crash) is a finding
    }
    try {
        const std::unique_ptr<hearth::Model> model = hearth::Model::load(file);
        g_sink = g_sink + static_cast<uint64_t>(model->hparams().n_layer) + model->host_copy_bytes();
    } catch (const hearth::Error&) {
    }
    return 0;
}
