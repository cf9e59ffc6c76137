// `hearth eval-cost --target` against the loopback fixture server (cost_fixture_server.h):
// failures are samples and the run finishes, the exit code follows the rule, Ctrl-C leaves
// valid outputs and --resume completes the run without repeating a response. Needs no model.
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cost_fixture_server.h"
#include "process.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace hearth {
namespace {

using test::run_hearth;

fs::path write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
}

size_t count_lines(const fs::path& p) {
    const std::string text = test::read_file(p);
    return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// One line per prompt: {"id": ID, "prompt": TEXT}.
fs::path prompts_file(const fs::path& dir, const std::vector<std::pair<std::string, std::string>>& prompts) {
    std::string text;
    for (const auto& [id, prompt] : prompts) text += nlohmann::json{{"id", id}, {"prompt", prompt}}.dump() + "\n";
    return write(dir / "prompts.jsonl", text);
}

// hearth running in the background, its output in files, so the test can signal it.
class Background {
public:
    Background(const std::vector<std::string>& args, const fs::path& dir) : err_(dir / "stderr.txt") {
        std::vector<std::string> argv{HEARTH_BINARY};
        argv.insert(argv.end(), args.begin(), args.end());
        std::vector<char*> cargv;
        for (auto& a : argv) cargv.push_back(a.data());
        cargv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, (dir / "stdout.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        EXPECT_EQ(::posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, cargv.data(), environ), 0);
        posix_spawn_file_actions_destroy(&actions);
    }
    ~Background() {
        if (pid_ > 0 && !waited_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    void signal(int sig) { ::kill(pid_, sig); }
    std::string err() const { return test::read_file(err_); }
    // Waits (up to a minute) until `ready` holds; false when it never did.
    template <class F>
    static bool wait_for(F ready) {
        for (int i = 0; i < 6000; ++i) {
            if (ready()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
    // The exit code, or -1 when it did not exit normally within a minute.
    int wait() {
        int status = 0;
        for (int i = 0; i < 6000; ++i) {
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                waited_ = true;
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return -1;
    }

private:
    fs::path err_;
    pid_t pid_ = -1;
    bool waited_ = false;
};

}  // namespace

TEST(CliEvalCostTarget, FailuresAreRecordedAndTheRunFinishes) {
    test::CostFixtureServer server;
    fs::path dir = test::temp_dir();
    fs::path prompts = prompts_file(dir, {{"ok", "fine thanks"}, {"bad", "bad request"}, {"crash", "crash now"},
                                          {"drop", "drop it"}, {"stall", "stall here"}, {"garbage", "garbage out"},
                                          {"llama", "llama style"}, {"greedy", "greedy one"}});
    fs::path out = dir / "out";
    test::ProcessResult r = run_hearth({"eval-cost", "--target", server.url("/v1#fixture"), "--prompts", prompts.string(),
                                        "--runs", "1", "-n", "8", "--power-source", "fixed:30", "--request-timeout",
                                        "1", "--no-warmup", "--out", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;  // some responses succeeded: failures are data, not an error
    EXPECT_NE(r.err.find("5 responses failed"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("FAILED (http_error): HTTP 400"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("warning: 127.0.0.1"), std::string::npos) << r.err;  // the greedy server

    nlohmann::json j = nlohmann::json::parse(test::read_file(out / "results.json"));
    ASSERT_EQ(j["samples"].size(), 8u);
    std::map<std::string, std::string> status;
    for (const auto& s : j["samples"]) status[s["prompt_id"]] = s["status"];
    EXPECT_EQ(status, (std::map<std::string, std::string>{{"ok", "ok"}, {"bad", "http_error"}, {"crash", "http_error"},
                                                          {"drop", "connection"}, {"stall", "timeout"},
                                                          {"garbage", "invalid_stream"}, {"llama", "ok"}, {"greedy", "ok"}}));
    for (const auto& s : j["samples"]) {
        EXPECT_EQ(s["max_tokens"], 8);
        if (s["prompt_id"] == "llama") {
            EXPECT_DOUBLE_EQ(s["engine_tg_ts"].get<double>(), 100.0);
        }
        if (s["prompt_id"] == "ok") {
            EXPECT_TRUE(s["engine_tg_ts"].is_null());  // not reported: null, not 0
        }
        if (s["status"] != "ok") {
            EXPECT_FALSE(s["error"].get<std::string>().empty());
        }
    }
    ASSERT_EQ(j["summary"].size(), 1u);
    EXPECT_EQ(j["summary"][0]["n_ok"], 3);
    EXPECT_EQ(j["summary"][0]["n_failed"], 5);
    EXPECT_EQ(j["summary"][0]["failures"]["http_error"], 2);
    EXPECT_EQ(j["summary"][0]["failures"]["timeout"], 1);
    // The append-only files hold every response too, and the CSV its header.
    EXPECT_EQ(count_lines(out / "results.jsonl"), 8u);
    EXPECT_EQ(count_lines(out / "results.csv"), 9u);
    const std::string html = test::read_file(out / "report.html");
    EXPECT_NE(html.find("id=\"failures\""), std::string::npos);
    EXPECT_NE(html.find("HTTP 500"), std::string::npos);
    EXPECT_NE(html.find("it ignored max_tokens"), std::string::npos);
}

TEST(CliEvalCostTarget, ExitCodeFollowsTheRule) {
    test::CostFixtureServer server;
    fs::path dir = test::temp_dir();
    fs::path prompts = prompts_file(dir, {{"a", "fine"}, {"b", "also fine"}});
    // The OpenAI side answers nothing but 500, the Ollama side works: one backend with no
    // successful response is an error, after everything is written.
    server.fail_status_ = 500;
    fs::path out = dir / "out";
    test::ProcessResult r = run_hearth({"eval-cost", "--target", server.url("/v1"), "--target",
                                        server.url("/api/chat#m"), "--prompts", prompts.string(), "--runs", "1", "-n",
                                        "4", "--power-source", "fixed:30", "--out", out.string()});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("127.0.0.1:" + server.url().substr(server.url().rfind(':') + 1) +
                         ": no successful response (2 failed: 2 http_error)"),
              std::string::npos)
        << r.err;
    nlohmann::json j = nlohmann::json::parse(test::read_file(out / "results.json"));
    EXPECT_EQ(j["samples"].size(), 4u);

    // --fail-fast: the first failure ends the run, written, exit 1.
    server.fail_status_ = 0;
    prompts = prompts_file(dir, {{"a", "fine"}, {"b", "bad one"}, {"c", "never asked"}});
    const int before = server.requests();
    r = run_hearth({"eval-cost", "--target", server.url("/v1"), "--prompts", prompts.string(), "--runs", "1", "-n", "4",
                    "--power-source", "fixed:30", "--no-warmup", "--fail-fast", "--out", (dir / "ff").string()});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("--fail-fast"), std::string::npos) << r.err;
    EXPECT_EQ(server.requests() - before, 2);
    EXPECT_EQ(nlohmann::json::parse(test::read_file(dir / "ff/results.json"))["samples"].size(), 2u);

    // --retries: asked for, counted.
    r = run_hearth({"eval-cost", "--target", server.url("/v1"), "--prompts", prompts.string(), "--runs", "1", "-n", "4",
                    "--power-source", "fixed:30", "--no-warmup", "--retries", "2", "--out", (dir / "rt").string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    j = nlohmann::json::parse(test::read_file(dir / "rt/results.json"));
    EXPECT_EQ(j["samples"][1]["attempts"], 3);
    EXPECT_EQ(j["samples"][2]["attempts"], 1);
}

TEST(CliEvalCostTarget, TheSameServerTwiceIsTwoBackends) {
    test::CostFixtureServer server;
    fs::path dir = test::temp_dir();
    fs::path prompts = prompts_file(dir, {{"a", "fine"}});
    test::ProcessResult r = run_hearth({"eval-cost", "--target", server.url(), "--target", server.url(), "--prompts",
                                        prompts.string(), "--runs", "1", "--power-source", "fixed:30", "--no-warmup",
                                        "--out", (dir / "o").string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["summary"].size(), 2u);
    EXPECT_EQ(j["summary"][1]["model"], server.url() + " #2");
    EXPECT_EQ(server.requests(), 2);
}

// This machine's own non-loopback IPv4 address ("" when it has none): a target there counts as
// remote by its address, yet no packet leaves the machine.
static std::string own_address() {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return "";
    std::string found;
    for (ifaddrs* a = list; a && found.empty(); a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || (a->ifa_flags & IFF_LOOPBACK)) continue;
        char text[INET_ADDRSTRLEN] = {};
        ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text);
        found = text;
    }
    ::freeifaddrs(list);
    return found;
}

TEST(CliEvalCostTarget, RemoteTargetPowerIsNotMeasured) {
    const std::string host = own_address();
    if (host.empty()) GTEST_SKIP() << "no non-loopback IPv4 address to stand for a remote machine";
    // Port 9 (discard) is not served here: the requests fail, but the power is set before.
    const std::string url = "http://" + host + ":9";
    fs::path dir = test::temp_dir();
    fs::path prompts = prompts_file(dir, {{"a", "fine"}});
    test::ProcessResult r = run_hearth({"eval-cost", "--target", url, "--prompts", prompts.string(),
                                        "--runs", "1", "--power-source", "fixed:30", "--no-warmup", "--request-timeout",
                                        "0.2", "--out", (dir / "o").string()});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    nlohmann::json j = nlohmann::json::parse(test::read_file(dir / "o/results.json"));
    ASSERT_EQ(j["samples"].size(), 1u);
    EXPECT_EQ(j["samples"][0]["power_source"], "none");
    EXPECT_EQ(j["samples"][0]["measured"], false);
    EXPECT_EQ(j["samples"][0]["energy_j"], 0.0);
    EXPECT_NE(j["power"]["notes"].dump().find("not measured"), std::string::npos) << j["power"];
    const std::string html = test::read_file(dir / "o/report.html");
    EXPECT_NE(html.find("Remote targets (power source <b>none</b>) are not measured"), std::string::npos);

    r = run_hearth({"eval-cost", "--target", url, "--prompts", prompts.string(), "--runs", "1",
                    "--target-watts", "200", "--no-warmup", "--request-timeout", "0.2", "--out", (dir / "w").string()});
    j = nlohmann::json::parse(test::read_file(dir / "w/results.json"));
    EXPECT_EQ(j["samples"][0]["power_source"], "fixed");
    EXPECT_EQ(j["samples"][0]["measured"], false);
}

TEST(CliEvalCostTarget, InterruptedRunIsWrittenAndResumedWithoutRepeats) {
    test::CostFixtureServer server;
    fs::path dir = test::temp_dir();
    fs::path prompts = prompts_file(dir, {{"a", "one"}, {"b", "two"}, {"c", "three"}, {"d", "four"}});
    fs::path out = dir / "out";
    const std::vector<std::string> args = {"eval-cost", "--target", server.url("/v1"), "--prompts", prompts.string(),
                                           "--runs", "3", "-n", "4", "--power-source", "fixed:30", "--no-warmup"};
    {
        std::vector<std::string> first = args;
        first.insert(first.end(), {"--out", out.string()});
        Background hearth(first, dir);
        ASSERT_TRUE(Background::wait_for([&] { return server.requests() >= 4; }));
        hearth.signal(SIGINT);
        EXPECT_EQ(hearth.wait(), 130) << hearth.err();
        EXPECT_NE(hearth.err().find("--resume"), std::string::npos) << hearth.err();
    }
    const int asked = server.requests();
    ASSERT_LT(asked, 12);
    nlohmann::json j = nlohmann::json::parse(test::read_file(out / "results.json"));
    // The response in flight when the signal came was finished and kept.
    EXPECT_EQ(static_cast<int>(j["samples"].size()), asked);
    EXPECT_EQ(count_lines(out / "results.jsonl"), j["samples"].size());
    EXPECT_EQ(count_lines(out / "results.csv"), j["samples"].size() + 1);
    EXPECT_NE(test::read_file(out / "report.html").find("id=\"plot-speed\""), std::string::npos);

    // A different setting cannot continue it; the same ones can, and ask only for what is left.
    std::vector<std::string> resume = args;
    resume.insert(resume.end(), {"--resume", out.string()});
    resume[std::find(resume.begin(), resume.end(), "-n") - resume.begin() + 1] = "5";
    test::ProcessResult r = run_hearth(resume);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("n_predict"), std::string::npos) << r.err;
    EXPECT_EQ(server.requests(), asked);

    resume[std::find(resume.begin(), resume.end(), "-n") - resume.begin() + 1] = "4";
    r = run_hearth(resume);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(server.requests(), 12);  // every (prompt, run) asked exactly once over both runs
    j = nlohmann::json::parse(test::read_file(out / "results.json"));
    ASSERT_EQ(j["samples"].size(), 12u);
    std::set<std::pair<std::string, int>> keys;
    for (const auto& s : j["samples"]) keys.insert({s["prompt_id"], s["run"].get<int>()});
    EXPECT_EQ(keys.size(), 12u);
    EXPECT_EQ(count_lines(out / "results.jsonl"), 12u);
    EXPECT_EQ(count_lines(out / "results.csv"), 13u);
}

TEST(CliEvalCostTarget, AKilledRunLeavesItsJsonlAndResumes) {
    test::CostFixtureServer server;
    fs::path dir = test::temp_dir();
    fs::path prompts = prompts_file(dir, {{"a", "one"}, {"b", "two"}, {"c", "three"}});
    fs::path out = dir / "out";
    const std::vector<std::string> args = {"eval-cost", "--target", server.url("/api/chat#m"), "--prompts",
                                           prompts.string(), "--runs", "2", "-n", "4", "--power-source", "fixed:30",
                                           "--no-warmup"};
    {
        std::vector<std::string> first = args;
        first.insert(first.end(), {"--out", out.string()});
        Background hearth(first, dir);
        ASSERT_TRUE(Background::wait_for([&] { return server.requests() >= 3; }));
        hearth.signal(SIGKILL);
        EXPECT_EQ(hearth.wait(), -1);
    }
    // No results.json, no report: only what was appended, every line whole.
    const int asked_before = server.requests();
    EXPECT_FALSE(fs::exists(out / "results.json"));
    const size_t kept = count_lines(out / "results.jsonl");
    EXPECT_GE(kept, 2u);
    EXPECT_LT(kept, 6u);
    std::vector<std::string> resume = args;
    resume.insert(resume.end(), {"--resume", out.string()});
    test::ProcessResult r = run_hearth(resume);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json j = nlohmann::json::parse(test::read_file(out / "results.json"));
    EXPECT_EQ(j["samples"].size(), 6u);
    // The resume asked only for what the JSONL did not hold.
    EXPECT_EQ(static_cast<size_t>(server.requests() - asked_before), 6 - kept);
}

TEST(CliEvalCostTarget, SecondSignalWritesWhatThereIsAndExitsNow) {
    test::CostFixtureServer server;
    server.stall_ms = 4000;
    fs::path dir = test::temp_dir();
    fs::path prompts = prompts_file(dir, {{"a", "one"}, {"b", "two"}, {"c", "stall here"}, {"d", "four"}});
    fs::path out = dir / "out";
    Background hearth({"eval-cost", "--target", server.url("/v1"), "--prompts", prompts.string(), "--runs", "1", "-n",
                       "4", "--power-source", "fixed:30", "--no-warmup", "--out", out.string()},
                      dir);
    ASSERT_TRUE(Background::wait_for([&] { return server.requests() >= 3; }));  // the stalling one is in flight
    hearth.signal(SIGTERM);
    ASSERT_TRUE(Background::wait_for([&] { return hearth.err().find("finishing the current") != std::string::npos; }));
    hearth.signal(SIGINT);
    EXPECT_EQ(hearth.wait(), 130) << hearth.err();
    nlohmann::json j = nlohmann::json::parse(test::read_file(out / "results.json"));
    EXPECT_EQ(j["samples"].size(), 2u);
    EXPECT_EQ(count_lines(out / "results.csv"), 3u);
    EXPECT_TRUE(fs::exists(out / "report.html"));
}

TEST(CliEvalCostTarget, BadFlagsAreOneLine) {
    fs::path dir = test::temp_dir();
    const std::string url = "http://127.0.0.1:9";
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    write(dir / "done/results.jsonl", "");
    write(dir / "done/run.json", "{not json");
    write(dir / "old/results.jsonl", "");
    write(dir / "old/run.json", "{}");
    const std::vector<Case> cases = {
        {{"--retries", "-1"}, "--retries must be from 0 to 100 (got -1)"},
        {{"--request-timeout", "-2"}, "--request-timeout must be from 0 to 86400 seconds (got -2)"},
        {{"--target-watts", "-5"}, "--target-watts must be from 0 to 1e6 W (got -5)"},
        {{"--via-server"}, "--via-server needs at least one -m MODEL"},
        {{"--resume", (dir / "nothing").string()}, "no results.jsonl there to continue"},
        {{"--resume", (dir / "done").string()}, "run.json is not JSON"},
        {{"--resume", (dir / "old").string()}, "run used n_predict = nothing"},
        {{"--resume", (dir / "x").string(), "--out", (dir / "y").string()}, "excludes"},
    };
    for (const auto& c : cases) {
        std::vector<std::string> args = {"eval-cost", "--target", url};
        args.insert(args.end(), c.args.begin(), c.args.end());
        test::ProcessResult r = run_hearth(args);
        EXPECT_EQ(r.exit_code, 1) << c.message;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
}

}  // namespace hearth
