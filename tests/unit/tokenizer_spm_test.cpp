// SentencePiece tokenizer against reference tokenizations: llama-tokenizer-js (golden.jsonl),
// llama.cpp's own test pairs (ggml-vocab-*.gguf.inp/.out) and llama.cpp's stories260K prompts.
#include <chrono>
#include <iostream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "gguf/gguf.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"

namespace hearth {
namespace {

std::unique_ptr<Tokenizer> load(const std::string& path) {
    auto file = gguf::File::open(path);
    return load_tokenizer(*file);
}

std::string ids_string(const std::vector<TokenId>& ids) {
    std::string s;
    for (TokenId id : ids) {
        if (!s.empty()) s += ' ';
        s += std::to_string(id);
    }
    return s;
}

// llama.cpp's tests/test-tokenizer-0.cpp format: `.inp` holds the inputs, each followed by the
// line "__ggml_vocab_test__" (split on "\n__ggml_vocab_test__\n"; the file ends with one, so
// there is no empty last input; an input may itself end in newlines, which belong to it);
// `.out` has one line of space-separated ids per input (maybe with a leading space; empty
// line = no tokens). Produced with add_special=false, parse_special=false.
struct VocabTestCase {
    std::string input;
    std::vector<TokenId> ids;
};

std::vector<VocabTestCase> read_vocab_tests(const std::string& inp_path,
                                            const std::string& out_path) {
    const std::string raw = test::read_file(inp_path);
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> inputs;
    for (size_t pos = 0; pos < raw.size();) {
        const size_t next = raw.find(sep, pos);
        if (next == std::string::npos) {
            inputs.push_back(raw.substr(pos));
            break;
        }
        inputs.push_back(raw.substr(pos, next - pos));
        pos = next + sep.size();
    }
    std::istringstream out(test::read_file(out_path));
    std::vector<VocabTestCase> cases;
    size_t i = 0;
    for (std::string line; std::getline(out, line); ++i) {
        std::vector<TokenId> ids;
        std::istringstream ls(line);
        for (TokenId id; ls >> id;) ids.push_back(id);
        if (i < inputs.size()) cases.push_back({inputs[i], ids});
    }
    EXPECT_EQ(inputs.size(), i) << inp_path << " and " << out_path << " differ in length";
    return cases;
}

void check_vocab_pairs(const std::string& gguf_path, size_t expected_cases) {
    auto tok = load(gguf_path);
    const auto cases = read_vocab_tests(gguf_path + ".inp", gguf_path + ".out");
    ASSERT_EQ(cases.size(), expected_cases);
    size_t matched = 0;
    for (const auto& c : cases) {
        const auto ids = tok->encode(c.input, /*add_special=*/false);
        EXPECT_EQ(ids_string(ids), ids_string(c.ids)) << "input: '" << c.input << "'";
        matched += ids == c.ids;
    }
    std::cout << "[          ] " << gguf_path.substr(gguf_path.rfind('/') + 1) << ": " << matched
              << "/" << cases.size() << " llama.cpp test pairs match\n";
}

TEST(TokenizerSpm, LlamaGoldenJsonl) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/ggml-vocab/ggml-vocab-llama-spm.gguf");
    HEARTH_SHARED_OR_SKIP(golden, "tokenizers/llama2/golden.jsonl");
    auto tok = load(vocab);
    EXPECT_EQ(tok->kind(), "llama");
    EXPECT_EQ(tok->n_vocab(), 32000);
    std::istringstream in(test::read_file(golden));
    size_t lines = 0, matched = 0;
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        const auto j = nlohmann::json::parse(line);
        const std::string text = j.at("text");
        const auto expected = j.at("ids").get<std::vector<TokenId>>();
        const auto ids = tok->encode(text, /*add_special=*/true);  // golden ids start with BOS 1
        EXPECT_EQ(ids_string(ids), ids_string(expected)) << "text: '" << text << "'";
        ++lines;
        matched += ids == expected;
    }
    EXPECT_EQ(lines, 63u);
    std::cout << "[          ] llama2/golden.jsonl: " << matched << "/" << lines << " lines match\n";
}

TEST(TokenizerSpm, LlamaCppPairsLlamaSpm) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/ggml-vocab/ggml-vocab-llama-spm.gguf");
    check_vocab_pairs(vocab, 46);
}

TEST(TokenizerSpm, LlamaCppPairsPhi3) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/ggml-vocab/ggml-vocab-phi-3.gguf");
    check_vocab_pairs(vocab, 46);
}

