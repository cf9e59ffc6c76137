// The pool must hand every index to exactly one thread, for every size and thread count,
// across many back-to-back loops (the spin hand-off) and after idle sleeps (the condvar path).
#include "common/thread_pool.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace hearth {
namespace {

void expect_each_index_once(ThreadPool& pool, int64_t n, int64_t min_per_thread = 1) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    pool.parallel_for(
        n,
        [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
        },
        min_per_thread);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "index " << i << " of " << n;
}

class ThreadPoolTest : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(ThreadPoolTest, EveryIndexExactlyOnce) {
    const auto [threads, spin_us] = GetParam();
    ThreadPool pool(threads, spin_us);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {1, 2, 3, 7, 64, 1000, 4097}) expect_each_index_once(pool, n);
    expect_each_index_once(pool, 100, 60);  // too small to split: runs inline
}

TEST_P(ThreadPoolTest, ManyBackToBackLoops) {
    const auto [threads, spin_us] = GetParam();
    ThreadPool pool(threads, spin_us);
    std::atomic<int64_t> sum{0};
    for (int round = 0; round < 3000; ++round)
        pool.parallel_for(threads * 2, [&](int64_t b, int64_t e) { sum.fetch_add(e - b); });
    EXPECT_EQ(sum.load(), int64_t{3000} * threads * 2);
}

TEST_P(ThreadPoolTest, WakesAfterIdleSleep) {
    const auto [threads, spin_us] = GetParam();
    ThreadPool pool(threads, spin_us);
    for (int round = 0; round < 3; ++round) {
        // Longer than any spin: the workers are asleep on the condition variable.
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        expect_each_index_once(pool, 257);
    }
}

INSTANTIATE_TEST_SUITE_P(ThreadsAndSpin, ThreadPoolTest,
                         ::testing::Combine(::testing::Values(1, 2, 3, 5), ::testing::Values(0, 200)));

TEST(ThreadPool, DefaultThreadsIsPositive) { EXPECT_GE(ThreadPool::default_threads(), 1); }

TEST(ThreadPool, DestroysCleanlyWhileIdleOrFreshlyUsed) {
    for (int i = 0; i < 50; ++i) {
        ThreadPool pool(3, i % 2 ? 0 : 200);
        if (i % 3) expect_each_index_once(pool, 10);
    }
}

}  // namespace
}  // namespace hearth
