// End-to-end tests of the `hearth` command-line front-end: the built binary is run as a child
// process (no shell) and its exit code, stdout and stderr are checked — golden generations,
// tokenizations and logits for stories260K, info in text and JSON, every kind of bad input
// file, and flag validation.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "process.h"
#include "test_support.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::ProcessResult;

const char* const kStories = "models/stories260K.gguf";
const char* const kGreedy200 = "models/stories260K.greedy200.json";
const char* const kPrompts = "golden/stories260K.prompts.json";
const char* const kVocabOnly = "tokenizers/ggml-vocab/ggml-vocab-llama-spm.gguf";

// Runs `hearth args...`; a crash or a hang is a failure of every test, so it is checked here.
ProcessResult hearth(const std::vector<std::string>& args, const std::string& stdin_data = "") {
    std::vector<std::string> argv{HEARTH_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    test::ProcessOptions options;
    options.stdin_data = stdin_data;
    options.timeout_seconds = 60;
    ProcessResult r = test::run_process(argv, options);
    std::string cmd;
    for (const auto& a : args) cmd += " '" + a + "'";
    EXPECT_TRUE(r.spawn_error.empty()) << r.spawn_error;
    EXPECT_FALSE(r.timed_out) << "hearth" << cmd << " timed out";
    EXPECT_EQ(r.term_signal, 0) << "hearth" << cmd << " was killed by signal " << r.term_signal
                                << "\nstderr: " << r.err;
    return r;
}

std::string describe(const ProcessResult& r) {
    return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out.substr(0, 2000) +
           "\nstderr: " + r.err.substr(0, 2000);
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// A failure the CLI reports itself: exit code 1, nothing on stdout, exactly one line on stderr
// that starts with "hearth: error:" and contains every one of `parts`.
void expect_one_line_error(const ProcessResult& r, std::initializer_list<std::string> parts) {
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_EQ(r.out, "") << describe(r);
    ASSERT_FALSE(r.err.empty()) << describe(r);
    EXPECT_EQ(r.err.back(), '\n') << describe(r);
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "the message has more than one line: " << r.err;
    EXPECT_EQ(r.err.rfind("hearth: error: ", 0), 0u) << r.err;
    for (const auto& part : parts) EXPECT_TRUE(contains(r.err, part)) << "'" << part << "' not in: " << r.err;
}

// A flag the parser rejects: non-zero exit, no crash, a message on stderr naming the problem.
void expect_usage_error(const ProcessResult& r, const std::string& part) {
    EXPECT_NE(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.exit_code, -1) << describe(r);
    EXPECT_EQ(r.out, "") << describe(r);
    EXPECT_TRUE(contains(r.err, part)) << "'" << part << "' not in: " << r.err;
}

json load_json(const std::string& path) { return json::parse(test::read_file(path)); }

// Some fields of the golden files are JSON arrays stored as strings.
json field(const json& j, const char* key) {
    const json& v = j.at(key);
    return v.is_string() ? json::parse(v.get<std::string>()) : v;
}

std::string ids_to_json(const std::vector<int>& ids) {
    std::string s = "[";
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i) s += ',';
        s += std::to_string(ids[i]);
    }
    return s + "]\n";
}

std::string write_bytes(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
    return path.string();
}

std::vector<float> as_floats(const std::string& bytes) {
    std::vector<float> v(bytes.size() / sizeof(float));
    std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
    return v;
}

// ---------------------------------------------------------------------------------------------
// run: golden generations. stdout is exactly the continuation; the CLI writes no newline of its
// own when stdout is not a terminal (cmd_run.cpp), and the goldens end without one.

