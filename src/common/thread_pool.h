#pragma once
// A fixed set of worker threads that run one parallel loop at a time. The calling thread
// takes part, so a pool of N threads starts N-1 workers.
//
// A forward pass issues hundreds of short parallel loops per token; a condition-variable
// wake-up costs tens of microseconds each, so workers (and the caller waiting for them) spin
// briefly before they sleep. See docs/performance.md for the measured effect.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hearth {

class ThreadPool {
public:
    explicit ThreadPool(int n_threads, int spin_us = spin_microseconds());
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Calls fn(begin, end) over [0, n) split into contiguous chunks, one per thread, and
    // returns when all are done. Runs inline when n is smaller than `min_per_thread` × 2,
    // because waking threads costs more than tiny loops. Not re-entrant: one caller at a time.
    void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                      int64_t min_per_thread = 1);

    // Threads to use by default: the physical cores this process may run on, at least 1.
    static int default_threads();

    // How long an idle thread spins before it sleeps; 0 sleeps at once (HEARTH_SPIN_US).
    static int spin_microseconds();

private:
    void worker_loop(int index);
    void refresh_spin_budget();
    static int runnable_threads();

    int n_threads_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    // The job is written before generation_ is bumped (release) and read after a worker sees
    // the new generation (acquire).
    const std::function<void(int64_t, int64_t)>* job_ = nullptr;
    int64_t job_n_ = 0;
    int job_parts_ = 0;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    std::atomic<bool> stopping_{false};
    int spin_us_;                          // configured spin
    std::atomic<int> active_spin_us_;      // 0 while the machine is oversubscribed
    int online_cpus_;
    std::chrono::steady_clock::time_point next_load_check_{};
};

}  // namespace hearth
