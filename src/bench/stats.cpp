#include "bench/stats.h"

#include <algorithm>
#include <cmath>

namespace hearth {

double quantile_sorted(const std::vector<double>& s, double p) {
    if (s.empty()) return 0;
    double pos = p * static_cast<double>(s.size() - 1);
    size_t lo = static_cast<size_t>(std::floor(pos));
    size_t hi = std::min(lo + 1, s.size() - 1);
    double frac = pos - static_cast<double>(lo);
    return s[lo] + (s[hi] - s[lo]) * frac;
}

Summary summarize(std::vector<double> samples) {
    Summary r;
    r.n = static_cast<int>(samples.size());
    if (samples.empty()) return r;
    std::sort(samples.begin(), samples.end());
    double sum = 0;
    for (double v : samples) sum += v;
    r.mean = sum / r.n;
    double ss = 0;
    for (double v : samples) ss += (v - r.mean) * (v - r.mean);
    r.stddev = r.n > 1 ? std::sqrt(ss / (r.n - 1)) : 0;
    r.min = samples.front();
    r.max = samples.back();
    r.median = quantile_sorted(samples, 0.5);
    r.q1 = quantile_sorted(samples, 0.25);
    r.q3 = quantile_sorted(samples, 0.75);
    return r;
}

BoxStats box_stats(std::vector<double> samples) {
    BoxStats b;
    b.summary = summarize(samples);
    if (samples.empty()) return b;
    std::sort(samples.begin(), samples.end());
    const double lo = b.summary.lower_fence(), hi = b.summary.upper_fence();
    b.whisker_low = b.summary.max;
    b.whisker_high = b.summary.min;
    for (double v : samples) {
        if (v < lo || v > hi) {
            b.outliers.push_back(v);
            continue;
        }
        b.whisker_low = std::min(b.whisker_low, v);
        b.whisker_high = std::max(b.whisker_high, v);
    }
    return b;
}

}  // namespace hearth
