// Power readers against fixture sysfs trees: RAPL counters (with wraparound), hwmon sensors,
// fixed estimates, `auto` fallbacks, and the background sampler.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/error.h"
#include "cost/power.h"
#include "cost/sampler.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace hearth::cost;

namespace {

void put(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

// A RAPL tree with one package (and a core sub-zone that must not be counted).
fs::path rapl_tree(unsigned long long energy, unsigned long long max_range = 262143328850ULL) {
    fs::path root = hearth::test::temp_dir();
    fs::path pkg = root / "class/powercap/intel-rapl:0";
    put(pkg / "name", "package-0\n");
    put(pkg / "energy_uj", std::to_string(energy) + "\n");
    put(pkg / "max_energy_range_uj", std::to_string(max_range) + "\n");
    put(root / "class/powercap/intel-rapl:0:0/name", "core\n");
    put(root / "class/powercap/intel-rapl:0:0/energy_uj", "999999999\n");
    put(root / "class/powercap/intel-rapl:0:0/max_energy_range_uj", "262143328850\n");
    return root;
}

void set_energy(const fs::path& root, const std::string& domain, const std::string& value) {
    put(root / "class/powercap" / domain / "energy_uj", value);
}

}  // namespace

TEST(CostPower, RaplCountsTopLevelDomainsOnly) {
    fs::path root = rapl_tree(1000000);
    put(root / "class/powercap/intel-rapl:1/name", "package-1\n");
    put(root / "class/powercap/intel-rapl:1/energy_uj", "5000000\n");
    put(root / "class/powercap/intel-rapl:1/max_energy_range_uj", "262143328850\n");
    auto r = make_rapl_reader(root.string());
    EXPECT_EQ(r->name(), "rapl");
    EXPECT_TRUE(r->measured());
    EXPECT_NE(r->detail().find("package-0"), std::string::npos);
    EXPECT_NE(r->detail().find("package-1"), std::string::npos);
    EXPECT_EQ(r->detail().find("core"), std::string::npos);
    EXPECT_DOUBLE_EQ(r->energy_joules(0), 0.0);
    set_energy(root, "intel-rapl:0", "3000000");    // +2 J
    set_energy(root, "intel-rapl:1", "5500000");    // +0.5 J
    set_energy(root, "intel-rapl:0:0", "1");        // a sub-zone: ignored
    EXPECT_NEAR(r->energy_joules(1), 2.5, 1e-9);
}

TEST(CostPower, RaplUnwrapsTheCounter) {
    // The counter wraps to 0 after max_energy_range_uj: 900 -> (wrap at 1000) -> 100 is 200 µJ.
    fs::path root = rapl_tree(999999900, 1000000000);
    auto r = make_rapl_reader(root.string());
    r->energy_joules(0);
    set_energy(root, "intel-rapl:0", "100");
    EXPECT_NEAR(r->energy_joules(1), 200e-6, 1e-12);
    set_energy(root, "intel-rapl:0", "2000100");
    EXPECT_NEAR(r->energy_joules(2), 2.0002, 1e-9);
}

TEST(CostPower, RaplRejectsMalformedAndImpossibleValues) {
    fs::path root = rapl_tree(100);
    set_energy(root, "intel-rapl:0", "12abc\n");
    try {
        make_rapl_reader(root.string());
        FAIL() << "accepted a malformed counter";
    } catch (const hearth::Error& e) {
        EXPECT_NE(std::string(e.what()).find("energy_uj"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("not a non-negative integer"), std::string::npos) << e.what();
    }
    set_energy(root, "intel-rapl:0", "-5");
    EXPECT_THROW(make_rapl_reader(root.string()), hearth::Error);
    set_energy(root, "intel-rapl:0", "");
    EXPECT_THROW(make_rapl_reader(root.string()), hearth::Error);

    // A counter above its own range is not a wrap: an error, not a silent huge number.
    fs::path root2 = rapl_tree(500, 1000);
    auto r = make_rapl_reader(root2.string());
    set_energy(root2, "intel-rapl:0", "5000");
    r->energy_joules(0);
    set_energy(root2, "intel-rapl:0", "10");
    EXPECT_THROW(r->energy_joules(1), hearth::Error);
}

TEST(CostPower, RaplMissingTreeOrPermissionIsAClearError) {
    fs::path empty = hearth::test::temp_dir();
    try {
        make_rapl_reader(empty.string());
        FAIL();
    } catch (const hearth::Error& e) {
        EXPECT_NE(std::string(e.what()).find("no intel-rapl"), std::string::npos) << e.what();
    }
    fs::path root = rapl_tree(100);
    fs::permissions(root / "class/powercap/intel-rapl:0/energy_uj", fs::perms::none);
    if (geteuid() == 0) {
        // Root reads anything: check in a child that drops to `nobody` (as RAPL's root-only
        // energy_uj looks to an ordinary user).
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
            try {
                make_rapl_reader(root.string());
                _exit(1);
            } catch (const hearth::Error& e) {
                PowerOptions o;
                o.sysfs_root = root.string();
                o.nvml_library = "/nonexistent/libnvidia-ml.so.1";
                PowerSelection sel = select_power_source("auto", o);
                bool noted = false;
                for (const auto& n : sel.notes) noted |= n.find("permission denied") != std::string::npos;
                const bool ok = std::string(e.what()).find("permission denied") != std::string::npos &&
                                sel.reader->name() == "fixed" && noted;
                _exit(ok ? 0 : 2);
            }
        }
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status));
        if (WEXITSTATUS(status) == 3) GTEST_SKIP() << "cannot drop root privileges here";
        EXPECT_EQ(WEXITSTATUS(status), 0) << "1: read despite no permission; 2: wrong message or no fallback";
        return;
    }
    try {
        make_rapl_reader(root.string());
        FAIL();
    } catch (const hearth::Error& e) {
        EXPECT_NE(std::string(e.what()).find("permission denied"), std::string::npos) << e.what();
    }
    // auto falls back and says why.
    PowerOptions o;
    o.sysfs_root = root.string();
    o.nvml_library = "/nonexistent/libnvidia-ml.so.1";
    PowerSelection sel = select_power_source("auto", o);
    EXPECT_EQ(sel.reader->name(), "fixed");
    bool mentioned = false;
    for (const auto& n : sel.notes) mentioned |= n.find("permission denied") != std::string::npos;
    EXPECT_TRUE(mentioned);
}