TEST(CliRun, GreedyFromBosMatchesGolden200) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    HEARTH_SHARED_OR_SKIP(golden_path, kGreedy200);
    const json golden = load_json(golden_path);
    const std::string text = golden.at("text");
    ASSERT_FALSE(text.empty());
    ASSERT_NE(text.back(), '\n');
    ProcessResult r = hearth({"run", "-m", model, "-p", "", "--temp", "0", "-n", "200", "--kv-type", "f32", "-t", "2"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out, text);
    // The timing line goes to stderr, not into the text.
    EXPECT_TRUE(contains(r.err, "generated 200 tokens")) << r.err;
    EXPECT_FALSE(contains(r.out, "t/s"));
}

TEST(CliRun, GreedyPromptsMatchGolden) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    HEARTH_SHARED_OR_SKIP(prompts_path, kPrompts);
    const json prompts = load_json(prompts_path);
    ASSERT_FALSE(prompts.at("items").empty());
    for (const auto& item : prompts.at("items")) {
        const std::string prompt = item.at("prompt");
        SCOPED_TRACE("prompt: " + prompt);
        ProcessResult r =
            hearth({"run", "-m", model, "-p", prompt, "--temp", "0", "-n", "64", "--kv-type", "f32", "-t", "2"});
        ASSERT_EQ(r.exit_code, 0) << describe(r);
        // Only the continuation: the prompt is not echoed.
        EXPECT_EQ(r.out, item.at("output_text").get<std::string>());
        EXPECT_TRUE(contains(r.err, "prompt " + std::to_string(item.at("prompt_ids").size()) + " tokens")) << r.err;
    }
}

TEST(CliRun, PromptFileIsUsedLikePrompt) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    const fs::path dir = test::temp_dir();
    const std::string file = write_bytes(dir / "prompt.txt", "Once upon a time");
    ProcessResult a = hearth({"run", "-m", model, "-f", file, "--temp", "0", "-n", "16", "-t", "2"});
    ProcessResult b = hearth({"run", "-m", model, "-p", "Once upon a time", "--temp", "0", "-n", "16", "-t", "2"});
    ASSERT_EQ(a.exit_code, 0) << describe(a);
    ASSERT_EQ(b.exit_code, 0) << describe(b);
    EXPECT_FALSE(a.out.empty());
    EXPECT_EQ(a.out, b.out);
    fs::remove_all(dir);
}

TEST(CliRun, SameSeedSameOutputDifferentSeedDifferentOutput) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    auto sample = [&](const char* seed) {
        return hearth({"run", "-m", model, "-p", "Once upon a time", "--temp", "0.8", "--seed", seed, "-n", "60",
                       "-t", "2"});
    };
    ProcessResult a = sample("42"), b = sample("42"), c = sample("7");
    ASSERT_EQ(a.exit_code, 0) << describe(a);
    ASSERT_EQ(b.exit_code, 0) << describe(b);
    ASSERT_EQ(c.exit_code, 0) << describe(c);
    EXPECT_GT(a.out.size(), 100u) << a.out;
    EXPECT_EQ(a.out, b.out);
    EXPECT_NE(a.out, c.out);
    EXPECT_TRUE(contains(a.err, "seed 42")) << a.err;
}

