#pragma once
// The self-contained HTML report of a cost evaluation: summary tables and inline SVG box plots
// (generation speed, energy per token, dollars per million tokens beside cloud API prices). No
// scripts, no external files: it opens in any browser without a network.
#include <string>
#include <vector>

#include "bench/stats.h"
#include "cost/prices.h"
#include "cost/results.h"

namespace hearth::cost {

struct ReportMeta {
    std::string title = "hearth eval-cost";
    std::string created;       // e.g. "2026-11-22 05:10 UTC"
    std::string host;          // CPU / machine description
    std::string power_detail;  // what the power reader reads
    std::vector<std::string> notes;
};

// One row of a box plot: a distribution, or (values empty, reference set) a single marker such
// as a cloud price.
struct BoxRow {
    std::string label;
    BoxStats box;
    bool reference = false;
    double value = 0;  // the marker's value when `reference`
};

// An SVG horizontal box plot (Tukey whiskers, outliers as circles). Log scale needs positive
// values; non-positive ones are left out of it.
std::string svg_box_plot(const std::string& id, const std::string& title, const std::string& unit,
                         const std::vector<BoxRow>& rows, bool log_scale);

std::string html_report(const std::vector<ModelSummary>& models, const std::vector<CostSample>& samples,
                        const CloudPriceTable& cloud, const ReportMeta& meta);

}  // namespace hearth::cost
