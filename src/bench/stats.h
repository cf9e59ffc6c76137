#pragma once
// Summary statistics of repeated measurements: what benchmarks and cost reports print.
#include <vector>

namespace hearth {

struct Summary {
    int n = 0;
    double mean = 0, stddev = 0;  // sample standard deviation (n − 1)
    double median = 0, min = 0, max = 0;
    double q1 = 0, q3 = 0;        // quartiles (linear interpolation, as numpy's default)
};

Summary summarize(std::vector<double> samples);
// The p-quantile (0..1) of sorted samples, linear interpolation between closest ranks.
double quantile_sorted(const std::vector<double>& sorted, double p);

}  // namespace hearth