TEST(TokenizerSpm, Stories260KPrompts) {
    HEARTH_SHARED_OR_SKIP(model, "models/stories260K.gguf");
    HEARTH_SHARED_OR_SKIP(golden, "golden/stories260K.prompts.json");
    auto tok = load(model);
    const auto j = nlohmann::json::parse(test::read_file(golden));
    ASSERT_EQ(j.at("items").size(), 3u);
    for (const auto& item : j.at("items")) {
        const std::string prompt = item.at("prompt");
        const auto prompt_ids = item.at("prompt_ids").get<std::vector<TokenId>>();
        EXPECT_EQ(ids_string(tok->encode(prompt, /*add_special=*/true)), ids_string(prompt_ids))
            << prompt;
        const auto output_ids = item.at("output_ids").get<std::vector<TokenId>>();
        std::string text;
        for (TokenId id : output_ids) text += tok->token_to_piece(id);
        EXPECT_EQ(text, item.at("output_text").get<std::string>()) << prompt;
        EXPECT_EQ(tok->decode(output_ids), text);
    }
}

TEST(TokenizerSpm, EmptyTextAndSpecialFlags) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/ggml-vocab/ggml-vocab-llama-spm.gguf");
    auto tok = load(vocab);
    EXPECT_EQ(tok->encode("", true), std::vector<TokenId>{1});
    EXPECT_TRUE(tok->encode("", false).empty());
    EXPECT_TRUE(tok->vocab().add_bos);
    EXPECT_FALSE(tok->vocab().add_eos);
    EXPECT_TRUE(tok->vocab().add_space_prefix);
    EXPECT_EQ(tok->bos(), 1);
    EXPECT_EQ(tok->eos(), 2);
    EXPECT_EQ(tok->vocab().special.unk, 0);
    EXPECT_TRUE(tok->is_end_of_generation(2));
    EXPECT_FALSE(tok->is_end_of_generation(1));
    EXPECT_FALSE(tok->is_end_of_generation(13));
}

TEST(TokenizerSpm, ParseSpecial) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/ggml-vocab/ggml-vocab-llama-spm.gguf");
    auto tok = load(vocab);
    const std::string text = "<s>Hello</s> world";
    // parse_special: the control tokens are taken out; text after one gets the dummy prefix.
    const auto parsed = tok->encode(text, false, true);
    std::vector<TokenId> expected = {1};
    for (TokenId id : tok->encode("Hello", false)) expected.push_back(id);
    expected.push_back(2);
    for (TokenId id : tok->encode(" world", false)) expected.push_back(id);
    EXPECT_EQ(ids_string(parsed), ids_string(expected));
    // Off: plain text, no control ids, and the round trip gives the text back.
    const auto plain = tok->encode(text, false, false);
    for (TokenId id : plain) EXPECT_TRUE(id != 1 && id != 2) << ids_string(plain);
    EXPECT_EQ(tok->decode(plain), " " + text);
    // Both a BOS from add_special and a parsed <s>: two BOS, as llama.cpp does.
    const auto both = tok->encode("<s>Hi", true, true);
    ASSERT_GE(both.size(), 2u);
    EXPECT_EQ(both[0], 1);
    EXPECT_EQ(both[1], 1);
}

TEST(TokenizerSpm, TokenToPiece) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/ggml-vocab/ggml-vocab-llama-spm.gguf");
    auto tok = load(vocab);
    const Vocabulary& v = tok->vocab();
    EXPECT_EQ(tok->token_to_piece(v.find("<0x0A>")), "\n");
    EXPECT_EQ(tok->token_to_piece(v.find("<0xF0>")), "\xF0");
    EXPECT_EQ(tok->token_to_piece(v.find("\xE2\x96\x81Hello")), " Hello");
    EXPECT_EQ(tok->token_to_piece(1), "");
    EXPECT_EQ(tok->token_to_piece(1, true), "<s>");
    EXPECT_EQ(tok->token_to_piece(2, true), "</s>");
    EXPECT_EQ(tok->token_to_piece(0), "");  // unknown renders only with render_special
    EXPECT_EQ(tok->token_to_piece(0, true), "<unk>");
    EXPECT_THROW(tok->token_to_piece(32000), Error);
    EXPECT_THROW(tok->token_to_piece(-1), Error);
}

