#pragma once
// Summary statistics of repeated measurements: what benchmarks and cost reports print.
#include <vector>

namespace hearth {

struct Summary {
    int n = 0;
    double mean = 0, stddev = 0;  // sample standard deviation (n − 1)
    double median = 0, min = 0, max = 0;
    double q1 = 0, q3 = 0;        // quartiles (linear interpolation, as numpy's default)

    double iqr() const { return q3 - q1; }
    // Tukey's fences: values outside [q1 - 1.5 IQR, q3 + 1.5 IQR] are outliers.
    double lower_fence() const { return q1 - 1.5 * iqr(); }
    double upper_fence() const { return q3 + 1.5 * iqr(); }
};

// A box plot of samples: the summary, the whiskers (the most extreme samples still inside
// Tukey's fences) and the samples outside them.
struct BoxStats {
    Summary summary;
    double whisker_low = 0, whisker_high = 0;
    std::vector<double> outliers;  // ascending
};
BoxStats box_stats(std::vector<double> samples);

Summary summarize(std::vector<double> samples);
// The p-quantile (0..1) of sorted samples, linear interpolation between closest ranks.
double quantile_sorted(const std::vector<double>& sorted, double p);

}  // namespace hearth