TEST(CliRun, EverySixtyFourBitSeedIsUsedAsGiven) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    ProcessResult r = hearth({"run", "-m", model, "-p", "x", "-n", "1", "--seed", "18446744073709551614", "-t", "2"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_TRUE(contains(r.err, "seed 18446744073709551614")) << r.err;
}

// TinyStories-656K's BOS is <|start_story|> (a Control token). Parsed, the prompt below is that
// token and "Once upon a time" — the same ids as the plain prompt with its BOS added, so the
// same greedy text; unparsed (--no-parse-special) it is BOS + the vocabulary's odd normal token
// "<|start_story|>Once upon a tim" + "e": 3 tokens.
TEST(CliRun, SpecialTokenTextInThePromptIsParsedUnlessNoParseSpecial) {
    HEARTH_SHARED_OR_SKIP(model, "models/TinyStories-656K-Q8_0.gguf");
    const std::vector<std::string> common{"run", "-m", model, "--temp", "0", "-n", "12", "-t", "2"};
    auto run = [&](std::vector<std::string> extra) {
        std::vector<std::string> args = common;
        args.insert(args.end(), extra.begin(), extra.end());
        return hearth(args);
    };
    ProcessResult parsed = run({"-p", "<|start_story|>Once upon a time"});
    ProcessResult plain = run({"-p", "Once upon a time"});
    ProcessResult unparsed = run({"-p", "<|start_story|>Once upon a time", "--no-parse-special"});
    ASSERT_EQ(parsed.exit_code, 0) << describe(parsed);
    ASSERT_EQ(plain.exit_code, 0) << describe(plain);
    ASSERT_EQ(unparsed.exit_code, 0) << describe(unparsed);
    EXPECT_TRUE(contains(parsed.err, "prompt 6 tokens")) << parsed.err;
    EXPECT_TRUE(contains(plain.err, "prompt 6 tokens")) << plain.err;
    EXPECT_TRUE(contains(unparsed.err, "prompt 3 tokens")) << unparsed.err;
    EXPECT_FALSE(parsed.out.empty());
    EXPECT_EQ(parsed.out, plain.out);
    // With --no-bos the parsed <|start_story|> is still the one BOS.
    ProcessResult no_bos = run({"-p", "<|start_story|>Once upon a time", "--no-bos"});
    ASSERT_EQ(no_bos.exit_code, 0) << describe(no_bos);
    EXPECT_TRUE(contains(no_bos.err, "prompt 6 tokens")) << no_bos.err;
    EXPECT_EQ(no_bos.out, plain.out);
}

TEST(CliRun, PromptLongerThanContextIsAClearError) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    ProcessResult r = hearth({"run", "-m", model, "-p", "Once upon a time there was a little girl named Lily",
                              "-c", "8", "-n", "4"});
    expect_one_line_error(r, {"context", "-c"});
}

TEST(CliRun, VocabularyOnlyFileIsAnError) {
    HEARTH_SHARED_OR_SKIP(vocab, kVocabOnly);
    expect_one_line_error(hearth({"run", "-m", vocab, "-p", "hi", "-n", "1"}), {vocab});
    const fs::path dir = test::temp_dir();
    const fs::path out = dir / "logits.bin";
    expect_one_line_error(hearth({"eval", "-m", vocab, "--tokens", "1", "--logits-out", out.string()}), {vocab});
    EXPECT_FALSE(fs::exists(out));
    fs::remove_all(dir);
}

// ---------------------------------------------------------------------------------------------
// tokenize

TEST(CliTokenize, PromptsMatchGolden) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    HEARTH_SHARED_OR_SKIP(prompts_path, kPrompts);
    const json prompts = load_json(prompts_path);
    for (const auto& item : prompts.at("items")) {
        const std::string prompt = item.at("prompt");
        SCOPED_TRACE("prompt: " + prompt);
        std::vector<int> ids = item.at("prompt_ids");
        ProcessResult r = hearth({"tokenize", "-m", model, "-p", prompt});
        ASSERT_EQ(r.exit_code, 0) << describe(r);
        EXPECT_EQ(r.out, ids_to_json(ids));  // one line
        EXPECT_EQ(json::parse(r.out).get<std::vector<int>>(), ids);

        ASSERT_EQ(ids.front(), 1);
        ProcessResult no_bos = hearth({"tokenize", "-m", model, "-p", prompt, "--no-bos"});
        ASSERT_EQ(no_bos.exit_code, 0) << describe(no_bos);
        EXPECT_EQ(no_bos.out, ids_to_json(std::vector<int>(ids.begin() + 1, ids.end())));
    }
}