TEST(TokenizerSpm, RoundTripsArbitraryBytes) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/ggml-vocab/ggml-vocab-llama-spm.gguf");
    auto tok = load(vocab);
    const std::vector<std::string> texts = {
        "Hello world", "  spaces  ", "\n\n\t", "caf\xC3\xA9 \xE2\x9C\x85 \xF0\x9F\xA6\x99.cpp",
        "\xFF\xFE invalid \x80\xC3", "\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C",
    };
    for (const auto& t : texts) {
        EXPECT_EQ(tok->decode(tok->encode(t, true)), " " + t);
        EXPECT_EQ(tok->decode(tok->encode(t, false)), " " + t);
    }
    std::mt19937 rng(1234);
    for (int round = 0; round < 200; ++round) {
        std::string t(rng() % 64, '\0');
        for (char& c : t) c = static_cast<char>(rng() % 256);
        ASSERT_EQ(tok->decode(tok->encode(t, false)), t.empty() ? "" : " " + t);
    }
}

TEST(TokenizerSpm, EndOfGenerationPhi3) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/ggml-vocab/ggml-vocab-phi-3.gguf");
    auto tok = load(vocab);
    const Vocabulary& v = tok->vocab();
    EXPECT_EQ(tok->eos(), 32000);  // <|endoftext|>
    const TokenId end = v.find("<|end|>");
    ASSERT_EQ(end, 32007);
    EXPECT_TRUE(tok->is_end_of_generation(32000));
    EXPECT_TRUE(tok->is_end_of_generation(end));
    EXPECT_EQ(v.special.eot, end);  // found by its text; the file has no eot_token_id
    EXPECT_FALSE(tok->is_end_of_generation(v.find("<|user|>")));
    EXPECT_FALSE(tok->is_end_of_generation(1));
    // Control tokens of the chat template are parsed only on request.
    const auto ids = tok->encode("<|user|>\nHi<|end|>", false, true);
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(ids.front(), v.find("<|user|>"));
    EXPECT_EQ(ids.back(), end);
    // Text right after a special token gets the dummy-prefix space, as in llama.cpp.
    EXPECT_EQ(tok->decode(ids), " \nHi");
    EXPECT_EQ(tok->decode(ids, true), "<|user|> \nHi<|end|>");
}

TEST(TokenizerSpm, EncodesTenKilobytesInMilliseconds) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/ggml-vocab/ggml-vocab-llama-spm.gguf");
    HEARTH_SHARED_OR_SKIP(golden, "tokenizers/llama2/golden.jsonl");
    auto tok = load(vocab);
    std::string text;
    std::istringstream in(test::read_file(golden));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(nlohmann::json::parse(line).at("text"));
    for (size_t i = 0; text.size() < 10 * 1024; ++i) text += lines[i % lines.size()] + " ";
    // Also one long run without spaces (one symbol chain of ~10 K characters).
    const std::string run(10 * 1024, 'a');
    const auto t0 = std::chrono::steady_clock::now();
    const auto ids = tok->encode(text, true);
    const auto t1 = std::chrono::steady_clock::now();
    const auto run_ids = tok->encode(run, true);
    const auto t2 = std::chrono::steady_clock::now();
    const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    const double run_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
    std::cout << "[          ] encode " << text.size() << " bytes -> " << ids.size()
              << " tokens in " << ms << " ms; " << run.size() << " x 'a' -> " << run_ids.size()
              << " tokens in " << run_ms << " ms\n";
    EXPECT_EQ(tok->decode(ids), " " + text);
    EXPECT_EQ(tok->decode(run_ids), " " + run);
    // Generous bounds (sanitizer/debug builds are slower); Release takes a few ms.
    EXPECT_LT(ms, 500.0);
    EXPECT_LT(run_ms, 500.0);
}

}  // namespace
}  // namespace hearth

namespace hearth {
namespace {

// Other SentencePiece vocabularies in ../shared load and round-trip (no reference ids here).
TEST(TokenizerSpm, OtherVocabulariesLoad) {
    const char* files[] = {"tokenizers/ggml-vocab/ggml-vocab-baichuan.gguf",
                           "models/llama-2-tiny-random.gguf"};
    int loaded = 0;
    for (const char* rel : files) {
        const std::string path = test::shared_path(rel);
        if (path.empty()) continue;
        auto tok = load(path);
        EXPECT_EQ(tok->kind(), "llama") << rel;
        const std::string text = "Hello world,\n\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\xA6\x99!";
        EXPECT_EQ(tok->decode(tok->encode(text, true)), " " + text) << rel;
        ++loaded;
    }
    if (loaded == 0) GTEST_SKIP() << "none of the vocabularies found in ../shared";
}

}  // namespace
}  // namespace hearth
