#pragma once
// Front-end pieces shared by the library commands (pull, import, list, show, rm, create, ps)
// and by -m name resolution: the download progress bar and the --home flag.
#include <CLI/CLI.hpp>

#include <chrono>
#include <string>

#include "library/pull.h"
#include "library/store.h"

namespace hearth::cli {

// One line on stderr, redrawn in place: label, percent, bar, size, speed, ETA. Draws nothing
// when stderr is not a terminal or when quiet.
class ProgressBar {
public:
    explicit ProgressBar(bool quiet);
    void update(const std::string& label, uint64_t done, uint64_t total);

private:
    bool enabled_;
    std::string label_;
    uint64_t start_bytes_ = 0;
    std::chrono::steady_clock::time_point start_, last_draw_;
    bool drawn_ = false;
    bool finished_ = false;
};

// Notes go to stderr ("hearth: ..."), the bar as above; `quiet` silences both.
library::PullEvents pull_events(bool quiet, std::shared_ptr<ProgressBar> bar);

// --home DIR on a library command.
void add_home_flag(CLI::App& cmd, std::string& home);
library::Store open_store(const std::string& home_flag);

// "2 minutes ago", "3 days ago".
std::string time_ago(std::filesystem::file_time_type t);

}  // namespace hearth::cli
