#pragma once
// Switches the CPU dispatch path for a scope and restores the previous one (tests that run the
// same model on every path).
#include "ops/cpu/dispatch.h"

namespace hearth::test {

class ScopedCpuPath {
public:
    explicit ScopedCpuPath(ops::CpuPath path) : saved_(ops::active_cpu_path()) { ops::set_cpu_path(path); }
    ~ScopedCpuPath() { ops::set_cpu_path(saved_); }
    ScopedCpuPath(const ScopedCpuPath&) = delete;
    ScopedCpuPath& operator=(const ScopedCpuPath&) = delete;

private:
    ops::CpuPath saved_;
};

}  // namespace hearth::test