TEST(CliTokenize, FileBytesAreUsedExactly) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    const fs::path dir = test::temp_dir();
    const std::string file = write_bytes(dir / "hello.txt", "Hello\n");
    ProcessResult from_file = hearth({"tokenize", "-m", model, "-f", file});
    ProcessResult from_text = hearth({"tokenize", "-m", model, "-p", "Hello\n"});
    ProcessResult without_nl = hearth({"tokenize", "-m", model, "-p", "Hello"});
    ASSERT_EQ(from_file.exit_code, 0) << describe(from_file);
    ASSERT_EQ(from_text.exit_code, 0) << describe(from_text);
    ASSERT_EQ(without_nl.exit_code, 0) << describe(without_nl);
    EXPECT_EQ(from_file.out, from_text.out);
    const auto ids = json::parse(from_file.out).get<std::vector<int>>();
    ASSERT_GE(ids.size(), 2u);
    EXPECT_EQ(ids.front(), 1);
    EXPECT_EQ(ids.back(), 13) << "the trailing newline is the byte token <0x0A> (id 13)";
    EXPECT_EQ(json::parse(without_nl.out).get<std::vector<int>>(), std::vector<int>(ids.begin(), ids.end() - 1));
    fs::remove_all(dir);
}

TEST(CliTokenize, ReadsStdinThroughDevStdin) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    if (!fs::exists("/dev/stdin")) GTEST_SKIP() << "no /dev/stdin";
    ProcessResult piped = hearth({"tokenize", "-m", model, "-f", "/dev/stdin"}, "Hello\n");
    ProcessResult direct = hearth({"tokenize", "-m", model, "-p", "Hello\n"});
    ASSERT_EQ(piped.exit_code, 0) << describe(piped);
    EXPECT_EQ(piped.out, direct.out);
}

TEST(CliTokenize, EmptyTextIsJustBos) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    ProcessResult r = hearth({"tokenize", "-m", model, "-p", ""});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out, "[1]\n");
    ProcessResult none = hearth({"tokenize", "-m", model, "-p", "", "--no-bos"});
    ASSERT_EQ(none.exit_code, 0) << describe(none);
    EXPECT_EQ(none.out, "[]\n");
}

TEST(CliTokenize, WorksOnVocabularyOnlyGguf) {
    HEARTH_SHARED_OR_SKIP(vocab, kVocabOnly);
    ProcessResult r = hearth({"tokenize", "-m", vocab, "-p", "Hello world"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    // Llama 2's SentencePiece ids: ▁Hello = 15043, ▁world = 3186.
    EXPECT_EQ(r.out, "[1,15043,3186]\n");
}

TEST(CliTokenize, NeedsTextOrFile) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    expect_one_line_error(hearth({"tokenize", "-m", model}), {"-p", "-f"});
}

TEST(CliTokenize, UnreadableInputFileIsNamed) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    const fs::path dir = test::temp_dir();
    const std::string missing = (dir / "missing.txt").string();
    expect_one_line_error(hearth({"tokenize", "-m", model, "-f", missing}), {missing});
    // A directory opens as a stream on Linux and reads as nothing; it must not tokenize as "".
    expect_one_line_error(hearth({"tokenize", "-m", model, "-f", dir.string()}), {dir.string(), "directory"});
    fs::remove_all(dir);
}

TEST(CliRun, UnreadablePromptFileIsNamed) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    const fs::path dir = test::temp_dir();
    const std::string missing = (dir / "missing.txt").string();
    expect_one_line_error(hearth({"run", "-m", model, "-f", missing, "-n", "1"}), {missing});
    expect_one_line_error(hearth({"run", "-m", model, "-f", dir.string(), "-n", "1"}), {dir.string(), "directory"});
    fs::remove_all(dir);
}

// ---------------------------------------------------------------------------------------------
// eval

