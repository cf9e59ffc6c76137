#pragma once
// Samples a PowerReader on a background thread while a generation runs, so power sensors are
// integrated and counters unwrapped often enough; stop() gives the energy and average power
// over the interval.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "cost/power.h"

namespace hearth::cost {

struct EnergyMeasurement {
    double seconds = 0;
    double joules = 0;
    double avg_watts = 0;
    int samples = 0;  // readings taken, start and stop included
};

class PowerSampler {
public:
    // `reader` must outlive the sampler. One measurement at a time.
    explicit PowerSampler(PowerReader& reader, std::chrono::milliseconds interval = std::chrono::milliseconds(100));
    ~PowerSampler();
    PowerSampler(const PowerSampler&) = delete;
    PowerSampler& operator=(const PowerSampler&) = delete;

    void start();
    // Stops sampling and returns the measurement. Throws hearth::Error when a reading failed
    // (the first error seen, on whichever thread).
    EnergyMeasurement stop();

private:
    double now_s() const;
    void read_locked();
    void loop();

    PowerReader& reader_;
    std::chrono::milliseconds interval_;
    std::chrono::steady_clock::time_point epoch_ = std::chrono::steady_clock::now();
    std::mutex mutex_;
    std::condition_variable wake_;
    bool running_ = false;
    std::thread thread_;
    double start_s_ = 0, start_j_ = 0, last_j_ = 0, last_s_ = 0;
    int samples_ = 0;
    std::string error_;
};

}  // namespace hearth::cost
