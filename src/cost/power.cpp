#include "cost/power.h"

#include <dlfcn.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/error.h"

namespace hearth::cost {
namespace fs = std::filesystem;

unsigned long long read_sysfs_integer(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        const int err = errno;
        if (err == EACCES || err == EPERM)
            fail("{}: permission denied (energy counters are often readable only by root)", path);
        fail("{}: cannot open ({})", path, err ? std::strerror(err) : "unknown error");
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) fail("{}: read error", path);
    size_t b = text.find_first_not_of(" \t\r\n"), e = text.find_last_not_of(" \t\r\n");
    std::string digits = b == std::string::npos ? "" : text.substr(b, e - b + 1);
    if (digits.empty() || digits.size() > 19 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        fail("{}: '{}' is not a non-negative integer", path, digits.substr(0, 40));
    return std::stoull(digits);
}

namespace {

// Appends `item` to a `sep`-separated list (written out: GCC 12 warns falsely about
// `(a ? "" : ", ") + b`).
void append_item(std::string& list, const std::string& sep, const std::string& item) {
    if (!list.empty()) list += sep;
    list += item;
}

std::string read_text_or(const fs::path& path, const std::string& fallback) {
    std::ifstream in(path);
    std::string s;
    if (!in || !std::getline(in, s)) return fallback;
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.pop_back();
    return s;
}

// Readers of instantaneous power: integrated between calls with the trapezoid rule.
class PowerIntegrator : public PowerReader {
public:
    double energy_joules(double now_s) override {
        const double w = watts_now();
        if (have_last_) energy_ += 0.5 * (w + last_watts_) * std::max(0.0, now_s - last_time_);
        have_last_ = true;
        last_watts_ = w;
        last_time_ = now_s;
        return energy_;
    }

protected:
    virtual double watts_now() = 0;

private:
    bool have_last_ = false;
    double last_watts_ = 0, last_time_ = 0, energy_ = 0;
};

// --- RAPL -----------------------------------------------------------------------------------

struct RaplDomain {
    fs::path energy_file;
    std::string label;
    unsigned long long max_range = 0;  // counter wraps to 0 after this value (µJ)
    unsigned long long last = 0;
};

class RaplReader : public PowerReader {
public:
    explicit RaplReader(std::vector<RaplDomain> domains) : domains_(std::move(domains)) {
        for (auto& d : domains_) d.last = read_sysfs_integer(d.energy_file.string());
    }
    std::string name() const override { return "rapl"; }
    std::string detail() const override {
        std::string s;
        for (const auto& d : domains_) append_item(s, ", ", d.label);
        return s;
    }
    bool measured() const override { return true; }
    double energy_joules(double) override {
        for (auto& d : domains_) {
            const unsigned long long now = read_sysfs_integer(d.energy_file.string());
            unsigned long long delta = 0;
            if (now >= d.last) delta = now - d.last;
            else if (d.max_range >= d.last) delta = (d.max_range - d.last) + now;  // wrapped past the range
            else fail("{}: counter went from {} to {} (above max_energy_range_uj {})", d.energy_file.string(),
                      d.last, now, d.max_range);
            total_uj_ += delta;
            d.last = now;
        }
        return static_cast<double>(total_uj_) * 1e-6;
    }

private:
    std::vector<RaplDomain> domains_;
    unsigned long long total_uj_ = 0;
};

// --- hwmon ----------------------------------------------------------------------------------

class HwmonReader : public PowerIntegrator {
public:
    HwmonReader(std::vector<fs::path> files, std::vector<std::string> labels)
        : files_(std::move(files)), labels_(std::move(labels)) {
        watts_now();  // fail now, not during the run
    }
    std::string name() const override { return "hwmon"; }
    std::string detail() const override {
        std::string s;
        for (const auto& l : labels_) append_item(s, ", ", l);
        return s;
    }
    bool measured() const override { return true; }

protected:
    double watts_now() override {
        double w = 0;
        for (const auto& f : files_) w += static_cast<double>(read_sysfs_integer(f.string())) * 1e-6;
        return w;
    }

private:
    std::vector<fs::path> files_;
    std::vector<std::string> labels_;
};

// --- NVML -----------------------------------------------------------------------------------

// The few NVML entry points used, declared by their documented C signatures.
using nvml_ret = int;
using nvml_device = void*;
struct NvmlApi {
    void* lib = nullptr;
    nvml_ret (*init)() = nullptr;
    nvml_ret (*shutdown)() = nullptr;
    nvml_ret (*count)(unsigned*) = nullptr;
    nvml_ret (*handle)(unsigned, nvml_device*) = nullptr;
    nvml_ret (*power)(nvml_device, unsigned*) = nullptr;
    const char* (*error_string)(nvml_ret) = nullptr;