TEST(CliEval, WritesEveryPositionsLogitsMatchingTheReference) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    HEARTH_SHARED_OR_SKIP(golden_path, kGreedy200);
    const json golden = load_json(golden_path);
    const json first3 = field(golden, "logits_first3");
    const json greedy = field(golden, "greedy_ids");
    ASSERT_EQ(first3.size(), 3u);
    const int n_vocab = 512;
    // The reference rows are positions 0, 1, 2 of BOS followed by the greedy tokens.
    const std::vector<int> ids{1, greedy.at(0).get<int>(), greedy.at(1).get<int>()};
    const std::string list = std::to_string(ids[0]) + "," + std::to_string(ids[1]) + "," + std::to_string(ids[2]);

    const fs::path dir = test::temp_dir();
    const fs::path out = dir / "logits.bin";
    ProcessResult r = hearth({"eval", "-m", model, "--tokens", list, "--logits-out", out.string(), "--kv-type", "f32",
                              "-t", "2"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out, "");
    const std::string bytes = test::read_file(out);
    ASSERT_EQ(bytes.size(), 4u * ids.size() * n_vocab);
    const std::vector<float> logits = as_floats(bytes);
    for (size_t pos = 0; pos < ids.size(); ++pos) {
        const auto want = first3.at(pos).get<std::vector<double>>();
        ASSERT_EQ(want.size(), static_cast<size_t>(n_vocab));
        double max_diff = 0;
        int argmax = 0;
        for (int v = 0; v < n_vocab; ++v) {
            const float got = logits[pos * n_vocab + v];
            max_diff = std::max(max_diff, std::fabs(static_cast<double>(got) - want[v]));
            if (got > logits[pos * n_vocab + argmax]) argmax = v;
        }
        EXPECT_LT(max_diff, 1e-3) << "position " << pos;
        if (pos + 1 < ids.size()) {
            EXPECT_EQ(argmax, ids[pos + 1]) << "greedy token at position " << pos;
        }
    }

    // One token alone gives the same first row (one batch or many, position 0 is position 0).
    const fs::path one = dir / "one.bin";
    ProcessResult r1 = hearth({"eval", "-m", model, "--tokens", "1", "--logits-out", one.string(), "--kv-type", "f32",
                               "-t", "2"});
    ASSERT_EQ(r1.exit_code, 0) << describe(r1);
    const std::vector<float> row = as_floats(test::read_file(one));
    ASSERT_EQ(row.size(), static_cast<size_t>(n_vocab));
    const auto want0 = first3.at(0).get<std::vector<double>>();
    for (int v = 0; v < n_vocab; ++v) EXPECT_NEAR(row[v], want0[v], 1e-3) << "token " << v;
    fs::remove_all(dir);
}

TEST(CliEval, BadTokenListsAreRejectedWithoutWritingTheFile) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    const fs::path dir = test::temp_dir();
    const fs::path out = dir / "logits.bin";
    struct Case {
        const char* tokens;
        const char* named;  // what the message must name
    };
    for (const Case& c : {Case{"1,,2", "item 2"}, Case{"a", "'a'"}, Case{"-1", "'-1'"}, Case{"1,512", "512"},
                          Case{"1,2,", "item 3"}, Case{"", "item 1"}, Case{"99999999999", "99999999999"},
                          Case{"1;2", "1;2"}}) {
        SCOPED_TRACE(std::string("--tokens '") + c.tokens + "'");
        ProcessResult r = hearth({"eval", "-m", model, "--tokens", c.tokens, "--logits-out", out.string()});
        expect_one_line_error(r, {"--tokens", c.named});
        EXPECT_FALSE(fs::exists(out));
    }
    // The out-of-range message says how big the vocabulary is.
    ProcessResult r = hearth({"eval", "-m", model, "--tokens", "512", "--logits-out", out.string()});
    expect_one_line_error(r, {"512 tokens"});
    // No temporary file is left behind either.
    EXPECT_TRUE(fs::is_empty(dir));
    fs::remove_all(dir);
}

TEST(CliEval, UnwritableOutputIsNamed) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    const fs::path dir = test::temp_dir();
    const std::string out = (dir / "no-such-dir" / "logits.bin").string();
    expect_one_line_error(hearth({"eval", "-m", model, "--tokens", "1", "--logits-out", out}), {out});
    fs::remove_all(dir);
}

