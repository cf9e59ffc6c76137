// End-to-end tests of `hearth chat` (a scripted session piped to stdin: the non-terminal
// path), `hearth template` against the shared jinja2 renderings, `hearth run --chat` and the
// `hearth tokenize --detok` round trip. The chat runs on a synthetic tiny model made with
// `hearth synth`, so only the template and tokenizer tests need ../shared.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "process.h"
#include "test_support.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using test::ProcessResult;

ProcessResult hearth(const std::vector<std::string>& args, const std::string& stdin_data = "") {
    std::vector<std::string> argv{HEARTH_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    test::ProcessOptions options;
    options.stdin_data = stdin_data;
    options.timeout_seconds = 120;
    ProcessResult r = test::run_process(argv, options);
    EXPECT_TRUE(r.spawn_error.empty()) << r.spawn_error;
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.term_signal, 0) << r.err;
    return r;
}

std::string describe(const ProcessResult& r) {
    return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out.substr(0, 3000) +
           "\nstderr: " + r.err.substr(0, 3000);
}

bool contains(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

void write(const fs::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary);
    out << text;
}

class CliChatTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new fs::path(test::temp_dir());
        model_ = new std::string((*dir_ / "tiny.gguf").string());
        ProcessResult r = hearth({"synth", "--preset", "tiny", "--type", "F32", "-o", *model_, "-q"});
        ASSERT_EQ(r.exit_code, 0) << describe(r);
    }
    static void TearDownTestSuite() {
        std::error_code ec;
        fs::remove_all(*dir_, ec);
        delete dir_;
        delete model_;
    }
    static fs::path* dir_;
    static std::string* model_;
};

fs::path* CliChatTest::dir_ = nullptr;
std::string* CliChatTest::model_ = nullptr;

TEST_F(CliChatTest, ScriptedSessionSetMultilineSaveLoadBye) {
    const fs::path saved = test::temp_dir() / "conv.json";
    const std::string script =
        "/set temperature 0\n"
        "/set num_predict 6\n"
        "/set top_k 0.5\n"  // invalid: an error, the session goes on
        "/set think hide\n"
        "/set think maybe\n"  // invalid
        "Hello there\n"
        "\"\"\"\n"
        "line one\n"
        "line two\n"
        "\"\"\"\n"
        "\"\"\"single line\"\"\"\n"
        "/save " + saved.string() + "\n"
        "/clear\n"
        "/load " + saved.string() + "\n"
        "/frobnicate\n"
        "/bye\n"
        "this is never read\n";
    ProcessResult r = hearth({"chat", "-m", *model_, "--system", "You are terse.", "-t", "2"}, script);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_TRUE(contains(r.out, "Set parameter 'temperature' to '0'")) << describe(r);
    EXPECT_TRUE(contains(r.out, "Set parameter 'num_predict' to '6'")) << describe(r);
    EXPECT_TRUE(contains(r.err, "top_k")) << describe(r);
    EXPECT_TRUE(contains(r.out, "Thinking will be left out.")) << describe(r);
    EXPECT_TRUE(contains(r.err, "usage: /set think show|hide")) << describe(r);
    EXPECT_TRUE(contains(r.err, "has no chat template")) << describe(r);
    EXPECT_TRUE(contains(r.out, "Saved the conversation (7 messages)")) << describe(r);
    EXPECT_TRUE(contains(r.out, "Cleared the conversation.")) << describe(r);
    EXPECT_TRUE(contains(r.out, "Loaded a conversation (7 messages)")) << describe(r);
    EXPECT_TRUE(contains(r.out, "Unknown command '/frobnicate'")) << describe(r);

    ordered_json conv = ordered_json::parse(test::read_file(saved));
    ASSERT_TRUE(conv.is_array());
    ASSERT_EQ(conv.size(), 7u);
    EXPECT_EQ(conv[0]["role"], "system");
    EXPECT_EQ(conv[0]["content"], "You are terse.");
    EXPECT_EQ(conv[1]["role"], "user");
    EXPECT_EQ(conv[1]["content"], "Hello there");
    EXPECT_EQ(conv[2]["role"], "assistant");
    EXPECT_EQ(conv[3]["content"], "line one\nline two");
    EXPECT_EQ(conv[5]["content"], "single line");
    EXPECT_EQ(conv[6]["role"], "assistant");
    // Greedy answers are deterministic: the same script gives the same transcript.
    ProcessResult again = hearth({"chat", "-m", *model_, "--system", "You are terse.", "-t", "2"}, script);
    EXPECT_EQ(again.out, r.out);
}

