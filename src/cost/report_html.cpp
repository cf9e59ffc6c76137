#include "cost/report_html.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/html.h"

namespace hearth::cost {

namespace {

// Maps values to x pixels, linearly or by log10.
struct Scale {
    double lo = 0, hi = 1;
    bool log = false;
    double x0 = 0, x1 = 1;

    double t(double v) const { return log ? std::log10(v) : v; }
    double x(double v) const {
        if (log && v <= 0) return x0;
        double a = t(lo), b = t(hi);
        return x0 + (t(v) - a) / (b - a) * (x1 - x0);
    }
};

// Tick values: 1-2-5 steps on a linear scale, powers of ten (with 2 and 5 when the range is
// under two decades) on a log scale.
std::vector<double> ticks(const Scale& s) {
    std::vector<double> out;
    if (s.log) {
        const int a = static_cast<int>(std::floor(std::log10(s.lo))), b = static_cast<int>(std::ceil(std::log10(s.hi)));
        const bool fine = b - a <= 2;
        for (int e = a; e <= b; ++e)
            for (double m : fine ? std::vector<double>{1, 2, 5} : std::vector<double>{1}) {
                double v = m * std::pow(10.0, e);
                if (v >= s.lo * 0.999 && v <= s.hi * 1.001) out.push_back(v);
            }
        return out;
    }
    const double span = s.hi - s.lo;
    const double raw = span / 6;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * mag >= raw) {
            step = m * mag;
            break;
        }
    for (double v = std::ceil(s.lo / step) * step; v <= s.hi + step * 1e-9; v += step) out.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
    return out;
}

std::string num(double v) {
    if (v == 0) return "0";
    const double a = std::abs(v);
    if (a >= 1000) return fmt::format("{:.0f}", v);
    if (a >= 10) return fmt::format("{:.1f}", v);
    if (a >= 0.01) return fmt::format("{:.3g}", v);
    return fmt::format("{:.2e}", v);
}

}  // namespace

std::string svg_box_plot(const std::string& id, const std::string& title, const std::string& unit,
                         const std::vector<BoxRow>& rows, bool log_scale) {
    const int label_w = 230, plot_w = 640, right = 20, row_h = 34, top = 36, bottom = 44;
    const int width = label_w + plot_w + right;
    const int height = top + row_h * static_cast<int>(std::max<size_t>(rows.size(), 1)) + bottom;

    // The range over every value shown.
    double lo = INFINITY, hi = -INFINITY;
    auto see = [&](double v) {
        if (log_scale && v <= 0) return;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    };
    for (const auto& r : rows) {
        if (r.reference) {
            see(r.value);
            continue;
        }
        if (r.box.summary.n == 0) continue;
        see(r.box.summary.min);
        see(r.box.summary.max);
    }
    if (!std::isfinite(lo)) lo = log_scale ? 0.1 : 0, hi = log_scale ? 10 : 1;
    Scale s;
    s.log = log_scale;
    if (log_scale) {
        s.lo = std::pow(10.0, std::floor(std::log10(lo)));
        s.hi = std::pow(10.0, std::ceil(std::log10(hi)));
        if (s.hi <= s.lo) s.hi = s.lo * 10;
    } else {
        s.lo = std::min(0.0, lo);
        s.hi = hi > s.lo ? hi * 1.08 : s.lo + 1;
    }
    s.x0 = label_w;
    s.x1 = label_w + plot_w;

    std::string svg = fmt::format(
        "<svg id=\"{}\" class=\"boxplot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
        "viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\">\n",
        html_escape(id), width, height, width, height, html_escape(title));
    svg += fmt::format("<text x=\"{}\" y=\"22\" class=\"title\">{}</text>\n", label_w, html_escape(title));
    const int plot_bottom = top + row_h * static_cast<int>(std::max<size_t>(rows.size(), 1));
    for (double v : ticks(s)) {
        const double x = s.x(v);
        svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" class=\"grid\"/>\n", x, top, x, plot_bottom);
        svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{}</text>\n", x,
                           plot_bottom + 16, fmt::format("{:g}", v));
    }
    svg += fmt::format("<text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"middle\">{}{}</text>\n",
                       label_w + plot_w / 2, plot_bottom + 36, html_escape(unit), log_scale ? " (log scale)" : "");

    for (size_t i = 0; i < rows.size(); ++i) {
        const auto& r = rows[i];
        const double cy = top + row_h * static_cast<double>(i) + row_h / 2.0;
        svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" class=\"label{}\" text-anchor=\"end\">{}</text>\n", label_w - 10,
                           cy + 4, r.reference ? " ref" : "", html_escape(r.label));
        if (r.reference) {
            if (log_scale && r.value <= 0) continue;
            const double x = s.x(r.value);
            svg += fmt::format(
                "<path d=\"M{:.1f} {:.1f} l6 6 l-6 6 l-6 -6 z\" class=\"refmark\"><title>{}: {}</title></path>\n", x,
                cy - 6, html_escape(r.label), num(r.value));
            continue;
        }
        const auto& b = r.box;
        if (b.summary.n == 0) {
            svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" class=\"tick\">no data</text>\n", label_w + 4, cy + 4);
            continue;
        }
        const double xq1 = s.x(b.summary.q1), xq3 = s.x(b.summary.q3), xm = s.x(b.summary.median);
        const double xwl = s.x(b.whisker_low), xwh = s.x(b.whisker_high);
        svg += fmt::format("<g class=\"box\"><title>{}: median {}, IQR {}–{}, n={}</title>\n", html_escape(r.label),
                           num(b.summary.median), num(b.summary.q1), num(b.summary.q3), b.summary.n);
        svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" class=\"whisker\"/>\n", xwl, cy, xq1, cy);
        svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" class=\"whisker\"/>\n", xq3, cy, xwh, cy);
        for (double x : {xwl, xwh})
            svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" class=\"whisker\"/>\n", x,
                               cy - 6, x, cy + 6);
        svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{}\" class=\"iqr\"/>\n", xq1,
                           cy - 10, std::max(1.0, xq3 - xq1), 20);
        svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" class=\"median\"/>\n", xm,
                           cy - 10, xm, cy + 10);
        for (double v : b.outliers) {
            if (log_scale && v <= 0) continue;
            svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" class=\"outlier\"><title>outlier {}</title></circle>\n",
                               s.x(v), cy, num(v));
        }
        svg += "</g>\n";
    }
    svg += "</svg>\n";
    return svg;
}

