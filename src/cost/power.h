#pragma once
// Power readers: where the watts in a cost report come from. Every reader turns its sensor into
// one number, the energy used since it was created (joules), so a sampler can take the
// difference over a generation whatever the sensor measures:
//   nvml   NVIDIA GPUs: nvmlDeviceGetPowerUsage (mW), libnvidia-ml loaded at run time
//   rapl   Linux powercap energy counters of the CPU packages (µJ, wrapping at max_energy_range_uj)
//   hwmon  hardware-monitor power sensors (power*_input / power*_average, µW)
//   fixed  a stated wattage: an estimate, not a measurement
// Sysfs readers take the root of the tree they read ("/sys" normally) so tests can point them at
// fixture trees.
#include <memory>
#include <string>
#include <vector>

namespace hearth::cost {

class PowerReader {
public:
    virtual ~PowerReader() = default;
    // "nvml", "rapl", "hwmon", "fixed", or "rapl+nvml" for a sum.
    virtual std::string name() const = 0;
    // What exactly is read, for the report ("intel-rapl:0 (package-0)", "2 GPUs", "65 W").
    virtual std::string detail() const = 0;
    // True for a sensor, false for an estimate.
    virtual bool measured() const = 0;
    // Energy in joules used since the first call, at `now_s` (seconds on a steady clock, never
    // decreasing between calls). Call it at least every few seconds: sensors of power are
    // integrated between calls, counters are unwrapped between calls. Throws hearth::Error when
    // the sensor cannot be read or reads garbage.
    virtual double energy_joules(double now_s) = 0;
};

struct PowerOptions {
    std::string sysfs_root = "/sys";
    std::string nvml_library = "libnvidia-ml.so.1";
    // `auto` with no readable sensor falls back to this estimate (a typical desktop CPU package
    // under load); the report says it is an estimate.
    double fallback_watts = 65;
};

// Each throws hearth::Error saying why the source is unusable (no such files, permission
// denied, malformed value, no library, no GPU).
std::unique_ptr<PowerReader> make_rapl_reader(const std::string& sysfs_root);
std::unique_ptr<PowerReader> make_hwmon_reader(const std::string& sysfs_root);
std::unique_ptr<PowerReader> make_nvml_reader(const std::string& library);
std::unique_ptr<PowerReader> make_fixed_reader(double watts);
// No reading at all (zero energy, not measured): a remote --target with no --target-watts.
// `why` is its detail().
std::unique_ptr<PowerReader> make_no_reader(const std::string& why);
// The sum of several readers (measured only if all are).
std::unique_ptr<PowerReader> make_sum_reader(std::vector<std::unique_ptr<PowerReader>> parts);

struct PowerSelection {
    std::unique_ptr<PowerReader> reader;
    std::vector<std::string> notes;  // why other sources were not used (for `auto`)
};

// `spec`: auto | nvml | rapl | hwmon | fixed:WATTS. `auto` sums RAPL (the CPU packages, where
// hearth computes) and NVML (GPUs, where a --target server may compute) when readable, else
// uses hwmon, else falls back to options.fallback_watts as an estimate. A named source that
// cannot be read is an error.
PowerSelection select_power_source(const std::string& spec, const PowerOptions& options = {});

// The number in a sysfs file (one decimal integer, surrounding whitespace allowed). Throws
// hearth::Error naming the file for a missing or unreadable file (permission denied is spelled
// out) or a value that is not a non-negative integer.
unsigned long long read_sysfs_integer(const std::string& path);

}  // namespace hearth::cost
