#include "cli/options.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "common/error.h"
#include "engine/loader.h"

namespace hearth::cli {

void ModelFlag::add(CLI::App& cmd) {
    cmd.add_option("-m,--model", path, "GGUF model file")->required();
}

void SessionFlags::add(CLI::App& cmd) {
    cmd.add_option("-c,--ctx-size", n_ctx,
                   "context size in tokens (default: the model's, at most 4096)");
    cmd.add_option("-t,--threads", n_threads, "threads to compute with (default: one per physical core)");
    cmd.add_option("-b,--batch-size", n_batch, "prompt tokens per forward pass")->capture_default_str();
    cmd.add_option("--kv-type", kv_type, "KV cache element type: f16 or f32")->capture_default_str();
}

void add_sampling_flags(CLI::App& cmd, SamplingParams& s, std::string& seed) {
    cmd.add_option("--temp", s.temperature, "temperature; 0 = greedy (argmax)")->capture_default_str();
    cmd.add_option("--top-k", s.top_k, "keep the k most likely tokens (0 = off)")->capture_default_str();
    cmd.add_option("--top-p", s.top_p, "keep the smallest set with this probability mass (1 = off)")
        ->capture_default_str();
    cmd.add_option("--min-p", s.min_p, "drop tokens below this fraction of the top probability (0 = off)")
        ->capture_default_str();
    cmd.add_option("--repeat-penalty", s.repeat_penalty, "penalty for recently seen tokens (1 = off)")
        ->capture_default_str();
    cmd.add_option("--repeat-last-n", s.repeat_last_n, "how many recent tokens the penalty looks at")
        ->capture_default_str();
    cmd.add_option("--seed", seed, "random seed for sampling (-1 = random)")->capture_default_str();
}

ops::KvType parse_kv_type(const std::string& name) {
    if (name == "f16") return ops::KvType::F16;
    if (name == "f32") return ops::KvType::F32;
    fail("--kv-type '{}' is not supported (use f16 or f32)", name);
}

SessionOptions SessionFlags::to_options() const {
    SessionOptions o;
    if (n_ctx < 0) fail("-c/--ctx-size must be positive (got {})", n_ctx);
    if (n_threads < 0) fail("-t/--threads must be positive (got {})", n_threads);
    if (n_batch <= 0) fail("-b/--batch-size must be positive (got {})", n_batch);
    o.n_ctx = n_ctx;
    o.n_threads = n_threads;
    o.n_batch = n_batch;
    o.kv_type = parse_kv_type(kv_type);
    return o;
}

std::string read_input_file(const std::string& path, const char* what) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) fail("{}: cannot read the {}: it is a directory", path, what);
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("{}: cannot read the {}: {}", path, what, std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) fail("{}: cannot read the {}: {}", path, what, std::strerror(errno));
    return ss.str();
}

void write_file_atomically(const std::string& path, const void* bytes, size_t size) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) fail("{}: cannot create the output file: {}", path, std::strerror(errno));
    bool ok = std::fwrite(bytes, 1, size, f) == size;
    ok = (std::fflush(f) == 0) && ok;
    int err = errno;
    ok = (std::fclose(f) == 0) && ok;
    if (!ok) {
        std::remove(tmp.c_str());
        fail("{}: write failed: {}", path, std::strerror(err));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        err = errno;
        std::remove(tmp.c_str());
        fail("{}: cannot rename the finished file into place: {}", path, std::strerror(err));
    }
}

void print_warnings(const LoadedModel& model) {
    for (const auto& w : model.warnings) std::fprintf(stderr, "hearth: warning: %s\n", w.c_str());
}

}  // namespace hearth::cli
