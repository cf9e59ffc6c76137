// The HTML report: its SVG box plots and, in a real headless Chromium, that it renders with no
// console errors (a screenshot is kept under build/artefacts/ to look at).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "cost/prices.h"
#include "cost/report_html.h"
#include "cost/results.h"
#include "process.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace hearth::cost;

namespace {

std::vector<CostSample> fake_samples() {
    std::vector<CostSample> out;
    const double speeds_a[] = {20.1, 21.3, 19.8, 22.0, 20.7, 21.1, 5.0};  // one slow outlier
    const double speeds_b[] = {11.2, 11.9, 12.4, 10.8, 11.5, 12.0, 11.7};
    for (int m = 0; m < 2; ++m)
        for (int i = 0; i < 7; ++i) {
            CostSample s;
            s.model = m == 0 ? "llama3-1b-Q4_0.gguf" : "llama3-1b-Q8_0 <&\"'>.gguf";
            s.backend = "hearth";
            s.prompt_id = "p" + std::to_string(i);
            s.prompt_tokens = 30;
            s.gen_tokens = 64;
            s.tg_ts = m == 0 ? speeds_a[i] : speeds_b[i];
            s.pp_ts = 10 * s.tg_ts;
            s.ttft_ms = 300;
            s.avg_watts = 65;
            s.wh_per_token = 65.0 / s.tg_ts / 3600.0;
            s.power_source = "fixed";
            out.push_back(s);
        }
    // A failed response: counted and listed, never plotted.
    CostSample failed = out.back();
    failed.prompt_id = "p7";
    failed.status = kStatusTimeout;
    failed.error = "nothing came from the server for 5 s <b>";
    failed.tg_ts = 1e6;
    out.push_back(failed);
    return out;
}

std::string report() {
    auto samples = fake_samples();
    auto models = summarize_models(samples, 0.14);
    models[0].ppl = 12.5;
    models[0].ppl_stderr = 0.3;
    ReportMeta meta;
    meta.created = "2026-11-22 05:00 UTC";
    meta.host = "test host";
    meta.power_detail = "65 W";
    meta.notes = {"no power sensor readable: using an estimate of 65 W"};
    return html_report(models, samples, default_cloud_prices(), meta);
}

std::string chromium_path() {
    for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
        if (::access(p, X_OK) == 0) return p;
    return "";
}

std::vector<std::string> chromium_args(const std::string& chromium, const fs::path& profile) {
    return {chromium,        "--headless",          "--no-sandbox",  "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + profile.string(), "--enable-logging=stderr", "--v=0"};
}

// Console messages of the page, from Chromium's log ("...:CONSOLE(12)] "message", source: ...").
std::vector<std::string> console_lines(const std::string& log) {
    std::vector<std::string> out;
    std::istringstream in(log);
    std::string line;
    while (std::getline(in, line))
        if (line.find(":CONSOLE") != std::string::npos) out.push_back(line);
    return out;
}

}  // namespace

TEST(CostReport, HtmlIsSelfContainedWithThreePlots) {
    const std::string h = report();
    for (const char* id : {"id=\"plot-speed\"", "id=\"plot-energy\"", "id=\"plot-cost\"", "id=\"summary\""})
        EXPECT_NE(h.find(id), std::string::npos) << id;
    EXPECT_EQ(h.find("<script"), std::string::npos);
    EXPECT_EQ(h.find("<link"), std::string::npos);
    EXPECT_EQ(h.find("https://"), std::string::npos);
    // The only URL is the SVG namespace name, which is never fetched.
    std::string without_ns = std::regex_replace(h, std::regex("http://www\\.w3\\.org/2000/svg"), "");
    EXPECT_EQ(without_ns.find("http://"), std::string::npos);
    // Names from files are escaped.
    EXPECT_EQ(h.find("Q8_0 <&"), std::string::npos);
    EXPECT_NE(h.find("Q8_0 &lt;&amp;&#34;&#39;&gt;.gguf"), std::string::npos);
    // It says the power is an estimate, and shows the cloud prices and the perplexity.
    EXPECT_NE(h.find("estimated"), std::string::npos);
    EXPECT_NE(h.find("gpt-4o-mini"), std::string::npos);
    EXPECT_NE(h.find("12.500 ± 0.300"), std::string::npos);
    // The slow response is drawn as an outlier of the first model.
    EXPECT_NE(h.find("class=\"outlier\""), std::string::npos);
    // Failures are listed with their errors, escaped, and the timings say which side they are.
    EXPECT_NE(h.find("id=\"failures\""), std::string::npos);
    EXPECT_NE(h.find("nothing came from the server for 5 s &lt;b&gt;"), std::string::npos);
    EXPECT_NE(h.find("1 of 15 responses failed"), std::string::npos);
    EXPECT_NE(h.find("<b>client side</b> in the box plots"), std::string::npos);
    EXPECT_EQ(h.find("1000000"), std::string::npos);  // the failed response's numbers are not shown as speed
}

TEST(CostReport, BoxPlotPlacesMarksInOrder) {
    hearth::BoxStats b = hearth::box_stats({1, 2, 3, 4, 100});
    std::string svg = svg_box_plot("p", "t", "u", {{"a", b, false, 0}, {"cloud", {}, true, 50}}, false);
    // Median line left of the outlier circle, and the reference marker drawn.
    std::smatch m;
    ASSERT_TRUE(std::regex_search(svg, m, std::regex("class=\"median\"")));
    ASSERT_TRUE(std::regex_search(svg, m, std::regex("<circle cx=\"([0-9.]+)\"")));
    const double outlier_x = std::stod(m[1]);
    ASSERT_TRUE(std::regex_search(svg, m, std::regex("<line x1=\"([0-9.]+)\" y1=\"[0-9.]+\" x2=\"[0-9.]+\" y2=\"[0-9.]+\" class=\"median\"")));
    EXPECT_LT(std::stod(m[1]), outlier_x);
    EXPECT_NE(svg.find("class=\"refmark\""), std::string::npos);
    // Log scale with no positive values does not produce NaN coordinates.
    std::string empty = svg_box_plot("q", "t", "u", {{"a", hearth::box_stats({}), false, 0}}, true);
    EXPECT_EQ(empty.find("nan"), std::string::npos);
    EXPECT_NE(empty.find("no data"), std::string::npos);
    EXPECT_EQ(svg.find("nan"), std::string::npos);
}

TEST(CostReport, RendersInHeadlessChromiumWithoutConsoleErrors) {
    const std::string chromium = chromium_path();
    if (chromium.empty()) GTEST_SKIP() << "chromium not installed (scripts/install-deps.sh installs it)";
    fs::path dir = hearth::test::temp_dir();
    fs::path page = dir / "report.html";
    std::ofstream(page) << report();
    const std::string url = "file://" + page.string();
    hearth::test::ProcessOptions po;
    po.timeout_seconds = 90;

    // The DOM after rendering: all three plots with their boxes.
    auto args = chromium_args(chromium, dir / "profile1");
    args.push_back("--dump-dom");
    args.push_back(url);
    hearth::test::ProcessResult dom = hearth::test::run_process(args, po);
    ASSERT_EQ(dom.exit_code, 0) << dom.err;
    for (const char* id : {"plot-speed", "plot-energy", "plot-cost"})
        EXPECT_NE(dom.out.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
    EXPECT_GE(std::count(dom.out.begin(), dom.out.end(), '\n'), 10);
    size_t rects = 0;
    for (size_t p = dom.out.find("class=\"iqr\""); p != std::string::npos; p = dom.out.find("class=\"iqr\"", p + 1)) ++rects;
    EXPECT_EQ(rects, 6u);  // two models in each of three plots
    EXPECT_NE(dom.out.find("id=\"failures\""), std::string::npos);  // the failures table rendered
    EXPECT_NE(dom.out.find("nothing came from the server"), std::string::npos);
    auto console = console_lines(dom.err);
    EXPECT_TRUE(console.empty()) << console.front();

    // The screenshot, kept as an artefact next to the build.
    fs::path artefacts = fs::path(HEARTH_BINARY).parent_path().parent_path() / "artefacts";
    fs::create_directories(artefacts);
    fs::path png = artefacts / "eval-cost-report.png";
    fs::remove(png);
    args = chromium_args(chromium, dir / "profile2");
    args.push_back("--screenshot=" + png.string());
    args.push_back("--window-size=1200,1600");
    args.push_back(url);
    hearth::test::ProcessResult shot = hearth::test::run_process(args, po);
    ASSERT_EQ(shot.exit_code, 0) << shot.err;
    ASSERT_TRUE(fs::exists(png)) << shot.err;
    EXPECT_GT(fs::file_size(png), 20000u);  // a rendered page, not a blank one
    std::ifstream in(png, std::ios::binary);
    char sig[8] = {};
    in.read(sig, 8);
    EXPECT_EQ(std::string(sig + 1, 3), "PNG");

    // The console check itself works: a page with an error is caught.
    fs::path bad = dir / "bad.html";
    std::ofstream(bad) << "<!DOCTYPE html><html><body><script>console.error('boom');</script></body></html>";
    args = chromium_args(chromium, dir / "profile3");
    args.push_back("--dump-dom");
    args.push_back("file://" + bad.string());
    hearth::test::ProcessResult neg = hearth::test::run_process(args, po);
    ASSERT_EQ(neg.exit_code, 0) << neg.err;
    EXPECT_FALSE(console_lines(neg.err).empty()) << neg.err;
}