    std::string err(nvml_ret r) const {
        return error_string ? fmt::format("{} ({})", error_string(r), r) : fmt::format("error {}", r);
    }
};

class NvmlReader : public PowerIntegrator {
public:
    explicit NvmlReader(const std::string& library) {
        api_.lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!api_.lib) {
            const char* e = dlerror();
            fail("nvml: cannot load {} ({})", library, e ? e : "unknown error");
        }
        try {
            bind(api_.init, "nvmlInit_v2");
            bind(api_.shutdown, "nvmlShutdown");
            bind(api_.count, "nvmlDeviceGetCount_v2");
            bind(api_.handle, "nvmlDeviceGetHandleByIndex_v2");
            bind(api_.power, "nvmlDeviceGetPowerUsage");
            api_.error_string = reinterpret_cast<const char* (*)(nvml_ret)>(dlsym(api_.lib, "nvmlErrorString"));
            if (nvml_ret r = api_.init(); r != 0) fail("nvml: nvmlInit failed: {}", api_.err(r));
            initialized_ = true;
            unsigned n = 0;
            if (nvml_ret r = api_.count(&n); r != 0) fail("nvml: cannot count GPUs: {}", api_.err(r));
            if (n == 0) fail("nvml: no GPU found");
            for (unsigned i = 0; i < n; ++i) {
                nvml_device d = nullptr;
                if (nvml_ret r = api_.handle(i, &d); r != 0) fail("nvml: GPU {}: {}", i, api_.err(r));
                devices_.push_back(d);
            }
            watts_now();
        } catch (...) {
            close();
            throw;
        }
    }
    ~NvmlReader() override { close(); }
    std::string name() const override { return "nvml"; }
    std::string detail() const override { return fmt::format("{} GPU{}", devices_.size(), devices_.size() == 1 ? "" : "s"); }
    bool measured() const override { return true; }

protected:
    double watts_now() override {
        double w = 0;
        for (size_t i = 0; i < devices_.size(); ++i) {
            unsigned mw = 0;
            if (nvml_ret r = api_.power(devices_[i], &mw); r != 0) fail("nvml: GPU {} power: {}", i, api_.err(r));
            w += mw * 1e-3;
        }
        return w;
    }

private:
    template <typename F>
    void bind(F& fn, const char* symbol) {
        fn = reinterpret_cast<F>(dlsym(api_.lib, symbol));
        if (!fn) fail("nvml: {} not found in the library", symbol);
    }
    void close() {
        if (initialized_ && api_.shutdown) api_.shutdown();
        initialized_ = false;
        if (api_.lib) dlclose(api_.lib);
        api_.lib = nullptr;
    }

    NvmlApi api_;
    bool initialized_ = false;
    std::vector<nvml_device> devices_;
};

// --- fixed and sums -------------------------------------------------------------------------

class FixedReader : public PowerReader {
public:
    explicit FixedReader(double watts) : watts_(watts) {}
    std::string name() const override { return "fixed"; }
    std::string detail() const override { return fmt::format("{:g} W", watts_); }
    bool measured() const override { return false; }
    double energy_joules(double now_s) override {
        if (!started_) start_ = now_s, started_ = true;
        return watts_ * (now_s - start_);
    }

private:
    double watts_;
    bool started_ = false;
    double start_ = 0;
};

class SumReader : public PowerReader {
public:
    explicit SumReader(std::vector<std::unique_ptr<PowerReader>> parts) : parts_(std::move(parts)) {
        if (parts_.empty()) fail("power: a sum of no sources");
    }
    std::string name() const override {
        std::string s;
        for (const auto& p : parts_) append_item(s, "+", p->name());
        return s;
    }
    std::string detail() const override {
        std::string s;
        for (const auto& p : parts_) append_item(s, "; ", p->name() + ": " + p->detail());
        return s;
    }
    bool measured() const override {
        return std::all_of(parts_.begin(), parts_.end(), [](const auto& p) { return p->measured(); });
    }
    double energy_joules(double now_s) override {
        double e = 0;
        for (auto& p : parts_) e += p->energy_joules(now_s);
        return e;
    }

private:
    std::vector<std::unique_ptr<PowerReader>> parts_;
};

std::vector<fs::path> sorted_entries(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) out.push_back(it->path());
    std::sort(out.begin(), out.end());
    return out;
}

double parse_watts(const std::string& text) {
    size_t used = 0;
    double w = 0;
    try {
        w = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (text.empty() || used != text.size() || !(w > 0) || w > 1e6)
        fail("--power-source fixed:WATTS needs a wattage between 0 and 1e6, got '{}'", text);
    return w;
}

}  // namespace