namespace {

const char* kStyle = R"(
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1000px; color: #1d232a; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin-top: 28px; }
.meta { color: #555; }
.estimated { color: #9a4d00; font-weight: 600; }
.measured { color: #1d6b2f; font-weight: 600; }
.failed { color: #b3261e; font-weight: 600; }
td.error { text-align: left; font-family: monospace; font-size: 12px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
svg.boxplot { display: block; margin: 8px 0 18px; background: #fcfcfd; border: 1px solid #e3e6ea; }
svg .title { font-weight: 600; font-size: 14px; }
svg .tick, svg .axis { font-size: 11px; fill: #555; }
svg .label { font-size: 12px; }
svg .label.ref { fill: #6a4c93; }
svg .grid { stroke: #e6e8eb; }
svg .whisker { stroke: #333; stroke-width: 1.2; }
svg .iqr { fill: #8ecae6; stroke: #1f6f8b; stroke-width: 1.2; }
svg .median { stroke: #d1495b; stroke-width: 2.5; }
svg .outlier { fill: none; stroke: #d1495b; stroke-width: 1.4; }
svg .refmark { fill: #6a4c93; }
)";

std::string f(double v, int digits) { return fmt::format("{:.{}f}", v, digits); }

}  // namespace

std::string html_report(const std::vector<ModelSummary>& models, const std::vector<CostSample>& samples,
                        const CloudPriceTable& cloud, const ReportMeta& meta) {
    std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    h += "<title>" + html_escape(meta.title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
    h += "<h1>" + html_escape(meta.title) + "</h1>\n<p class=\"meta\">";
    if (!meta.created.empty()) h += html_escape(meta.created) + " · ";
    if (!meta.host.empty()) h += html_escape(meta.host) + " · ";
    h += fmt::format("{} responses</p>\n", samples.size());

    // This machine's power source; remote targets ("none") have no reading and are said apart.
    bool all_measured = false, any_local = false, any_remote = false;
    std::string source = "none";
    for (const auto& m : models) {
        if (m.power_source == "none") {
            any_remote = true;
            continue;
        }
        if (!any_local) source = m.power_source, all_measured = true;
        any_local = true;
        all_measured = all_measured && m.measured;
    }
    h += fmt::format("<p>Power source: <b>{}</b>{} — <span class=\"{}\">{}</span>. Electricity price: ${}/kWh.</p>\n",
                     html_escape(source), meta.power_detail.empty() ? "" : " (" + html_escape(meta.power_detail) + ")",
                     all_measured ? "measured" : "estimated",
                     all_measured ? "measured by a sensor"
                                  : "estimated from a fixed wattage, not measured: energy and cost scale with it",
                     models.empty() ? "?" : fmt::format("{:g}", models.front().price_kwh));
    if (any_remote)
        h += "<p class=\"estimated\">Remote targets (power source <b>none</b>) are not measured: this machine's sensors "
             "say nothing about them, so their energy and cost show 0 (<code>--target-watts</code> gives an "
             "estimate).</p>\n";
    if (!meta.notes.empty()) {
        h += "<ul class=\"notes\">\n";
        for (const auto& n : meta.notes) h += "<li>" + html_escape(n) + "</li>\n";
        h += "</ul>\n";
    }

    const bool any_ppl = std::any_of(models.begin(), models.end(), [](const auto& m) { return m.ppl.has_value(); });
    auto engine = [](const BoxStats& b, int digits) { return b.summary.n > 0 ? f(b.summary.median, digits) : "not reported"; };
    h += "<h2>Summary</h2>\n<p>Timings: <b>client side</b> in the box plots and the tg, pp and TTFT columns (from the "
         "start of the request, as a caller sees the stream); <b>engine side</b> where the runtime reports its own "
         "(llama-server's <code>timings</code>, Ollama's durations, hearth's engine). A runtime called over HTTP pays "
         "the HTTP and streaming path in its client-side figures; one run in-process does not.</p>\n";
    h += "<table id=\"summary\">\n<tr><th>model</th><th>backend</th><th>ok</th><th>failed</th>"
         "<th>tg t/s median</th><th>IQR</th><th>mean ± std</th><th>outliers</th><th>engine tg t/s</th><th>pp t/s</th>"
         "<th>engine pp t/s</th><th>TTFT ms</th><th>avg W</th><th>mWh / token</th><th>$ / 1M tokens</th>";
    if (any_ppl) h += "<th>PPL</th>";
    h += "</tr>\n";
    for (const auto& m : models) {
        const auto& t = m.tg_ts.summary;
        h += fmt::format(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td><td>{}</td><td>{}–{}</td><td>{} ± {}</td><td>{}</td>"
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            html_escape(m.model), html_escape(m.backend), m.n_ok, m.n > m.n_ok ? " class=\"failed\"" : "", m.n - m.n_ok,
            f(t.median, 2), f(t.q1, 2), f(t.q3, 2), f(t.mean, 2), f(t.stddev, 2), m.tg_ts.outliers.size(),
            engine(m.engine_tg_ts, 2), f(m.pp_ts.summary.median, 1), engine(m.engine_pp_ts, 1),
            f(m.ttft_ms.summary.median, 1), f(m.avg_watts_mean, 1),
            fmt::format("{:.4g}", m.wh_per_token.summary.median * 1000), fmt::format("{:.4g}", m.usd_per_mtok.summary.median));
        if (any_ppl)
            h += m.ppl ? fmt::format("<td>{:.3f} ± {:.3f}</td>", *m.ppl, m.ppl_stderr.value_or(0)) : "<td>–</td>";
        h += "</tr>\n";
    }
    h += "</table>\n";
    for (const auto& m : models)
        if (m.n_tokens_unreported > 0)
            h += fmt::format("<p class=\"estimated\">{}: the server reported no token counts for {} of {} responses; "
                             "their token counts are the number of streamed chunks, which may differ from tokens.</p>\n",
                             html_escape(m.model), m.n_tokens_unreported, m.n_ok);
    for (const auto& s : samples)
        if (!s.warning.empty())
            h += fmt::format("<p class=\"estimated\">{} · {} #{}: {}</p>\n", html_escape(s.model), html_escape(s.prompt_id),
                             s.run + 1, html_escape(s.warning));

    size_t n_failed = 0;
    for (const auto& s : samples) n_failed += s.ok() ? 0 : 1;
    h += "<h2>Failures</h2>\n";
    if (n_failed == 0) {
        h += "<p>No response failed.</p>\n";
    } else {
        h += fmt::format("<p class=\"failed\">{} of {} responses failed; they are counted above and left out of every "
                         "figure and plot.</p>\n<table id=\"failures\">\n<tr><th>model</th><th>prompt</th><th>run</th>"
                         "<th>status</th><th>attempts</th><th>error</th></tr>\n",
                         n_failed, samples.size());
        for (const auto& s : samples)
            if (!s.ok())
                h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"error\">{}</td></tr>\n",
                                 html_escape(s.model), html_escape(s.prompt_id), s.run, html_escape(s.status), s.attempts,
                                 html_escape(s.error));
        h += "</table>\n";
    }

    std::vector<BoxRow> speed, energy, cost;
    for (const auto& m : models) {
        speed.push_back({m.model, m.tg_ts, false, 0});
        BoxStats mwh = m.wh_per_token;  // shown in mWh: numbers people can read
        for (double* v : {&mwh.summary.median, &mwh.summary.q1, &mwh.summary.q3, &mwh.summary.min, &mwh.summary.max,
                          &mwh.whisker_low, &mwh.whisker_high})
            *v *= 1000;
        for (double& v : mwh.outliers) v *= 1000;
        energy.push_back({m.model, mwh, false, 0});
        cost.push_back({m.model, m.usd_per_mtok, false, 0});
    }
    for (const auto& c : cloud.prices) cost.push_back({c.provider + " " + c.model, {}, true, c.usd_per_mtok_output});

    h += "<h2>Generation speed</h2>\n";
    h += svg_box_plot("plot-speed", "Generation speed per response (client side)", "tokens / second", speed, false);
    h += "<h2>Energy per token</h2>\n";
    h += svg_box_plot("plot-energy", "Energy per generated token", "mWh / token", energy, false);
    h += "<h2>Cost per million tokens</h2>\n";
    h += fmt::format("<p>Local: energy per token × 1e6 ÷ 1000 × ${}/kWh (electricity only: no hardware). "
                     "Cloud: list price per 1M output tokens, table dated {}{}.</p>\n",
                     models.empty() ? "?" : fmt::format("{:g}", models.front().price_kwh), html_escape(cloud.date),
                     cloud.note.empty() ? "" : " (" + html_escape(cloud.note) + ")");
    h += svg_box_plot("plot-cost", "$ per 1M generated tokens: local vs cloud APIs", "US dollars / 1M tokens", cost, true);

    h += "<h2>Every response</h2>\n<details><summary>" + std::to_string(samples.size()) +
         " responses</summary>\n<table id=\"samples\">\n<tr><th>model</th><th>prompt</th><th>run</th><th>prompt tok</th>"
         "<th>gen tok</th><th>pp t/s</th><th>tg t/s</th><th>engine tg t/s</th><th>TTFT ms</th><th>avg W</th>"
         "<th>mWh / token</th><th>status</th><th>stop</th></tr>\n";
    for (const auto& s : samples)
        h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td>"
                         "<td>{}</td><td>{}</td><td>{:.4g}</td><td>{}</td><td>{}</td></tr>\n",
                         html_escape(s.model), html_escape(s.prompt_id), s.run, s.prompt_tokens, s.gen_tokens,
                         s.tokens_reported ? "" : " (chunks)", s.ok() ? f(s.pp_ts, 1) : "–", s.ok() ? f(s.tg_ts, 2) : "–",
                         s.ok() && s.engine_tg_ts > 0 ? f(s.engine_tg_ts, 2) : "–", s.ok() ? f(s.ttft_ms, 1) : "–",
                         f(s.avg_watts, 1),
                         s.wh_per_token * 1000, html_escape(s.status), html_escape(s.stop));
    h += "</table>\n</details>\n";
    h += "<p class=\"meta\">Box: quartiles; red line: median; whiskers: the furthest responses within 1.5 × IQR "
         "(Tukey); circles: outliers beyond them; diamonds: cloud prices.</p>\n</body>\n</html>\n";
    return h;
}

}  // namespace hearth::cost
