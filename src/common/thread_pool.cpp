#include "common/thread_pool.h"

#include <algorithm>
#include <fstream>
#include <sched.h>
#include <set>
#include <string>

namespace hearth {

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
}

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

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                              int64_t min_per_thread) {
    if (n <= 0) return;
    int parts = static_cast<int>(std::min<int64_t>(n_threads_, n / std::max<int64_t>(1, min_per_thread)));
    if (parts <= 1 || workers_.empty()) {
        fn(0, n);
        return;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        job_ = &fn;
        job_n_ = n;
        job_parts_ = parts;
        pending_ = parts - 1;
        ++generation_;
    }
    wake_.notify_all();
    int64_t begin, end;
    chunk_bounds(n, parts, 0, begin, end);
    fn(begin, end);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    job_ = nullptr;
}

void ThreadPool::worker_loop(int index) {
    uint64_t seen = 0;
    for (;;) {
        const std::function<void(int64_t, int64_t)>* job;
        int64_t n;
        int parts;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
            if (stopping_) return;
            seen = generation_;
            job = job_;
            n = job_n_;
            parts = job_parts_;
        }
        if (index < parts) {
            int64_t begin, end;
            chunk_bounds(n, parts, index, begin, end);
            (*job)(begin, end);
            std::lock_guard<std::mutex> lock(mutex_);
            if (--pending_ == 0) done_.notify_one();
        }
    }
}

}  // namespace hearth
