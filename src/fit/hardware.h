#pragma once
// The machine a model is fitted to: host RAM and its bandwidth, the CPU's compute, and GPUs.
// Detected (/proc/meminfo, /proc/cpuinfo, NVML loaded at run time when the driver has it,
// the bandwidth probe's cache) or stated from a built-in catalogue (--gpu "RTX 4090" --gpus 2).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::fit {

struct GpuSpec {
    std::string_view name;   // "RTX 4090"
    double vram_gb;          // as sold: a "24 GB" card has 24 GiB
    double bandwidth_gbps;   // peak memory bandwidth, 1e9 bytes/s
    double fp16_tflops;      // dense FP16 tensor throughput
    int tdp_w;
    int price_usd;           // typical street price (new or common used), rough
    bool unified = false;    // Apple: the GPU shares host memory
};
std::span<const GpuSpec> gpu_catalogue();
// The catalogue entry an NVML device name refers to (memory picks A100 40GB vs 80GB), or null.
const GpuSpec* match_gpu(const std::string& nvml_name, uint64_t memory_bytes);
// Case-insensitive, ignoring spaces and dashes ("rtx4090" = "RTX 4090"). Throws hearth::Error
// listing the closest names.
const GpuSpec& find_gpu(std::string_view name);

// Host memory setups for CPU-only estimates and the cheapest-hardware search.
struct CpuSystemSpec {
    std::string_view name;
    double ram_gb;
    double bandwidth_gbps;  // theoretical peak
    double tflops;          // rough FP32 peak of the cores with SIMD FMA
    int price_usd;          // whole machine, rough
};
std::span<const CpuSystemSpec> cpu_system_catalogue();

struct Device {
    std::string name;
    uint64_t memory_bytes = 0;  // total
    uint64_t usable_bytes = 0;  // what a runtime can allocate (minus driver reserve / OS share)
    double bandwidth_gbps = 0;
    double tflops = 0;
    bool unified = false;
};

struct Machine {
    std::string cpu_name;
    int cpu_threads = 0;
    uint64_t ram_bytes = 0;       // total
    uint64_t ram_usable_bytes = 0;  // available now (detected) or total less an OS share (stated)
    double ram_bandwidth_gbps = 0;
    bool bandwidth_measured = false;
    double cpu_tflops = 0;
    std::vector<Device> gpus;
    std::string source;  // "detected" / "stated"
    int price_usd = 0;   // for catalogue configurations
};

// "64G", "64GB", "64GiB", "512M", "1.5T", "68719476736" → bytes. Decimal units are read as
// powers of two (64G = 64 GiB), as RAM sizes are meant. Throws hearth::Error.
uint64_t parse_memory_size(std::string_view text, std::string_view flag);

// Bytes a GPU runtime keeps for itself on each device (driver context, cuBLAS workspace).
constexpr uint64_t kGpuRuntimeReserve = uint64_t{600} << 20;
// Peak bandwidth assumed for stated RAM (dual-channel DDR5-5600), 1e9 bytes/s.
constexpr double kStatedRamBandwidth = 89.6;
// Share of Apple unified memory the GPU may wire by default.
constexpr double kUnifiedGpuShare = 0.75;

Device device_from_spec(const GpuSpec& spec);
// This machine: RAM (MemTotal, MemAvailable), CPU model and threads, the cached bandwidth
// probe result when there is one (else an estimate), and NVIDIA GPUs via NVML if loadable.
Machine detect_machine();
// Everything from flags: `gpu` may be empty (CPU only); `ram_bytes` 0 keeps detected RAM.
Machine stated_machine(const std::string& gpu, int n_gpus, uint64_t ram_bytes, const Machine& detected);

}  // namespace hearth::fit
