#include "cost/sampler.h"

#include "common/error.h"

namespace hearth::cost {

PowerSampler::PowerSampler(PowerReader& reader, std::chrono::milliseconds interval)
    : reader_(reader), interval_(interval) {}

PowerSampler::~PowerSampler() {
    {
        std::lock_guard lock(mutex_);
        running_ = false;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

double PowerSampler::now_s() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_).count();
}

// Readers are not thread-safe: every reading happens under the mutex.
void PowerSampler::read_locked() {
    try {
        const double t = now_s();
        last_j_ = reader_.energy_joules(t);
        last_s_ = t;
        ++samples_;
    } catch (const std::exception& e) {
        if (error_.empty()) error_ = e.what();
    }
}

void PowerSampler::start() {
    if (thread_.joinable()) fail("power sampler: start() while running");
    {
        std::lock_guard lock(mutex_);
        error_.clear();
        samples_ = 0;
        read_locked();
        start_s_ = last_s_;
        start_j_ = last_j_;
        running_ = true;
    }
    thread_ = std::thread([this] { loop(); });
}

void PowerSampler::loop() {
    std::unique_lock lock(mutex_);
    while (running_) {
        if (wake_.wait_for(lock, interval_, [this] { return !running_; })) break;
        read_locked();
    }
}

EnergyMeasurement PowerSampler::stop() {
    {
        // The closing reading is taken here, before waiting for the thread to wake and exit,
        // so the interval ends now however late the scheduler runs the sampling thread.
        std::lock_guard lock(mutex_);
        if (!running_) fail("power sampler: stop() without start()");
        read_locked();
        running_ = false;
    }
    wake_.notify_all();
    thread_.join();
    std::lock_guard lock(mutex_);
    if (!error_.empty()) fail("power reading failed: {}", error_);
    EnergyMeasurement m;
    m.seconds = last_s_ - start_s_;
    m.joules = last_j_ - start_j_;
    m.avg_watts = m.seconds > 0 ? m.joules / m.seconds : 0;
    m.samples = samples_;
    return m;
}

}  // namespace hearth::cost