std::unique_ptr<PowerReader> make_rapl_reader(const std::string& sysfs_root) {
    const fs::path dir = fs::path(sysfs_root) / "class" / "powercap";
    std::vector<RaplDomain> domains;
    for (const fs::path& p : sorted_entries(dir)) {
        // Top-level domains only ("intel-rapl:0"); sub-zones ("intel-rapl:0:0", core/uncore/dram)
        // are parts of their package and would be counted twice.
        const std::string n = p.filename().string();
        if (n.rfind("intel-rapl:", 0) != 0 || n.find(':', 11) != std::string::npos) continue;
        RaplDomain d;
        d.energy_file = p / "energy_uj";
        d.label = n + " (" + read_text_or(p / "name", "?") + ")";
        d.max_range = read_sysfs_integer((p / "max_energy_range_uj").string());
        domains.push_back(std::move(d));
    }
    if (domains.empty()) fail("rapl: no intel-rapl:N domains under {}", dir.string());
    return std::make_unique<RaplReader>(std::move(domains));
}

std::unique_ptr<PowerReader> make_hwmon_reader(const std::string& sysfs_root) {
    const fs::path dir = fs::path(sysfs_root) / "class" / "hwmon";
    std::vector<fs::path> files;
    std::vector<std::string> labels;
    for (const fs::path& dev : sorted_entries(dir)) {
        const std::string chip = read_text_or(dev / "name", dev.filename().string());
        // powerN_input is the instantaneous reading; powerN_average is used only where a sensor
        // has no input (amdgpu), so no sensor is counted twice.
        for (const fs::path& f : sorted_entries(dev)) {
            const std::string n = f.filename().string();
            if (n.rfind("power", 0) != 0) continue;
            const size_t us = n.find('_');
            if (us == std::string::npos) continue;
            const std::string kind = n.substr(us + 1), sensor = n.substr(0, us);
            if (kind == "input" || (kind == "average" && !fs::exists(dev / (sensor + "_input")))) {
                files.push_back(f);
                labels.push_back(dev.filename().string() + "/" + chip + " " + n);
            }
        }
    }
    if (files.empty()) fail("hwmon: no power*_input or power*_average sensors under {}", dir.string());
    return std::make_unique<HwmonReader>(std::move(files), std::move(labels));
}

std::unique_ptr<PowerReader> make_nvml_reader(const std::string& library) {
    return std::make_unique<NvmlReader>(library);
}

std::unique_ptr<PowerReader> make_fixed_reader(double watts) {
    if (!(watts > 0) || watts > 1e6) fail("fixed power must be between 0 and 1e6 W, got {}", watts);
    return std::make_unique<FixedReader>(watts);
}

namespace {

// A server on another machine: this machine's sensors say nothing about it.
class NoReader : public PowerReader {
public:
    explicit NoReader(std::string why) : why_(std::move(why)) {}
    std::string name() const override { return "none"; }
    std::string detail() const override { return why_; }
    bool measured() const override { return false; }
    double energy_joules(double) override { return 0; }

private:
    std::string why_;
};

}  // namespace

std::unique_ptr<PowerReader> make_no_reader(const std::string& why) { return std::make_unique<NoReader>(why); }

std::unique_ptr<PowerReader> make_sum_reader(std::vector<std::unique_ptr<PowerReader>> parts) {
    if (parts.size() == 1) return std::move(parts.front());
    return std::make_unique<SumReader>(std::move(parts));
}

PowerSelection select_power_source(const std::string& spec, const PowerOptions& options) {
    PowerSelection sel;
    if (spec.rfind("fixed:", 0) == 0) {
        sel.reader = make_fixed_reader(parse_watts(spec.substr(6)));
    } else if (spec == "rapl") {
        sel.reader = make_rapl_reader(options.sysfs_root);
    } else if (spec == "hwmon") {
        sel.reader = make_hwmon_reader(options.sysfs_root);
    } else if (spec == "nvml") {
        sel.reader = make_nvml_reader(options.nvml_library);
    } else if (spec == "auto") {
        std::vector<std::unique_ptr<PowerReader>> parts;
        auto attempt = [&](auto make) {
            try {
                parts.push_back(make());
            } catch (const Error& e) {
                sel.notes.push_back(e.what());
            }
        };
        attempt([&] { return make_rapl_reader(options.sysfs_root); });
        attempt([&] { return make_nvml_reader(options.nvml_library); });
        if (parts.empty()) attempt([&] { return make_hwmon_reader(options.sysfs_root); });
        if (parts.empty()) {
            sel.reader = make_fixed_reader(options.fallback_watts);
            sel.notes.push_back(fmt::format("no power sensor readable: using an estimate of {:g} W", options.fallback_watts));
        } else {
            sel.reader = make_sum_reader(std::move(parts));
        }
    } else {
        fail("--power-source must be auto, nvml, rapl, hwmon or fixed:WATTS, got '{}'", spec);
    }
    return sel;
}

}  // namespace hearth::cost
