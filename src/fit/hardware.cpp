#include "fit/hardware.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/bandwidth.h"
#include "common/error.h"

namespace hearth::fit {
namespace {

// Vendor datasheets; prices are typical 2025 street prices (used for the 3090 and A100s).
constexpr GpuSpec kGpus[] = {
    {"RTX 3060 12GB", 12, 360, 51, 170, 300},
    {"RTX 4060 Ti 16GB", 16, 288, 88, 165, 450},
    {"RTX 3090", 24, 936, 71, 350, 800},
    {"RTX 4090", 24, 1008, 165, 450, 1800},
    {"RTX 5090", 32, 1792, 209, 575, 2400},
    {"RTX A6000", 48, 768, 155, 300, 4500},
    {"RTX 6000 Ada", 48, 960, 365, 300, 7000},
    {"L40S", 48, 864, 362, 350, 8000},
    {"A100 40GB", 40, 1555, 312, 400, 7000},
    {"A100 80GB", 80, 2039, 312, 400, 12000},
    {"H100", 80, 3350, 989, 700, 30000},
    {"H200", 141, 4800, 989, 700, 35000},
    {"MI300X", 192, 5300, 1307, 750, 15000},
    {"Apple M4 Pro 64GB", 64, 273, 9, 100, 2200, true},
    {"Apple M3 Max 128GB", 128, 400, 14, 140, 4700, true},
    {"Apple M4 Max 128GB", 128, 546, 17, 140, 3700, true},
    {"Apple M2 Ultra 192GB", 192, 800, 27, 295, 5600, true},
    {"Apple M3 Ultra 512GB", 512, 819, 28, 270, 9500, true},
};

constexpr CpuSystemSpec kCpuSystems[] = {
    {"desktop DDR4-3200 2ch 64GB", 64, 51.2, 1.0, 1000},
    {"desktop DDR5-5600 2ch 96GB", 96, 89.6, 1.5, 1500},
    {"desktop DDR5-5600 2ch 192GB", 192, 89.6, 1.5, 2100},
    {"server DDR5-4800 8ch 512GB", 512, 307, 4.0, 9000},
    {"server DDR5-4800 12ch 768GB", 768, 460.8, 6.0, 14000},
};

std::string squash(std::string_view s) {
    std::string r;
    for (char c : s)
        if (c != ' ' && c != '-' && c != '_') r += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

uint64_t gib(double g) { return static_cast<uint64_t>(g * 1073741824.0); }

// "MemTotal:  16326412 kB" → bytes.
uint64_t meminfo_field(const std::string& text, const std::string& key) {
    size_t at = text.find(key + ":");
    if (at == std::string::npos) return 0;
    return std::strtoull(text.c_str() + at + key.size() + 1, nullptr, 10) * 1024;
}

std::string read_text(const char* path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// NVIDIA GPUs through NVML, loaded at run time so hearth has no build dependency on CUDA.
std::vector<Device> nvml_gpus() {
    std::vector<Device> out;
    void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return out;
    struct Memory {
        unsigned long long total, free, used;
    };
    using InitFn = int (*)();
    using CountFn = int (*)(unsigned*);
    using HandleFn = int (*)(unsigned, void**);
    using NameFn = int (*)(void*, char*, unsigned);
    using MemFn = int (*)(void*, Memory*);
    auto init = reinterpret_cast<InitFn>(dlsym(lib, "nvmlInit_v2"));
    auto shutdown = reinterpret_cast<InitFn>(dlsym(lib, "nvmlShutdown"));
    auto count = reinterpret_cast<CountFn>(dlsym(lib, "nvmlDeviceGetCount_v2"));
    auto handle = reinterpret_cast<HandleFn>(dlsym(lib, "nvmlDeviceGetHandleByIndex_v2"));
    auto name = reinterpret_cast<NameFn>(dlsym(lib, "nvmlDeviceGetName"));
    auto memory = reinterpret_cast<MemFn>(dlsym(lib, "nvmlDeviceGetMemoryInfo"));
    unsigned n = 0;
    if (init && shutdown && count && handle && name && memory && init() == 0) {
        if (count(&n) == 0) {
            for (unsigned i = 0; i < n; ++i) {
                void* h = nullptr;
                char buf[96] = {};
                Memory mem{};
                if (handle(i, &h) != 0 || name(h, buf, sizeof buf) != 0 || memory(h, &mem) != 0) continue;
                Device d;
                d.name = buf;
                d.memory_bytes = mem.total;
                d.usable_bytes = mem.free > kGpuRuntimeReserve ? mem.free - kGpuRuntimeReserve : 0;
                // Bandwidth and compute from the catalogue entry the name matches best.
                const GpuSpec* best = match_gpu(buf, d.memory_bytes);
                d.bandwidth_gbps = best ? best->bandwidth_gbps : 500;
                d.tflops = best ? best->fp16_tflops : 50;
                out.push_back(d);
            }
        }
        shutdown();
    }
    dlclose(lib);
    return out;
}

}  // namespace

// The catalogue entry an NVML name ("NVIDIA A100-SXM4-80GB", "NVIDIA GeForce RTX 4090") names:
// its model ("a100", "rtx4090") appears in the name; among several, the one whose memory is
// closest to the device's.
const GpuSpec* match_gpu(const std::string& nvml_name, uint64_t memory_bytes) {
    const std::string have = squash(nvml_name);
    const GpuSpec* best = nullptr;
    double best_gap = 0;
    for (const GpuSpec& g : kGpus) {
        if (g.unified) continue;
        // The name without its memory size word ("A100 80GB" → "a100").
        std::string_view name = g.name;
        const size_t last = name.rfind(' ');
        if (last != std::string_view::npos && name.size() > 2 && name.substr(name.size() - 2) == "GB")
            name = name.substr(0, last);
        const std::string model = squash(name);
        if (model.empty() || have.find(model) == std::string::npos) continue;
        const double gap = std::fabs(g.vram_gb - static_cast<double>(memory_bytes) / 1073741824.0);
        if (!best || gap < best_gap) best = &g, best_gap = gap;
    }
    return best;
}

std::span<const GpuSpec> gpu_catalogue() { return kGpus; }
std::span<const CpuSystemSpec> cpu_system_catalogue() { return kCpuSystems; }

const GpuSpec& find_gpu(std::string_view name) {
    const std::string want = squash(name);
    for (const GpuSpec& g : kGpus)
        if (squash(g.name) == want) return g;
    // A unique entry that starts with the name ("rtx4090", "a100" is ambiguous, "h100" is not).
    const GpuSpec* only = nullptr;
    int matches = 0;
    for (const GpuSpec& g : kGpus)
        if (squash(g.name).rfind(want, 0) == 0 || squash(g.name).rfind("apple" + want, 0) == 0) only = &g, ++matches;
    if (matches == 1 && !want.empty()) return *only;
    std::string names;
    for (const GpuSpec& g : kGpus) names += (names.empty() ? "" : ", ") + std::string(g.name);
    fail("unknown GPU '{}' (known: {})", name, names);
}

uint64_t parse_memory_size(std::string_view text, std::string_view flag) {
    std::string s(text);
    size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    const std::string number = s.substr(0, i);
    std::string unit = s.substr(i);
    for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    double mult = 0;
    if (unit.empty() || unit == "b") mult = 1;
    else if (unit == "k" || unit == "kb" || unit == "kib") mult = 1024.0;
    else if (unit == "m" || unit == "mb" || unit == "mib") mult = 1048576.0;
    else if (unit == "g" || unit == "gb" || unit == "gib") mult = 1073741824.0;
    else if (unit == "t" || unit == "tb" || unit == "tib") mult = 1099511627776.0;
    char* end = nullptr;
    const double v = number.empty() ? 0 : std::strtod(number.c_str(), &end);
    if (mult == 0 || number.empty() || end != number.c_str() + number.size() || !(v > 0) || v * mult > 1.8e19)
        fail("{}: expected a size such as 64G, 512M or 1.5T, got '{}'", flag, text);
    return static_cast<uint64_t>(v * mult);
}

Device device_from_spec(const GpuSpec& g) {
    Device d;
    d.name = std::string(g.name);
    d.unified = g.unified;
    d.memory_bytes = gib(g.vram_gb);
    d.usable_bytes = g.unified ? static_cast<uint64_t>(static_cast<double>(d.memory_bytes) * kUnifiedGpuShare)
                               : d.memory_bytes - kGpuRuntimeReserve;
    d.bandwidth_gbps = g.bandwidth_gbps;
    d.tflops = g.fp16_tflops;
    return d;
}

Machine detect_machine() {
    Machine m;
    m.source = "detected";
    const std::string meminfo = read_text("/proc/meminfo");
    m.ram_bytes = meminfo_field(meminfo, "MemTotal");
    m.ram_usable_bytes = meminfo_field(meminfo, "MemAvailable");
    if (m.ram_usable_bytes == 0) m.ram_usable_bytes = m.ram_bytes;
    if (m.ram_bytes == 0) {
        m.ram_bytes = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
        m.ram_usable_bytes = m.ram_bytes;
    }
    const std::string cpuinfo = read_text("/proc/cpuinfo");
    if (size_t at = cpuinfo.find("model name"); at != std::string::npos) {
        size_t colon = cpuinfo.find(':', at), eol = cpuinfo.find('\n', at);
        if (colon != std::string::npos && colon < eol) m.cpu_name = cpuinfo.substr(colon + 2, eol - colon - 2);
    }
    if (m.cpu_name.empty()) m.cpu_name = "unknown CPU";
    m.cpu_threads = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    // Peak FP32 FMA throughput at ~3 GHz: 16 lanes × 2 (FMA) × 2 ports with AVX-512, half with AVX2.
    const bool avx512 = cpuinfo.find(" avx512f") != std::string::npos;
    m.cpu_tflops = m.cpu_threads * 3e9 * (avx512 ? 64 : 32) / 1e12;
    m.ram_bandwidth_gbps = best_cached_read_bandwidth();
    m.bandwidth_measured = m.ram_bandwidth_gbps > 0;
    // Without a measurement: a conservative dual-channel DDR4 figure.
    if (!m.bandwidth_measured) m.ram_bandwidth_gbps = 40;
    m.gpus = nvml_gpus();
    return m;
}

Machine stated_machine(const std::string& gpu, int n_gpus, uint64_t ram_bytes, const Machine& detected) {
    Machine m = detected;
    m.source = "stated";
    if (ram_bytes > 0) {
        m.ram_bytes = ram_bytes;
        // The OS and other programs keep some: 10%, at least 2 GiB.
        m.ram_usable_bytes = ram_bytes - std::min(ram_bytes / 2, std::max(ram_bytes / 10, uint64_t{2} << 30));
        // Another machine's RAM: a dual-channel DDR5-5600 desktop unless --ram-bandwidth says.
        m.ram_bandwidth_gbps = kStatedRamBandwidth;
        m.bandwidth_measured = false;
    }
    if (!gpu.empty()) {
        if (n_gpus < 1 || n_gpus > 64) fail("--gpus must be between 1 and 64 (got {})", n_gpus);
        const GpuSpec& spec = find_gpu(gpu);
        m.gpus.assign(static_cast<size_t>(spec.unified ? 1 : n_gpus), device_from_spec(spec));
        m.price_usd = spec.price_usd * (spec.unified ? 1 : n_gpus);
        if (spec.unified) {
            // The Mac is the whole machine: its memory is the host RAM too.
            m.cpu_name = std::string(spec.name);
            m.ram_bytes = m.gpus[0].memory_bytes;
            m.ram_usable_bytes = m.gpus[0].memory_bytes - m.gpus[0].usable_bytes;
            m.ram_bandwidth_gbps = spec.bandwidth_gbps;
            m.bandwidth_measured = false;
        }
        for (size_t i = 0; i < m.gpus.size() && m.gpus.size() > 1; ++i) m.gpus[i].name += fmt::format(" #{}", i);
    } else if (n_gpus != 1) {
        fail("--gpus needs --gpu to say which GPU");
    }
    return m;
}

}  // namespace hearth::fit
