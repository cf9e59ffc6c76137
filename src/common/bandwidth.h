#pragma once
// The machine's memory read bandwidth, measured with a streaming-read probe. Generation speed
// on a CPU is bounded by it, so benchmarks report achieved GB/s as a fraction of it.
#include <string>

namespace hearth {

struct BandwidthProbe {
    double gbps = 0;      // best of several passes, 1e9 bytes per second
    int threads = 0;
    size_t buffer_bytes = 0;
    bool from_cache = false;
};

// Reads a buffer much larger than the caches with `threads` threads, best of `passes`.
BandwidthProbe measure_read_bandwidth(int threads, size_t buffer_bytes = size_t(1) << 30, int passes = 5);

// Measures once per thread count and caches the figure in `cache_file` (JSON) for later runs.
// An empty path means the default: $XDG_CACHE_HOME/hearth/bandwidth.json or ~/.cache/….
BandwidthProbe cached_read_bandwidth(int threads, const std::string& cache_file = "", bool refresh = false);

// The highest figure in the cache over all thread counts, without measuring; 0 when there is
// none (planning tools use it as "this machine's bandwidth").
double best_cached_read_bandwidth(const std::string& cache_file = "");

}  // namespace hearth