TEST_F(CliChatTest, OverflowDropsOldestTurnsWithANotice) {
    std::string script = "/set num_predict 16\n";
    for (int i = 0; i < 8; ++i) script += std::string(50, 'a' + i) + "\n";
    script += "/save " + (*dir_ / "overflow.json").string() + "\n";
    ProcessResult r = hearth({"chat", "-m", *model_, "-c", "256", "--system", "S", "--temp", "0"}, script);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_TRUE(contains(r.err, "outgrew the context: dropped the")) << describe(r);
    ordered_json conv = ordered_json::parse(test::read_file(*dir_ / "overflow.json"));
    ASSERT_GE(conv.size(), 3u);
    EXPECT_EQ(conv[0]["content"], "S");
    EXPECT_LT(conv.size(), 17u);
    EXPECT_EQ(conv[conv.size() - 2]["content"], std::string(50, 'a' + 7));
}

TEST_F(CliChatTest, TooLongMessageIsAnErrorNotATruncation) {
    ProcessResult r = hearth({"chat", "-m", *model_, "-c", "32", "--temp", "0", "-n", "4"},
                             std::string(300, 'z') + "\nhi\n");
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_TRUE(contains(r.err, "does not fit in the context")) << describe(r);
}

TEST_F(CliChatTest, EndOfInputLeaves) {
    ProcessResult r = hearth({"chat", "-m", *model_, "-n", "3", "--temp", "0"}, "hi\n");
    EXPECT_EQ(r.exit_code, 0) << describe(r);
}

