// hearth perplexity on stories260K: windowed PPL, a model against its own saved distributions
// (KL 0), and against a quantized copy (KL > 0, PPL close).
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "cost/perplexity.h"
#include "engine/loader.h"
#include "process.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace hearth {
namespace {

// A short story in the style stories260K was trained on (written for this test).
const char* kStory =
    "Once upon a time, there was a little girl named Lily. She loved to play in the park with her "
    "red ball. One day, she saw a big dog under a tree. The dog was sad because he was lost. Lily "
    "wanted to help him. She said, \"Do not be sad, dog. I will help you find your home.\" They "
    "walked and walked. They saw a cat, a bird and a big truck. At last they found a small house "
    "with a blue door. A boy named Tom was there. He was very happy to see his dog. \"Thank you, "
    "Lily!\" said Tom. Lily smiled. She was happy too. From that day on, Lily, Tom and the dog "
    "played in the park every day. They had lots of fun together. The end. Once upon a time, there "
    "was a boy named Ben. Ben had a toy car. He liked to make it go fast. One day, his car went "
    "under the bed. Ben was sad. His mom came and helped him look. They found the car and a sock "
    "too! Ben laughed and hugged his mom. They played with the car all day long.";

fs::path story_file() {
    fs::path p = test::temp_dir() / "story.txt";
    std::ofstream(p) << kStory;
    return p;
}

test::ProcessResult hearth_cli(const std::vector<std::string>& args) {
    std::vector<std::string> argv{HEARTH_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    test::ProcessOptions o;
    o.timeout_seconds = 120;
    return test::run_process(argv, o);
}

}  // namespace

TEST(CostPerplexity, WindowedPerplexityIsFiniteAndPlausible) {
    HEARTH_SHARED_OR_SKIP(model, "models/stories260K.gguf");
    LoadedModel lm = load_model(model);
    cost::PerplexityOptions o;
    o.n_ctx = 64;
    o.session.n_threads = 2;
    cost::PerplexityResult r = cost::compute_perplexity(lm, kStory, o);
    EXPECT_GE(r.n_windows, 3);
    EXPECT_EQ(r.n_scored, r.n_windows * (64 - 32 - 1));  // the second half of each window
    EXPECT_TRUE(std::isfinite(r.ppl));
    EXPECT_GT(r.ppl, 1.0);
    // A model trained on such stories predicts them far better than uniform over 512 tokens.
    EXPECT_LT(r.ppl, 100.0);
    EXPECT_GT(r.ppl_stderr, 0.0);
    EXPECT_FALSE(r.has_kl);

    o.max_windows = 1;
    cost::PerplexityResult one = cost::compute_perplexity(lm, kStory, o);
    EXPECT_EQ(one.n_windows, 1);
    o.max_windows = 0;
    o.n_ctx = 4096;
    EXPECT_THROW(cost::compute_perplexity(lm, kStory, o), Error);  // shorter than one window
    o.n_ctx = 4;
    EXPECT_THROW(cost::compute_perplexity(lm, kStory, o), Error);
}

// TinyStories-656K separates stories with its Control tokens <|end_story|><|start_story|>: parsed by
// default (two tokens), plain text with parse_special off.
TEST(CostPerplexity, SpecialTokenTextIsParsedUnlessTurnedOff) {
    HEARTH_SHARED_OR_SKIP(model, "models/TinyStories-656K-Q8_0.gguf");
    LoadedModel lm = load_model(model);
    std::string text = kStory;
    const std::string joint = "The end. ";
    text.insert(text.find(joint) + joint.size(), "<|end_story|><|start_story|>");
    cost::PerplexityOptions o;
    o.n_ctx = 64;
    o.session.n_threads = 2;
    o.max_windows = 1;
    const cost::PerplexityResult parsed = cost::compute_perplexity(lm, text, o);
    const cost::PerplexityResult story = cost::compute_perplexity(lm, kStory, o);
    o.parse_special = false;
    const cost::PerplexityResult unparsed = cost::compute_perplexity(lm, text, o);
    // Two tokens more (three when the space before them becomes a token of its own).
    EXPECT_GE(parsed.n_text_tokens, story.n_text_tokens + 2);
    EXPECT_LE(parsed.n_text_tokens, story.n_text_tokens + 3);
    // As characters it is more (this vocabulary even has normal tokens spelling most of it).
    EXPECT_GT(unparsed.n_text_tokens, parsed.n_text_tokens);
}

TEST(CostPerplexity, KlAgainstItselfIsZeroAndAgainstAQuantizedCopyIsNot) {
    HEARTH_SHARED_OR_SKIP(model, "models/stories260K.gguf");
    fs::path dir = test::temp_dir();
    const std::string text = story_file().string(), base = (dir / "base.bin").string();

    test::ProcessResult r = hearth_cli({"perplexity", "-m", model, "-f", text, "-c", "64", "--save-logits", base, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const double base_ppl = nlohmann::json::parse(r.out)["ppl"].get<double>();
    ASSERT_TRUE(fs::exists(base));

    r = hearth_cli({"perplexity", "-m", model, "-f", text, "-c", "64", "--kl-base", base, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json self = nlohmann::json::parse(r.out);
    EXPECT_LE(self["kl_mean"].get<double>(), 1e-9);
    EXPECT_DOUBLE_EQ(self["same_top"].get<double>(), 1.0);
    EXPECT_NEAR(self["base_ppl"].get<double>(), base_ppl, 1e-4 * base_ppl);

    const std::string q = (dir / "q4.gguf").string();
    r = hearth_cli({"quantize", model, q, "Q4_0"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = hearth_cli({"perplexity", "-m", q, "-f", text, "-c", "64", "--kl-base", base, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json quant = nlohmann::json::parse(r.out);
    EXPECT_GT(quant["kl_mean"].get<double>(), 1e-5);
    EXPECT_LT(quant["kl_mean"].get<double>(), 1.0);
    const double qppl = quant["ppl"].get<double>();
    EXPECT_NEAR(qppl, base_ppl, 0.25 * base_ppl);

    // Another window size, another text: refused, not compared.
    r = hearth_cli({"perplexity", "-m", model, "-f", text, "-c", "32", "--kl-base", base});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("-c 64"), std::string::npos) << r.err;
    fs::path other = dir / "other.txt";
    std::ofstream(other) << std::string(kStory).replace(400, 5, "Zebra");
    r = hearth_cli({"perplexity", "-m", model, "-f", other.string(), "-c", "64", "--kl-base", base});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("--kl-base"), std::string::npos) << r.err;  // token differs, or window count
    fs::path junk = dir / "junk.bin";
    std::ofstream(junk) << "not logits";
    r = hearth_cli({"perplexity", "-m", model, "-f", text, "-c", "64", "--kl-base", junk.string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("not a file written by"), std::string::npos) << r.err;
    r = hearth_cli({"perplexity", "-m", model, "-f", (dir / "missing.txt").string()});
    EXPECT_EQ(r.exit_code, 1);
}

}  // namespace hearth