TEST(CliEval, MoreTokensThanContextIsAClearError) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    const fs::path dir = test::temp_dir();
    const fs::path out = dir / "logits.bin";
    expect_one_line_error(hearth({"eval", "-m", model, "--tokens", "1,2,3,4,5,6,7,8,9,10", "-c", "4", "--logits-out",
                                  out.string()}),
                          {"context"});
    EXPECT_FALSE(fs::exists(out));
    fs::remove_all(dir);
}

// ---------------------------------------------------------------------------------------------
// info

TEST(CliInfo, TextDescribesTheModel) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    ProcessResult r = hearth({"info", "-m", model});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    for (const char* line : {"architecture:   llama\n", "layers:         5\n", "embedding:      64\n",
                             "feed-forward:   172\n", "8 query, 4 kv", "512 tokens, llama tokenizer", "bos 1 \"<s>\"",
                             "F32       48 tensors", "GGUF v3", "metadata (19 keys)", "tokenizer.ggml.tokens = [string × 512]"})
        EXPECT_TRUE(contains(r.out, line)) << "'" << line << "' not in:\n" << r.out;
    EXPECT_FALSE(contains(r.out, "runnable:")) << "stories260K runs";
}

TEST(CliInfo, MixtureOfExpertsShowsExpertsAndActiveParameters) {
    HEARTH_SHARED_OR_SKIP(model, "golden/arch/synth-gptoss-256-F32.gguf");
    ProcessResult r = hearth({"info", "-m", model});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    for (const char* line : {"architecture:   gpt-oss\n", "experts:        8, 4 per token, width 32\n",
                             "(4 of 8 experts)", "window:         16 positions on 2 of 4 layers\n"})
        EXPECT_TRUE(contains(r.out, line)) << "'" << line << "' not in:\n" << r.out;
    ProcessResult rj = hearth({"info", "-m", model, "--json"});
    ASSERT_EQ(rj.exit_code, 0) << describe(rj);
    json j = json::parse(rj.out);
    EXPECT_EQ(j.at("hparams").at("expert_count"), 8);
    EXPECT_EQ(j.at("hparams").at("expert_used_count"), 4);
    // Half of each layer's expert weights and biases do not run for a token:
    // 4 layers x 4 experts x (3 x 256 x 32 weights + 32 + 32 + 256 biases).
    const uint64_t idle = 4 * 4 * (3 * 256 * 32 + 32 + 32 + 256);
    EXPECT_EQ(j.at("active_parameters").get<uint64_t>(), j.at("parameters").get<uint64_t>() - idle);
}