TEST(CostPower, HwmonIntegratesMicrowattSensors) {
    fs::path root = hearth::test::temp_dir();
    fs::path dev = root / "class/hwmon/hwmon0";
    put(dev / "name", "amdgpu\n");
    put(dev / "power1_average", "15000000\n");   // 15 W, no power1_input: used
    put(dev / "power2_input", "5000000\n");      // 5 W
    put(dev / "power2_average", "7000000\n");    // has an input beside it: not counted again
    put(dev / "temp1_input", "45000\n");         // not power
    auto r = make_hwmon_reader(root.string());
    EXPECT_EQ(r->name(), "hwmon");
    EXPECT_NE(r->detail().find("amdgpu power1_average"), std::string::npos) << r->detail();
    EXPECT_EQ(r->detail().find("power2_average"), std::string::npos) << r->detail();
    EXPECT_DOUBLE_EQ(r->energy_joules(10.0), 0.0);
    EXPECT_NEAR(r->energy_joules(12.0), 40.0, 1e-9);  // 20 W for 2 s
    put(dev / "power2_input", "25000000\n");           // now 40 W: trapezoid gives 30 W average
    EXPECT_NEAR(r->energy_joules(13.0), 70.0, 1e-9);
    put(dev / "power2_input", "garbage\n");
    EXPECT_THROW(r->energy_joules(14.0), hearth::Error);
}

TEST(CostPower, HwmonWithoutPowerSensorsIsAnError) {
    fs::path root = hearth::test::temp_dir();
    put(root / "class/hwmon/hwmon0/temp1_input", "45000\n");
    EXPECT_THROW(make_hwmon_reader(root.string()), hearth::Error);
}

TEST(CostPower, FixedSpecIsAnEstimate) {
    PowerSelection sel = select_power_source("fixed:42.5");
    EXPECT_EQ(sel.reader->name(), "fixed");
    EXPECT_FALSE(sel.reader->measured());
    EXPECT_DOUBLE_EQ(sel.reader->energy_joules(5), 0);
    EXPECT_NEAR(sel.reader->energy_joules(7), 85.0, 1e-9);
    for (const char* bad : {"fixed:", "fixed:abc", "fixed:-3", "fixed:0", "fixed:12W", "fixed:nan", "gpu", ""})
        EXPECT_THROW(select_power_source(bad), hearth::Error) << bad;
}

TEST(CostPower, NvmlWithoutTheLibraryIsAClearError) {
    try {
        make_nvml_reader("/nonexistent/libnvidia-ml.so.1");
        FAIL();
    } catch (const hearth::Error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot load"), std::string::npos) << e.what();
    }
    PowerOptions o;
    o.nvml_library = "/nonexistent/libnvidia-ml.so.1";
    EXPECT_THROW(select_power_source("nvml", o), hearth::Error);
}

