// `hearth serve` as a process: --help, bad flags and values (one-line errors, exit 1) and a
// port that is taken. The HTTP API itself, signals included, is driven by
// tests/integration/serve/run.sh with curl and real client libraries.
#include <regex>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "convert/quant_mix.h"
#include "convert/synth.h"
#include "process.h"
#include "test_support.h"

namespace hearth {
namespace {

using test::ProcessResult;

ProcessResult hearth(const std::vector<std::string>& args, double timeout = 60) {
    return test::run_hearth(args, {"", timeout});
}

class CliServe : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        model_ = new std::string((test::temp_dir() / "serve-tiny.gguf").string());
        test::write_tiny_model(*model_);
    }
    static void TearDownTestSuite() {
        delete model_;
        model_ = nullptr;
    }
    static std::string* model_;
};
std::string* CliServe::model_ = nullptr;

TEST_F(CliServe, HelpNamesTheFlagsAndRoutes) {
    ProcessResult r = hearth({"serve", "--help"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    for (const char* m : {"--host", "--port", "--parallel", "--max-queue", "--api-key", "--alias", "--ctx-size",
                          "--max-body", "--temp", "--seed", "--no-access-log", "--metrics-public", "/v1/chat/completions",
                          "/api/generate", "/health", "/ready", "/metrics", "503", "--max-memory", "--max-loaded",
                          "--keep-alive", "/api/pull", "/api/delete", "/api/copy", "--no-webui"})
        EXPECT_NE(r.out.find(m), std::string::npos) << m << " not in:\n" << r.out;
}

TEST_F(CliServe, BadValuesAreOneLineErrors) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"serve", "-m", *model_, "--parallel", "0"}, "--parallel"},
        {{"serve", "-m", *model_, "--port", "70000"}, "--port"},
        {{"serve", "-m", *model_, "--max-queue", "-1"}, "--max-queue"},
        {{"serve", "-m", *model_, "--parallel", "8", "-b", "4"}, "--batch-size"},
        {{"serve", "-m", *model_, "--temp", "-1"}, "--temp"},
        {{"serve", "-m", *model_, "--seed", "x"}, "--seed"},
        {{"serve", "-m", *model_, "--host", "256.1.1.1", "--port", "0"}, "cannot listen"},
        {{"serve", "-m", "/nonexistent/model.gguf"}, "/nonexistent/model.gguf"},
        {{"serve", "-m", *model_, "--metrics-public=maybe"}, "--metrics-public"},
        {{"serve", "-m", *model_, "--no-access-log=maybe"}, "--no-access-log"},
        // Without -m: the library's flags.
        {{"serve", "--max-memory", "lots"}, "--max-memory"},
        {{"serve", "--max-memory", "0"}, "--max-memory"},
        {{"serve", "-m", *model_, "--max-memory", "12Q"}, "--max-memory"},
        {{"serve", "-m", *model_, "--max-memory", "1M"}, "more than --max-memory"},
        {{"serve", "--keep-alive", "soon"}, "--keep-alive"},
        {{"serve", "--keep-alive", "5 m"}, "--keep-alive"},
        {{"serve", "--max-loaded", "-1"}, "--max-loaded"},
        {{"serve", "--alias", "x"}, "--alias"},
    };
    for (const auto& [args, message] : cases) {
        ProcessResult r = hearth(args);
        EXPECT_EQ(r.exit_code, 1) << args.back() << ": " << r.err;
        EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
        EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
    }
}

TEST_F(CliServe, VersionNamesTheVersionAndTheCommit) {
    ProcessResult r = hearth({"--version"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    // The commit is a hex hash ("-dirty" when built from changed files), or "unknown" without git.
    const std::regex line(R"(hearth \d+\.\d+\.\d+ \(commit ([0-9a-f]{7,}(-dirty)?|unknown)\)\n)");
    EXPECT_TRUE(std::regex_match(r.out, line)) << r.out;
}

TEST_F(CliServe, TakenPortIsAnError) {
    // Hold a loopback port, then ask the server for it.
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(listen(fd, 1), 0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    const int port = ntohs(addr.sin_port);
    ProcessResult r = hearth({"serve", "-m", *model_, "--port", std::to_string(port)});
    close(fd);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hearth
