// `hearth embed` as a process (help, output, one-line errors), `hearth show`'s pooling line and
// `hearth synth --pooling-type`. Uses synthetic models only.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "process.h"
#include "test_support.h"

namespace hearth {
namespace {

using test::ProcessResult;

ProcessResult hearth(const std::vector<std::string>& args) { return test::run_hearth(args, {"", 60}); }

void expect_one_line_error(const ProcessResult& r, const std::string& needle) {
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
}

class CliEmbed : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        const auto dir = test::temp_dir();
        last_ = new std::string((dir / "qwen3-last.gguf").string());
        ProcessResult r = hearth({"synth", "--preset", "tiny-qwen3", "--type", "F32", "--pooling-type", "3", "-o", *last_, "-q"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    static void TearDownTestSuite() {
        delete last_;
        last_ = nullptr;
    }
    static std::string* last_;
};
std::string* CliEmbed::last_ = nullptr;

TEST_F(CliEmbed, HelpExplainsTheCommand) {
    ProcessResult r = hearth({"embed", "--help"});
    EXPECT_EQ(r.exit_code, 0);
    for (const char* s : {"--prompt", "--file", "--json", "--truncate", "--no-normalize", "--ctx-size", "--threads",
                          "pooling_type", "mean", "last", "L2-normalised"})
        EXPECT_NE(r.out.find(s), std::string::npos) << s << " not in:\n" << r.out;
    EXPECT_NE(hearth({"--help"}).out.find("embed"), std::string::npos);
}

TEST_F(CliEmbed, TextAndJsonOutput) {
    ProcessResult r = hearth({"embed", "-m", *last_, "-p", "hello", "-p", "world"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("2 embeddings, dim 256, pooling last, L2-normalised", 0), 0u) << r.out;
    EXPECT_NE(r.out.find("\n[1] "), std::string::npos) << r.out;

    r = hearth({"embed", "-m", *last_, "-p", "hello", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["pooling"], "last");
    EXPECT_EQ(j["dim"], 256);
    EXPECT_EQ(j["embeddings"].size(), 1u);
    EXPECT_EQ(j["embeddings"][0].size(), 256u);
    EXPECT_GT(j["n_tokens"].get<int>(), 0);
    EXPECT_EQ(j["model"], *last_);
}

TEST_F(CliEmbed, BadInputIsAOneLineError) {
    expect_one_line_error(hearth({"embed", "-m", *last_}), "nothing to embed");
    expect_one_line_error(hearth({"embed", "-m", *last_, "-p", ""}), "input 0 is empty");
    expect_one_line_error(hearth({"embed", "-m", *last_, "-p", "x", "--kv-type", "q9"}), "q9");
    expect_one_line_error(hearth({"embed", "-m", *last_, "-f", "/nonexistent/input.txt"}), "/nonexistent/input.txt");
    expect_one_line_error(hearth({"embed", "-m", "/nonexistent/model.gguf", "-p", "x"}), "/nonexistent/model.gguf");
    expect_one_line_error(hearth({"embed", "-m", *last_, "-p", "a long enough input", "-c", "3"}),
                          "more than the context of 3");
    // A reranker cannot embed: the error says why.
    const std::string rank = (test::temp_dir() / "rank.gguf").string();
    ASSERT_EQ(hearth({"synth", "--preset", "tiny-qwen3", "--type", "F32", "--pooling-type", "4", "-o", rank, "-q"}).exit_code, 0);
    expect_one_line_error(hearth({"embed", "-m", rank, "-p", "x"}), "rank");
    expect_one_line_error(hearth({"synth", "--preset", "tiny", "--type", "F32", "--pooling-type", "7", "-o", rank}),
                          "--pooling-type: 7");
}

TEST_F(CliEmbed, ShowSaysWhichPooling) {
    ProcessResult r = hearth({"show", *last_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("embedding pooling  last"), std::string::npos) << r.out;
    const std::string chat = (test::temp_dir() / "chat.gguf").string();
    test::write_tiny_model(chat);
    r = hearth({"show", chat, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["embedding_pooling"], "mean (default: the file names none)");
}

}  // namespace
}  // namespace hearth