TEST(CostPower, NvmlLoadedAtRunTimeSumsGpus) {
    auto r = make_nvml_reader(HEARTH_FAKE_NVML);
    EXPECT_EQ(r->name(), "nvml");
    EXPECT_EQ(r->detail(), "2 GPUs");
    EXPECT_TRUE(r->measured());
    r->energy_joules(1.0);
    EXPECT_NEAR(r->energy_joules(3.0), 400.0, 1e-9);  // (150 + 50) W for 2 s

    ::setenv("HEARTH_FAKE_NVML_INIT_ERROR", "9", 1);
    try {
        make_nvml_reader(HEARTH_FAKE_NVML);
        ADD_FAILURE() << "init failure not reported";
    } catch (const hearth::Error& e) {
        EXPECT_NE(std::string(e.what()).find("Driver Not Loaded"), std::string::npos) << e.what();
    }
    ::unsetenv("HEARTH_FAKE_NVML_INIT_ERROR");

    // auto sums the CPU packages and the GPUs.
    PowerOptions o;
    o.nvml_library = HEARTH_FAKE_NVML;
    o.sysfs_root = rapl_tree(100).string();
    PowerSelection sel = select_power_source("auto", o);
    EXPECT_EQ(sel.reader->name(), "rapl+nvml");
    EXPECT_TRUE(sel.reader->measured());
    EXPECT_TRUE(sel.notes.empty());
}

TEST(CostPower, AutoPrefersSensorsAndFallsBackToAStatedEstimate) {
    PowerOptions o;
    o.nvml_library = "/nonexistent/libnvidia-ml.so.1";
    o.sysfs_root = rapl_tree(100).string();
    PowerSelection sel = select_power_source("auto", o);
    EXPECT_EQ(sel.reader->name(), "rapl");
    EXPECT_TRUE(sel.reader->measured());

    o.sysfs_root = hearth::test::temp_dir().string();
    o.fallback_watts = 33;
    sel = select_power_source("auto", o);
    EXPECT_EQ(sel.reader->name(), "fixed");
    EXPECT_FALSE(sel.reader->measured());
    EXPECT_EQ(sel.reader->detail(), "33 W");
    ASSERT_EQ(sel.notes.size(), 4u);  // rapl, nvml, hwmon, and the estimate
    EXPECT_NE(sel.notes[0].find("rapl"), std::string::npos);
    EXPECT_NE(sel.notes[1].find("nvml"), std::string::npos);
    EXPECT_NE(sel.notes[2].find("hwmon"), std::string::npos);
    EXPECT_NE(sel.notes[3].find("estimate"), std::string::npos);
}

TEST(CostPower, SumOfReadersAddsAndIsMeasuredOnlyIfAllAre) {
    std::vector<std::unique_ptr<PowerReader>> parts;
    parts.push_back(make_fixed_reader(10));
    parts.push_back(make_rapl_reader(rapl_tree(100).string()));
    auto sum = make_sum_reader(std::move(parts));
    EXPECT_EQ(sum->name(), "fixed+rapl");
    EXPECT_FALSE(sum->measured());
    sum->energy_joules(0);
    EXPECT_NEAR(sum->energy_joules(2), 20.0, 1e-9);
}

TEST(CostPower, SamplerMeasuresOverTheInterval) {
    auto reader = make_fixed_reader(100);
    PowerSampler sampler(*reader, std::chrono::milliseconds(5));
    sampler.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    EnergyMeasurement m = sampler.stop();
    EXPECT_GE(m.seconds, 0.05);
    EXPECT_NEAR(m.avg_watts, 100.0, 1e-6);
    EXPECT_NEAR(m.joules, 100.0 * m.seconds, 1e-6);
    EXPECT_GE(m.samples, 3);  // the background thread read it between start and stop
    EXPECT_THROW(sampler.stop(), hearth::Error);
    // A second measurement starts from zero again.
    sampler.start();
    EnergyMeasurement m2 = sampler.stop();
    EXPECT_LT(m2.joules, m.joules);
}

TEST(CostPower, SamplerReportsAReadFailure) {
    fs::path root = rapl_tree(100);
    auto reader = make_rapl_reader(root.string());
    PowerSampler sampler(*reader, std::chrono::milliseconds(2));
    sampler.start();
    set_energy(root, "intel-rapl:0", "oops");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_THROW(sampler.stop(), hearth::Error);
}