TEST_F(CliChatTest, RunChatAppliesTheTemplate) {
    ProcessResult r = hearth({"run", "-m", *model_, "--chat", "-p", "hi", "-n", "4", "--temp", "0"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_TRUE(contains(r.err, "has no chat template")) << describe(r);
    // ChatML around "hi" plus BOS: many more prompt tokens than "hi" alone.
    EXPECT_TRUE(contains(r.err, "prompt ")) << describe(r);
    ProcessResult plain = hearth({"run", "-m", *model_, "-p", "hi", "-n", "4", "--temp", "0"});
    ASSERT_EQ(plain.exit_code, 0);
    EXPECT_NE(r.err.substr(r.err.find("prompt ")), plain.err.substr(plain.err.find("prompt ")));
}

TEST_F(CliChatTest, TemplateFromModelWithoutOneIsChatML) {
    const fs::path conv = *dir_ / "conv1.json";
    write(conv, R"({"messages": [{"role": "user", "content": "Hi"}]})");
    ProcessResult r = hearth({"template", "-m", *model_, "--messages", conv.string()});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    EXPECT_TRUE(contains(r.err, "no chat template")) << describe(r);
    r = hearth({"template", "-m", *model_, "--messages", conv.string(), "--no-generation-prompt"});
    EXPECT_EQ(r.out, "<|im_start|>user\nHi<|im_end|>\n");
}

TEST(CliTemplate, Errors) {
    const fs::path dir = test::temp_dir();
    write(dir / "bad.jinja", "{% if %}");
    write(dir / "raise.jinja", "{{ raise_exception('no way') }}");
    write(dir / "conv.json", R"({"messages": [{"role": "user", "content": "Hi"}]})");
    ProcessResult r = hearth({"template", "--template-file", (dir / "bad.jinja").string(), "--messages",
                              (dir / "conv.json").string()});
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_TRUE(r.out.empty());
    EXPECT_TRUE(contains(r.err, "line 1")) << describe(r);
    r = hearth({"template", "--template-file", (dir / "raise.jinja").string(), "--messages",
                (dir / "conv.json").string()});
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_TRUE(contains(r.err, "no way")) << describe(r);
    r = hearth({"template", "--messages", (dir / "conv.json").string()});
    EXPECT_EQ(r.exit_code, 1) << describe(r);
}

// Every expected rendering of ../shared/chat_templates through the CLI, byte for byte.
TEST(CliTemplate, MatchesSharedExpectedRenderings) {
    HEARTH_SHARED_OR_SKIP(expected_path, "chat_templates/expected.jsonl");
    const fs::path tdir = fs::path(expected_path).parent_path();
    ordered_json convs = ordered_json::parse(test::read_file(tdir / "conversations.json"));
    const fs::path dir = test::temp_dir();
    for (const auto& c : convs) write(dir / (c["name"].get<std::string>() + ".json"), c.dump());

    std::ifstream in(expected_path);
    std::string line;
    int n = 0, n_err = 0;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        ordered_json e = ordered_json::parse(line);
        const std::string tmpl = e["template"], conv = e["conversation"];
        std::vector<std::string> args{"template", "--template-file", (tdir / (tmpl + ".jinja")).string(),
                                      "--messages", (dir / (conv + ".json")).string()};
        if (!e["add_generation_prompt"].get<bool>()) args.push_back("--no-generation-prompt");
        if (!e["bos_token"].is_null()) args.insert(args.end(), {"--bos-token", e["bos_token"].get<std::string>()});
        if (!e["eos_token"].is_null()) args.insert(args.end(), {"--eos-token", e["eos_token"].get<std::string>()});
        ProcessResult r = hearth(args);
        const std::string what = tmpl + " / " + conv + " / agp=" + e["add_generation_prompt"].dump();
        if (e["error"].is_null()) {
            EXPECT_EQ(r.exit_code, 0) << what << "\n" << describe(r);
            EXPECT_EQ(r.out, e["output"].get<std::string>()) << what;
        } else {
            ++n_err;
            EXPECT_EQ(r.exit_code, 1) << what << "\n" << describe(r);
            EXPECT_TRUE(r.out.empty()) << what;
            if (e.value("error_type", "") == "TemplateError") {
                EXPECT_TRUE(contains(r.err, e["error"].get<std::string>())) << what << "\n" << describe(r);
            }
        }
        ++n;
    }
    EXPECT_EQ(n, 238);
    EXPECT_GT(n_err, 0);
}

// tokenize → tokenize --detok gives the text back, for SentencePiece and byte-level BPE.
TEST(CliDetok, RoundTrip) {
    const std::vector<std::string> vocabs = {"tokenizers/ggml-vocab/ggml-vocab-llama-spm.gguf",
                                             "tokenizers/llama3/llama3-vocab.gguf"};
    const std::vector<std::string> texts = {"Hello world", " leading space and  two", "héllo 🙂 wörld\nnew line",
                                            "tabs\tand 123 numbers"};
    int checked = 0;
    for (const auto& v : vocabs) {
        const std::string vocab = test::shared_path(v);
        if (vocab.empty()) continue;
        for (const auto& t : texts) {
            for (bool bos : {true, false}) {
                std::vector<std::string> args{"tokenize", "-m", vocab, "-p", t};
                if (!bos) args.push_back("--no-bos");
                ProcessResult ids = hearth(args);
                ASSERT_EQ(ids.exit_code, 0) << describe(ids);
                std::string list = ids.out.substr(0, ids.out.find('\n'));
                ProcessResult back = hearth({"tokenize", "-m", vocab, "--detok", "-p", list});
                ASSERT_EQ(back.exit_code, 0) << describe(back);
                EXPECT_EQ(back.out, t) << v << " ids " << list;
                // The comma-list form gives the same.
                std::string comma = list.substr(1, list.size() - 2);
                ProcessResult back2 = hearth({"tokenize", "-m", vocab, "--detok", "-p", comma});
                EXPECT_EQ(back2.out, t) << v;
                ++checked;
            }
        }
    }
    if (checked == 0) GTEST_SKIP() << "no shared vocabularies";
}

TEST(CliDetok, SpecialTokensAndErrors) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/llama3/llama3-vocab.gguf");
    ProcessResult ids = hearth({"tokenize", "-m", vocab, "--no-bos", "--parse-special", "-p", "<|eot_id|>hi"});
    ASSERT_EQ(ids.exit_code, 0) << describe(ids);
    const std::string list = ids.out.substr(0, ids.out.find('\n'));
    EXPECT_EQ(hearth({"tokenize", "-m", vocab, "--detok", "--render-special", "-p", list}).out, "<|eot_id|>hi");
    EXPECT_EQ(hearth({"tokenize", "-m", vocab, "--detok", "-p", list}).out, "hi");
    EXPECT_EQ(hearth({"tokenize", "-m", vocab, "--detok", "-p", "[]"}).out, "");
    for (const char* bad : {"[1, x]", "1,,2", "[1", "99999999", "-1"}) {
        ProcessResult r = hearth({"tokenize", "-m", vocab, "--detok", "-p", bad});
        EXPECT_EQ(r.exit_code, 1) << bad << "\n" << describe(r);
        EXPECT_TRUE(contains(r.err, "--detok")) << bad << "\n" << describe(r);
    }
}

}  // namespace
}  // namespace hearth
