#include "cli/library_ui.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "library/http.h"

namespace hearth::cli {

ProgressBar::ProgressBar(bool quiet) : enabled_(!quiet && isatty(fileno(stderr))) {}

void ProgressBar::update(const std::string& label, uint64_t done, uint64_t total) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (label != label_) {
        label_ = label, start_ = now, start_bytes_ = done, drawn_ = false, finished_ = false;
    }
    if (finished_) return;  // the transfer keeps reporting after its last byte: draw the end once
    const bool finished = total > 0 && done >= total;
    finished_ = finished;
    if (drawn_ && !finished && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    drawn_ = true;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double rate = secs > 0.2 ? static_cast<double>(done - start_bytes_) / secs : 0;
    const double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 0;
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(frac * kWidth);
    std::string bar;
    for (int i = 0; i < kWidth; ++i) bar += i < filled ? "█" : " ";
    std::string eta = "--:--";
    if (rate > 0 && total > done) {
        const auto left = static_cast<long long>(static_cast<double>(total - done) / rate);
        eta = left >= 3600 ? fmt::format("{}:{:02}:{:02}", left / 3600, left / 60 % 60, left % 60)
                           : fmt::format("{}:{:02}", left / 60, left % 60);
    }
    std::string shown = label.size() > 32 ? label.substr(0, 31) + "…" : label;
    std::fprintf(stderr, "\r\033[Kpulling %s %3.0f%% ▕%s▏ %s/%s %s/s %s %s", shown.c_str(), frac * 100, bar.c_str(),
                 library::human_size(done).c_str(), library::human_size(total).c_str(),
                 library::human_size(static_cast<uint64_t>(rate)).c_str(), finished ? "in" : "ETA",
                 finished ? fmt::format("{:.1f}s", secs).c_str() : eta.c_str());
    if (finished) std::fputc('\n', stderr);
    std::fflush(stderr);
}

library::PullEvents pull_events(bool quiet, std::shared_ptr<ProgressBar> bar) {
    library::PullEvents ev;
    if (quiet) return ev;
    ev.note = [](const std::string& line) { std::fprintf(stderr, "hearth: %s\n", line.c_str()); };
    ev.progress = [bar](const std::string& label, uint64_t done, uint64_t total) { bar->update(label, done, total); };
    return ev;
}

void add_home_flag(CLI::App& cmd, std::string& home) {
    cmd.add_option("--home", home, "model library folder (default: $HEARTH_HOME, else ~/.local/share/hearth)");
}

library::Store open_store(const std::string& home_flag) { return library::Store(library::Store::default_home(home_flag)); }

std::string time_ago(std::filesystem::file_time_type t) {
    const auto age = std::filesystem::file_time_type::clock::now() - t;
    const long long s = std::chrono::duration_cast<std::chrono::seconds>(age).count();
    auto unit = [](long long n, const char* what) { return fmt::format("{} {}{} ago", n, what, n == 1 ? "" : "s"); };
    if (s < 60) return "just now";
    if (s < 3600) return unit(s / 60, "minute");
    if (s < 86400) return unit(s / 3600, "hour");
    if (s < 86400 * 60) return unit(s / 86400, "day");
    return unit(s / (86400 * 30), "month");
}

}  // namespace hearth::cli
