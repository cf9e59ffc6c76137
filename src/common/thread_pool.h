#pragma once
// A fixed set of worker threads that run one parallel loop at a time. The calling thread
// takes part, so a pool of N threads starts N-1 workers.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hearth {

class ThreadPool {
public:
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Calls fn(begin, end) over [0, n) split into contiguous chunks, one per thread, and
    // returns when all are done. Runs inline when n is smaller than `min_per_thread` × 2,
    // because waking threads costs more than tiny loops.
    void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                      int64_t min_per_thread = 1);

    // Threads to use by default: the physical cores this process may run on, at least 1.
    static int default_threads();

private:
    void worker_loop(int index);

    int n_threads_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    const std::function<void(int64_t, int64_t)>* job_ = nullptr;
    int64_t job_n_ = 0;
    int job_parts_ = 0;
    uint64_t generation_ = 0;
    int pending_ = 0;
    bool stopping_ = false;
};

}  // namespace hearth
