#include "common/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sched.h>
#include <set>
#include <cstdio>
#include <unistd.h>
#include <string>

namespace hearth {

ThreadPool::ThreadPool(int n_threads, int spin_us) : n_threads_(std::max(1, n_threads)), spin_us_(std::max(0, spin_us)),
      active_spin_us_(spin_us_), online_cpus_(std::max(1, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)))) {
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_.store(true, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
}

int ThreadPool::spin_microseconds() {
    // Long enough to bridge the serial work between two loops of one forward pass, short
    // enough that an idle process (a chat waiting for input) stops burning cores at once.
    static const int value = [] {
        const char* env = std::getenv("HEARTH_SPIN_US");
        if (env == nullptr || *env == '\0') return 200;
        char* end = nullptr;
        long v = std::strtol(env, &end, 10);
        return (*end == '\0' && v >= 0 && v <= 1000000) ? static_cast<int>(v) : 200;
    }();
    return value;
}

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Waits for `ready()` without sleeping for up to `spin_us`; returns ready(). After a short
// pure spin it yields between checks: on an oversubscribed machine the thread we wait for may
// need this core, and a pure spin there measured 2x slower than sleeping at once.
template <class Ready>
bool spin_until(Ready ready, int spin_us) {
    if (spin_us <= 0) return ready();
    for (int i = 0; i < 256; ++i) {
        if (ready()) return true;
        cpu_relax();
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us);
    for (;;) {
        for (int i = 0; i < 8; ++i) {
            if (ready()) return true;
            std::this_thread::yield();
        }
        if (std::chrono::steady_clock::now() >= deadline) return ready();
    }
}

}  // namespace

int ThreadPool::default_threads() {
    // Physical cores this process may run on: hyperthread siblings share one core's load and
    // FMA units, so a second thread per core slows matmul down rather than up.
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    int n_allowed = 0;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) n_allowed = CPU_COUNT(&allowed);
    std::set<std::pair<std::string, std::string>> cores;
    for (int cpu = 0; cpu < CPU_SETSIZE && n_allowed > 0; ++cpu) {
        if (!CPU_ISSET(cpu, &allowed)) continue;
        std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
        std::ifstream core(base + "core_id"), package(base + "physical_package_id");
        std::string core_id, package_id;
        if (!(core >> core_id) || !(package >> package_id)) {
            cores.clear();
            break;
        }
        cores.insert({package_id, core_id});
    }
    if (!cores.empty()) return static_cast<int>(cores.size());
    if (n_allowed > 0) return n_allowed;
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(n);
}

static void chunk_bounds(int64_t n, int parts, int index, int64_t& begin, int64_t& end) {
    begin = n * index / parts;
    end = n * (index + 1) / parts;
}

// Spinning pays only while every runnable thread has a core. When other processes compete
// (a build, a second model), a spinning thread burns the time slice the thread it waits for
// needs, so tg measured 30-40% slower than sleeping at once. The run queue length in
// /proc/loadavg tells which case we are in; it is read at most every 50 ms.
void ThreadPool::refresh_spin_budget() {
    if (spin_us_ == 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_load_check_) return;
    next_load_check_ = now + std::chrono::milliseconds(50);
    const int running = runnable_threads();
    const bool crowded = running > 0 && running > online_cpus_;
    active_spin_us_.store(crowded ? 0 : spin_us_, std::memory_order_relaxed);
}

int ThreadPool::runnable_threads() {
    // Fourth field of /proc/loadavg: "running/total"; -1 when unavailable.
    std::FILE* f = std::fopen("/proc/loadavg", "r");
    if (f == nullptr) return -1;
    double l1, l5, l15;
    int running = -1, total = 0;
    if (std::fscanf(f, "%lf %lf %lf %d/%d", &l1, &l5, &l15, &running, &total) != 5) running = -1;
    std::fclose(f);
    return running;
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                              int64_t min_per_thread) {
    if (n <= 0) return;
    int parts = static_cast<int>(std::min<int64_t>(n_threads_, n / std::max<int64_t>(1, min_per_thread)));
    if (parts <= 1 || workers_.empty()) {
        fn(0, n);
        return;
    }
    refresh_spin_budget();
    job_ = &fn;
    job_n_ = n;
    job_parts_ = parts;
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    {
        // Under the mutex so a worker that is about to sleep either sees the new generation
        // or is already waiting when we notify.
        std::lock_guard<std::mutex> lock(mutex_);
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    int64_t begin, end;
    chunk_bounds(n, parts, 0, begin, end);
    fn(begin, end);
    auto all_done = [this] { return pending_.load(std::memory_order_acquire) == 0; };
    if (!spin_until(all_done, active_spin_us_.load(std::memory_order_relaxed))) {
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, all_done);
    }
    job_ = nullptr;
}

void ThreadPool::worker_loop(int index) {
    uint64_t seen = 0;
    for (;;) {
        auto has_work = [&] {
            return stopping_.load(std::memory_order_acquire) ||
                   generation_.load(std::memory_order_acquire) != seen;
        };
        if (!spin_until(has_work, active_spin_us_.load(std::memory_order_relaxed))) {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, has_work);
        }
        if (stopping_.load(std::memory_order_acquire)) return;
        seen = generation_.load(std::memory_order_acquire);
        const int parts = job_parts_;
        if (index < parts) {
            int64_t begin, end;
            chunk_bounds(job_n_, parts, index, begin, end);
            (*job_)(begin, end);
        }
        // Every worker reports, even one without a chunk, so the caller never reuses the job
        // fields while a worker may still read them.
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard<std::mutex> lock(mutex_);
            done_.notify_one();
        }
    }
}

}  // namespace hearth