TEST(CliInfo, JsonHasEverything) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    ProcessResult r = hearth({"info", "-m", model, "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    json j;
    ASSERT_NO_THROW(j = json::parse(r.out)) << r.out.substr(0, 500);
    EXPECT_EQ(j.at("architecture"), "llama");
    EXPECT_EQ(j.at("parameters"), 292800);
    EXPECT_EQ(j.at("gguf_version"), 3);
    EXPECT_EQ(j.at("runnable"), true);
    EXPECT_EQ(j.at("hparams").at("block_count"), 5);
    EXPECT_EQ(j.at("hparams").at("head_count_kv"), 4);
    ASSERT_EQ(j.at("tensor_types").size(), 1u);
    EXPECT_EQ(j.at("tensor_types")[0].at("type"), "F32");
    EXPECT_EQ(j.at("tensor_types")[0].at("tensors"), 48);
    EXPECT_EQ(j.at("tensors").size(), 48u);
    EXPECT_EQ(j.at("vocab").at("size"), 512);
    const json& tokens = j.at("metadata").at("tokenizer.ggml.tokens");
    ASSERT_EQ(tokens.size(), 512u);  // complete, not abbreviated
    EXPECT_EQ(tokens[1], "<s>");
    EXPECT_EQ(tokens[13], "<0x0A>");
    EXPECT_EQ(j.at("metadata").at("llama.block_count"), 5);
}

TEST(CliInfo, WorksOnVocabularyOnlyGguf) {
    HEARTH_SHARED_OR_SKIP(vocab, kVocabOnly);
    ProcessResult text = hearth({"info", "-m", vocab});
    ASSERT_EQ(text.exit_code, 0) << describe(text);
    EXPECT_TRUE(contains(text.out, "32000 tokens")) << text.out;
    ProcessResult r = hearth({"info", "-m", vocab, "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const json j = json::parse(r.out);
    EXPECT_EQ(j.at("parameters"), 0);
    EXPECT_EQ(j.at("vocab").at("size"), 32000);
    EXPECT_EQ(j.at("metadata").at("tokenizer.ggml.tokens").size(), 32000u);
    // It has no weights, so it cannot run, and info says so.
    EXPECT_EQ(j.at("runnable"), false);
}

// ---------------------------------------------------------------------------------------------
// Bad model files: every command that opens a model answers with one line naming the file
// and the problem, and exit code 1.

struct BadFile {
    std::string name;
    std::string path;
    std::string problem;  // a substring the message must contain
};

std::vector<BadFile> make_bad_files(const fs::path& dir) {
    std::vector<BadFile> files;
    files.push_back({"nonexistent", (dir / "does-not-exist.gguf").string(), "No such file"});
    fs::create_directories(dir / "a-directory.gguf");
    files.push_back({"directory", (dir / "a-directory.gguf").string(), "directory"});
    files.push_back({"empty", write_bytes(dir / "empty.gguf", ""), "empty"});
    files.push_back({"text", write_bytes(dir / "notes.txt", "just some text, not a model\n"), "not a GGUF file"});
    if (auto p = test::shared_path("models/detllm-tiny-f32-misaligned.gguf"); !p.empty())
        files.push_back({"misaligned", p, "alignment"});
    if (auto p = test::shared_path("models/tinyllamas-stories-260k-f32.gguf"); !p.empty())
        files.push_back({"gguf-v1", p, "GGUF v1 is not supported"});
    if (auto p = test::shared_path(kStories); !p.empty()) {
        const std::string bytes = test::read_file(p);
        // Cut in the tensor data, and cut in the metadata.
        files.push_back({"truncated-data", write_bytes(dir / "truncated-data.gguf", bytes.substr(0, bytes.size() / 2)),
                         "truncated"});
        files.push_back({"truncated-header", write_bytes(dir / "truncated-header.gguf", bytes.substr(0, 100)),
                         "truncated"});
        files.push_back({"truncated-magic", write_bytes(dir / "truncated-magic.gguf", bytes.substr(0, 3)),
                         "not a GGUF file"});
    }
    return files;
}

TEST(CliBadInput, EveryCommandNamesTheFileAndTheProblem) {
    const fs::path dir = test::temp_dir();
    const fs::path out = dir / "logits.bin";
    for (const BadFile& f : make_bad_files(dir)) {
        const std::vector<std::vector<std::string>> commands{
            {"run", "-m", f.path, "-p", "hi", "-n", "2"},
            {"info", "-m", f.path},
            {"info", "-m", f.path, "--json"},
            {"tokenize", "-m", f.path, "-p", "hi"},
            {"eval", "-m", f.path, "--tokens", "1,2", "--logits-out", out.string()},
        };
        for (const auto& args : commands) {
            SCOPED_TRACE(f.name + ": hearth " + args[0] + (args.size() == 3 ? "" : " " + args[3]));
            expect_one_line_error(hearth(args), {f.path, f.problem});
        }
        EXPECT_FALSE(fs::exists(out));
    }
    fs::remove_all(dir);
}

// ---------------------------------------------------------------------------------------------
// Flags

TEST(CliFlags, HelpForEveryCommand) {
    struct Case {
        std::vector<std::string> args;
        std::vector<std::string> mentions;
    };
    const std::vector<Case> cases{
        {{"--help"}, {"run", "info", "tokenize", "eval"}},
        {{"run", "--help"},
         {"--model", "--prompt", "--file", "--n-predict", "--ctx-size", "--threads", "--temp", "--top-k", "--top-p",
          "--min-p", "--repeat-penalty", "--seed", "--kv-type", "--no-parse-special"}},
        {{"perplexity", "--help"}, {"--no-parse-special"}},
        {{"eval-cost", "--help"}, {"--no-parse-special"}},
        {{"serve", "--help"}, {"--no-parse-special"}},
        {{"info", "--help"}, {"--model", "--json"}},
        {{"tokenize", "--help"}, {"--model", "--prompt", "--file", "--no-bos"}},
        {{"eval", "--help"}, {"--model", "--tokens", "--logits-out", "--kv-type"}},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.args[0] + (c.args.size() > 1 ? " " + c.args[1] : ""));
        ProcessResult r = hearth(c.args);
        EXPECT_EQ(r.exit_code, 0) << describe(r);
        for (const auto& m : c.mentions) EXPECT_TRUE(contains(r.out, m)) << "'" << m << "' not in:\n" << r.out;
    }
}

TEST(CliFlags, BadFlagsAndValuesAreErrors) {
    HEARTH_SHARED_OR_SKIP(model, kStories);
    struct Case {
        std::vector<std::string> args;
        std::string message;  // the message must contain this
    };
    const std::vector<Case> cases{
        {{}, "subcommand is required"},
        {{"bogus"}, "unknown command 'bogus'"},
        {{"run", "-m", model, "-p", "x", "--bogus"}, "--bogus"},
        {{"run", "-m", model, "-p", "x", "-n", "abc"}, "abc"},
        {{"run", "-m", model, "-p", "x", "--kv-type", "q9"}, "q9"},
        {{"run", "-m", model, "-p", "x", "--temp", "-1"}, "--temp"},
        {{"run", "-m", model, "-p", "x", "--temp", "nan"}, "--temp"},
        {{"run", "-m", model, "-p", "x", "--top-p", "2"}, "--top-p"},
        {{"run", "-m", model, "-p", "x", "--top-k", "-1"}, "--top-k"},
        {{"run", "-m", model, "-p", "x", "--min-p", "1.5"}, "--min-p"},
        {{"run", "-m", model, "-p", "x", "--repeat-penalty", "0"}, "--repeat-penalty"},
        {{"run", "-m", model, "-p", "x", "-t", "-3"}, "threads"},
        {{"run", "-m", model, "-p", "x", "-c", "-5"}, "ctx-size"},
        {{"run", "-m", model, "-p", "x", "-n", "-5"}, "n-predict"},
        {{"run", "-m", model, "-p", "x", "--seed", "-5"}, "--seed"},
        {{"run", "-m", model, "-p", "x", "--seed", "abc"}, "--seed"},
        {{"run", "-m", model, "-p", "x", "--seed", "18446744073709551616"}, "--seed"},  // 2^64: not clamped
        {{"run", "-m", model, "-p", "x", "-n", "99999999999"}, "99999999999"},
        {{"run", "-m", model, "-p", "x", "-f", "y"}, "excludes"},
        {{"info"}, "--model"},  // run/chat without -m use the default model (tests: library_pull_test.cpp)
        {{"info", "-m", model, "stray"}, "stray"},
        {{"info", "-m", model, "--max-array", "0"}, "--max-array"},
        {{"tokenize", "-m", model, "-p", "x", "--nope"}, "--nope"},
        {{"eval", "-m", model, "--tokens", "1"}, "--logits-out"},
        {{"eval", "-m", model, "--tokens", "1", "--logits-out", "/nonexistent-dir/x.bin", "--kv-type", "q9"}, "q9"},
    };
    for (const Case& c : cases) {
        std::string cmd;
        for (const auto& a : c.args) cmd += " " + a;
        SCOPED_TRACE("hearth" + cmd);
        expect_usage_error(hearth(c.args), c.message);
    }
}

}  // namespace
}  // namespace hearth
