// Byte-level BPE tokenizer (tokenizer.ggml.model = "gpt2") against reference tokenizations:
// the Hugging Face tokenizers' golden.jsonl files (llama3, qwen3, gpt2) and llama.cpp's own test
// pairs (ggml-vocab-*.gguf.inp/.out). Also the pre-tokenizer matcher and NFC on their own.
#include <chrono>
#include <iostream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "gguf/gguf.h"
#include "test_support.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

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

std::string printable(std::string_view s) {
    std::string out;
    for (char c : s) {
        const auto b = static_cast<unsigned char>(c);
        if (b < 0x20)
            out += fmt::format("\\x{:02X}", b);
        else
            out += c;
    }
    return out;
}

// golden.jsonl: {"text": ..., "ids": [...]} per line, no BOS in the ids.
size_t check_golden(const Tokenizer& tok, const std::string& golden, const std::string& label) {
    std::istringstream in(test::read_file(golden));
    size_t lines = 0, matched = 0;
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        const auto j = nlohmann::json::parse(line);
        const std::string text = j.at("text");
        const auto expected = j.at("ids").get<std::vector<TokenId>>();
        const auto ids = tok.encode(text, /*add_special=*/false);
        EXPECT_EQ(ids_string(ids), ids_string(expected))
            << label << " text: '" << printable(text) << "'";
        ++lines;
        matched += ids == expected;
        // Byte-level decode gives the text back (NFC-normalized for Qwen).
        EXPECT_EQ(tok.decode(ids),
                  tok.kind() == "gpt2" && label == "qwen3" ? unicode::nfc(text) : text)
            << label << " text: '" << printable(text) << "'";
    }
    std::cout << "[          ] " << label << "/golden.jsonl: " << matched << "/" << lines
              << " lines match\n";
    return lines;
}

// llama.cpp's tests/test-tokenizer-0 format (see tokenizer_spm_test.cpp).
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

void check_pairs(const Tokenizer& tok, const std::string& pairs_base, const std::string& label) {
    const auto cases = read_vocab_tests(pairs_base + ".inp", pairs_base + ".out");
    ASSERT_EQ(cases.size(), 46u);
    size_t matched = 0;
    for (const auto& c : cases) {
        const auto ids = tok.encode(c.input, /*add_special=*/false);
        EXPECT_EQ(ids_string(ids), ids_string(c.ids))
            << label << " input: '" << printable(c.input) << "'";
        matched += ids == c.ids;
    }
    std::cout << "[          ] " << label << ": " << matched << "/" << cases.size()
              << " llama.cpp test pairs match\n";
}

// ---------------------------------------------------------------------------------------------
// Reference tokenizations.

TEST(TokenizerBpe, Llama3Golden) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/llama3/llama3-vocab.gguf");
    HEARTH_SHARED_OR_SKIP(golden, "tokenizers/llama3/golden.jsonl");
    auto tok = load(vocab);
    EXPECT_EQ(tok->kind(), "gpt2");
    EXPECT_EQ(tok->n_vocab(), 128256);
    const auto& bpe = dynamic_cast<const BpeTokenizer&>(*tok);
    EXPECT_EQ(bpe.pre_tokenizer(), "llama3");
    EXPECT_TRUE(bpe.ignore_merges());
    EXPECT_TRUE(tok->vocab().warnings.empty());
    EXPECT_EQ(check_golden(*tok, golden, "llama3"), 63u);
}

TEST(TokenizerBpe, Qwen3Golden) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/qwen3/qwen3-vocab.gguf");
    HEARTH_SHARED_OR_SKIP(golden, "tokenizers/qwen3/golden.jsonl");
    auto tok = load(vocab);
    EXPECT_EQ(tok->n_vocab(), 151669);
    const auto& bpe = dynamic_cast<const BpeTokenizer&>(*tok);
    EXPECT_EQ(bpe.pre_tokenizer(), "qwen2");
    EXPECT_FALSE(bpe.ignore_merges());
    EXPECT_EQ(check_golden(*tok, golden, "qwen3"), 63u);
}

TEST(TokenizerBpe, Gpt2Golden) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/ggml-vocab/ggml-vocab-gpt-2.gguf");
    HEARTH_SHARED_OR_SKIP(golden, "tokenizers/gpt2/golden.jsonl");
    auto tok = load(vocab);
    EXPECT_EQ(tok->n_vocab(), 50257);
    EXPECT_EQ(dynamic_cast<const BpeTokenizer&>(*tok).pre_tokenizer(), "gpt-2");
    EXPECT_EQ(check_golden(*tok, golden, "gpt2"), 63u);
}

// llama.cpp's pairs for the BPE vocabularies present as GGUF.
class TokenizerBpeLlamaCppPairs : public ::testing::TestWithParam<const char*> {};

TEST_P(TokenizerBpeLlamaCppPairs, Match) {
    const std::string name = GetParam();
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/ggml-vocab/ggml-vocab-" + name + ".gguf");
    auto tok = load(vocab);
    EXPECT_EQ(tok->kind(), "gpt2");
    EXPECT_TRUE(tok->vocab().warnings.empty()) << tok->vocab().warnings.front();
    check_pairs(*tok, vocab, "ggml-vocab-" + name + ".gguf");
}

INSTANTIATE_TEST_SUITE_P(TokenizerBpe, TokenizerBpeLlamaCppPairs,
                         ::testing::Values("gpt-2", "deepseek-coder", "deepseek-llm", "falcon",
                                           "mpt", "refact", "starcoder"),
                         [](const auto& info) {
                             std::string s = info.param;
                             for (char& c : s)
                                 if (c == '-') c = '_';
                             return s;
                         });

// The .out files of vocabularies too large for the snapshot, run against the same tokenizers
// rebuilt from tokenizer.json (llama-bpe = Llama 3, qwen2 and deepseek-r1-qwen = Qwen).
TEST(TokenizerBpe, LlamaCppPairsLlamaBpe) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/llama3/llama3-vocab.gguf");
    HEARTH_SHARED_OR_SKIP(pairs, "tokenizers/ggml-vocab/ggml-vocab-llama-bpe.gguf.out");
    auto tok = load(vocab);
    check_pairs(*tok, pairs.substr(0, pairs.size() - 4),
                "ggml-vocab-llama-bpe.gguf (llama3-vocab.gguf)");
}

TEST(TokenizerBpe, LlamaCppPairsQwen2) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/qwen3/qwen3-vocab.gguf");
    auto tok = load(vocab);
    for (const char* name : {"qwen2", "deepseek-r1-qwen"}) {
        const std::string pairs = test::shared_path(
            std::string("tokenizers/ggml-vocab/ggml-vocab-") + name + ".gguf.out");
        if (pairs.empty()) continue;
        check_pairs(*tok, pairs.substr(0, pairs.size() - 4),
                    std::string("ggml-vocab-") + name + ".gguf (qwen3-vocab.gguf)");
    }
}

// ---------------------------------------------------------------------------------------------
// Behaviour.

TEST(TokenizerBpe, SpecialTokensParsedOnlyOnRequest) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/llama3/llama3-vocab.gguf");
    auto tok = load(vocab);
    const Vocabulary& v = tok->vocab();
    const TokenId bot = v.find("<|begin_of_text|>"), eot = v.find("<|eot_id|>"),
                  header = v.find("<|start_header_id|>");
    ASSERT_EQ(bot, 128000);
    ASSERT_EQ(eot, 128009);
    EXPECT_EQ(tok->bos(), bot);
    EXPECT_TRUE(v.add_bos);
    EXPECT_TRUE(tok->is_end_of_generation(eot));

    const std::string text = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
    const auto parsed = tok->encode(text, /*add_special=*/true, /*parse_special=*/true);
    ASSERT_GE(parsed.size(), 5u);
    EXPECT_EQ(parsed[0], bot);
    EXPECT_EQ(parsed[1], header);
    EXPECT_EQ(parsed.back(), eot);
    EXPECT_EQ(tok->decode(parsed, /*render_special=*/true), "<|begin_of_text|>" + text);
    EXPECT_EQ(tok->decode(parsed), "user\n\nHi");

    // Not parsed: plain text, no control ids, and the bytes come back.
    const auto plain = tok->encode(text, false, false);
    for (TokenId id : plain) EXPECT_LT(id, 128000) << ids_string(plain);
    EXPECT_EQ(tok->decode(plain), text);
    EXPECT_EQ(tok->encode("", true), std::vector<TokenId>{bot});
    EXPECT_TRUE(tok->encode("", false).empty());
}

TEST(TokenizerBpe, QwenSpecialTokens) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/qwen3/qwen3-vocab.gguf");
    auto tok = load(vocab);
    const Vocabulary& v = tok->vocab();
    EXPECT_FALSE(v.add_bos);
    const TokenId start = v.find("<|im_start|>"), end = v.find("<|im_end|>");
    ASSERT_EQ(start, 151644);
    ASSERT_EQ(end, 151645);
    const auto ids = tok->encode("<|im_start|>user\nHello<|im_end|>\n", true, true);
    ASSERT_GE(ids.size(), 4u);
    EXPECT_EQ(ids.front(), start);
    EXPECT_EQ(ids[ids.size() - 2], end);
    EXPECT_EQ(tok->decode(ids), "user\nHello\n");
    EXPECT_TRUE(tok->is_end_of_generation(end));
}

TEST(TokenizerBpe, TokenToPieceDecodesByteLevel) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/ggml-vocab/ggml-vocab-gpt-2.gguf");
    auto tok = load(vocab);
    const Vocabulary& v = tok->vocab();
    EXPECT_EQ(tok->token_to_piece(v.find("\xC4\xA0the")), " the");  // Ġthe
    EXPECT_EQ(tok->token_to_piece(v.find("\xC4\x8A")), "\n");       // Ċ
    EXPECT_EQ(tok->token_to_piece(v.find("\xC3\xA9")), "\xE9");     // é stands for byte 0xE9
    EXPECT_EQ(tok->token_to_piece(50256), "");                      // <|endoftext|> (control)
    EXPECT_EQ(tok->token_to_piece(50256, true), "<|endoftext|>");
    EXPECT_THROW(tok->token_to_piece(50257), Error);
}

TEST(TokenizerBpe, ByteLevelMapping) {
    EXPECT_EQ(BpeTokenizer::byte_to_char('A'), uint32_t{'A'});
    EXPECT_EQ(BpeTokenizer::byte_to_char(' '), 0x120u);   // Ġ
    EXPECT_EQ(BpeTokenizer::byte_to_char('\n'), 0x10Au);  // Ċ
    EXPECT_EQ(BpeTokenizer::byte_to_char(0x00), 0x100u);
    EXPECT_EQ(BpeTokenizer::byte_to_char(0xAD), 0x143u);  // the soft hyphen is the 68th
    for (int b = 0; b < 256; ++b)
        EXPECT_EQ(BpeTokenizer::char_to_byte(BpeTokenizer::byte_to_char(static_cast<uint8_t>(b))),
                  b);
    EXPECT_EQ(BpeTokenizer::char_to_byte(0x144), -1);
    EXPECT_EQ(BpeTokenizer::char_to_byte(0x4E00), -1);
}

// Any bytes come back from decode(encode()) (NFC-normalized for Qwen) when the vocabulary has a
// token for every byte character. (Falcon lacks several, e.g. 0x0B; MPT, StarCoder, Refact and
// DeepSeek lack some of 0xC0, 0xC1, 0xF1..0xFF; DeepSeek has user-defined tokens with the same
// text instead. A byte without a token is dropped, as llama.cpp and Hugging Face do.)
TEST(TokenizerBpe, RoundTripsArbitraryBytes) {
    const char* files[] = {"tokenizers/ggml-vocab/ggml-vocab-gpt-2.gguf",
                           "tokenizers/llama3/llama3-vocab.gguf",
                           "tokenizers/qwen3/qwen3-vocab.gguf"};
    int loaded = 0;
    for (const char* rel : files) {
        const std::string path = test::shared_path(rel);
        if (path.empty()) continue;
        auto tok = load(path);
        const bool nfc = dynamic_cast<const BpeTokenizer&>(*tok).pre_tokenizer() == "qwen2";
        auto expected = [&](const std::string& t) { return nfc ? unicode::nfc(t) : t; };
        std::mt19937 rng(42);
        for (int round = 0; round < 200; ++round) {
            std::string t(rng() % 48, '\0');
            for (char& c : t) c = static_cast<char>(rng() % 256);
            ASSERT_EQ(tok->decode(tok->encode(t, false)), expected(t)) << rel;
        }
        const std::string text = "caf\xC3\xA9 \xE2\x9C\x85 \xF0\x9F\xA6\x99.cpp\r\n\t \xFF\xFE\x80";
        EXPECT_EQ(tok->decode(tok->encode(text, false)), text) << rel;
        for (int b = 0; b < 256; ++b) {
            std::string ch;
            unicode::append_utf8(ch, BpeTokenizer::byte_to_char(static_cast<uint8_t>(b)));
            EXPECT_NE(tok->vocab().find(ch), kNoToken) << rel << " byte " << b;
        }
        ++loaded;
    }
    if (loaded == 0) GTEST_SKIP() << "no BPE vocabularies in ../shared";
}

TEST(TokenizerBpe, QwenNormalizesToNfc) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/qwen3/qwen3-vocab.gguf");
    auto tok = load(vocab);
    // A decomposed é tokenizes as the precomposed one.
    EXPECT_EQ(tok->encode("cafe\xCC\x81", false), tok->encode("caf\xC3\xA9", false));
    // Llama 3 has no normalizer: the two differ there.
    const std::string llama = test::shared_path("tokenizers/llama3/llama3-vocab.gguf");
    if (!llama.empty()) {
        auto l3 = load(llama);
        EXPECT_NE(l3->encode("cafe\xCC\x81", false), l3->encode("caf\xC3\xA9", false));
    }
}

TEST(TokenizerBpe, IgnoreMergesEmitsWholeWords) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/llama3/llama3-vocab.gguf");
    auto tok = load(vocab);
    // Every normal Llama 3 token that is a whole pre-token on its own encodes to itself; some
    // of them would not come out of the merges (found below), which is what ignore_merges is for.
    const Vocabulary& v = tok->vocab();
    PreTokenizer pre(find_pre_tokenizer("llama-bpe")->patterns);
    int checked = 0;
    for (TokenId id = 0; id < 128000; id += 7) {
        if (v.types[id] != TokenType::Normal) continue;
        const std::string text(tok->token_to_piece(id));
        if (pre.split(text).size() != 1) continue;
        ASSERT_EQ(tok->encode(text, false), std::vector<TokenId>{id}) << printable(text);
        ++checked;
    }
    EXPECT_GT(checked, 10000);

    // " việc" is a token, but merging its bytes gives three: the same vocabulary with the
    // Llama 3 patterns and no ignore_merges ("dbrx") shows it (588 such words in Llama 3).
    const std::string viec =
        " vi\xE1\xBB\x87"
        "c";
    EXPECT_EQ(tok->encode(viec, false), std::vector<TokenId>{100769});
    auto file = gguf::File::open(vocab);
    Vocabulary merged = Vocabulary::from_gguf(*file);
    merged.pre = "dbrx";
    auto plain = make_tokenizer(std::move(merged));
    EXPECT_EQ(plain->encode(viec, false), (std::vector<TokenId>{3355, 26298, 66}));
}

TEST(TokenizerBpe, MissingOrUnknownPreTokenizerWarnsAndFallsBack) {
    HEARTH_SHARED_OR_SKIP(neox, "tokenizers/ggml-vocab/ggml-vocab-gpt-neox.gguf");
    {
        auto tok = load(neox);  // this file has no tokenizer.ggml.pre
        EXPECT_EQ(dynamic_cast<const BpeTokenizer&>(*tok).pre_tokenizer(), "default");
        ASSERT_EQ(tok->vocab().warnings.size(), 1u);
        EXPECT_NE(tok->vocab().warnings[0].find("no tokenizer.ggml.pre"), std::string::npos);
        const std::string text = "Hello world, 12345!";
        EXPECT_EQ(tok->decode(tok->encode(text, false)), text);
    }
    {
        auto file = gguf::File::open(neox);
        Vocabulary v = Vocabulary::from_gguf(*file);
        v.pre = "no-such-tokenizer";
        auto tok = make_tokenizer(std::move(v));
        ASSERT_EQ(tok->vocab().warnings.size(), 1u);
        EXPECT_NE(tok->vocab().warnings[0].find("unknown tokenizer.ggml.pre 'no-such-tokenizer'"),
                  std::string::npos);
        EXPECT_NE(tok->vocab().warnings[0].find("llama-bpe"), std::string::npos);
    }
}

TEST(TokenizerBpe, MpmAndNeoxAgreeWhereTheirPatternsDo) {
    // mpt and gpt-neox share tokens and merges; mpt uses the GPT-2 patterns.
    HEARTH_SHARED_OR_SKIP(mpt, "tokenizers/ggml-vocab/ggml-vocab-mpt.gguf");
    HEARTH_SHARED_OR_SKIP(neox, "tokenizers/ggml-vocab/ggml-vocab-gpt-neox.gguf");
    auto a = load(mpt);
    auto b = load(neox);
    EXPECT_EQ(a->encode("Hello world and more words", false),
              b->encode("Hello world and more words", false));
}

TEST(TokenizerBpe, MissingMergesIsAnError) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/ggml-vocab/ggml-vocab-gpt-2.gguf");
    auto file = gguf::File::open(vocab);
    Vocabulary v = Vocabulary::from_gguf(*file);
    v.merges.clear();
    try {
        make_tokenizer(std::move(v));
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.merges"), std::string::npos)
            << e.what();
    }
}

TEST(TokenizerBpe, EncodesTenKilobytesInMilliseconds) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/llama3/llama3-vocab.gguf");
    HEARTH_SHARED_OR_SKIP(golden, "tokenizers/llama3/golden.jsonl");
    const std::string qwen = test::shared_path("tokenizers/qwen3/qwen3-vocab.gguf");
    std::string text;
    std::istringstream in(test::read_file(golden));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(nlohmann::json::parse(line).at("text"));
    for (size_t i = 0; text.size() < 10 * 1024; ++i) text += lines[i % lines.size()] + " ";
    const std::string run(10 * 1024, 'a');     // one 10 K-letter word
    const std::string spaces(10 * 1024, ' ');  // one 10 K whitespace run
    for (const std::string& path : {vocab, qwen}) {
        if (path.empty()) continue;
        auto tok = load(path);
        tok->encode("warm up", false);
        for (const std::string* t : std::vector<const std::string*>{&text, &run, &spaces}) {
            const auto t0 = std::chrono::steady_clock::now();
            const auto ids = tok->encode(*t, false);
            const auto t1 = std::chrono::steady_clock::now();
            const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
            std::cout << "[          ] " << path.substr(path.rfind('/') + 1) << ": encode "
                      << t->size() << " bytes -> " << ids.size() << " tokens in " << ms << " ms\n";
            const bool nfc = dynamic_cast<const BpeTokenizer&>(*tok).pre_tokenizer() == "qwen2";
            EXPECT_EQ(tok->decode(ids),
                      nfc ? unicode::nfc(*t) : *t);  // the text has a decomposed é
            EXPECT_LT(ms, 500.0);  // generous for sanitizer/debug builds; Release takes a few ms
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The pre-tokenizer matcher.

std::vector<std::string> split_with(std::vector<std::string_view> patterns, std::string_view text) {
    PreTokenizer pre(patterns);
    std::vector<std::string> out;
    for (std::string_view w : pre.split(text)) out.emplace_back(w);
    return out;
}

using Words = std::vector<std::string>;

TEST(TokenizerBpePreTokenizer, Gpt2Pattern) {
    const auto& gpt2 = find_pre_tokenizer("gpt-2")->patterns;
    EXPECT_EQ(split_with(gpt2, "Hello world"), (Words{"Hello", " world"}));
    EXPECT_EQ(split_with(gpt2, "I'm  here!!\n"), (Words{"I", "'m", " ", " here", "!!", "\n"}));
    EXPECT_EQ(split_with(gpt2, "   a"), (Words{"  ", " a"}));
    EXPECT_EQ(split_with(gpt2, "x\t\ty  "), (Words{"x", "\t", "\t", "y", "  "}));
    EXPECT_EQ(split_with(gpt2, "abc123 4.5"), (Words{"abc", "123", " 4", ".", "5"}));
}

TEST(TokenizerBpePreTokenizer, Llama3AndQwen2Patterns) {
    const auto& llama3 = find_pre_tokenizer("llama-bpe")->patterns;
    const auto& qwen2 = find_pre_tokenizer("qwen2")->patterns;
    EXPECT_EQ(split_with(llama3, "I'LL pay 12345"), (Words{"I", "'LL", " pay", " ", "123", "45"}));
    EXPECT_EQ(split_with(qwen2, "12345"), (Words{"1", "2", "3", "4", "5"}));
    EXPECT_EQ(split_with(llama3, "a\n\n  b"), (Words{"a", "\n\n", " ", " b"}));
    EXPECT_EQ(split_with(llama3, "x  \n\ny"), (Words{"x", "  \n\n", "y"}));
    EXPECT_EQ(split_with(llama3, "!!!\n\nfoo"), (Words{"!!!\n\n", "foo"}));
    EXPECT_EQ(split_with(llama3, "\xC2\xBFQu\xC3\xA9?"), (Words{"\xC2\xBFQu\xC3\xA9", "?"}));
    // Case-insensitive contractions, including the long s (U+017F) that folds to s.
    EXPECT_EQ(split_with(llama3, "it'S"), (Words{"it", "'S"}));
    EXPECT_EQ(split_with(llama3, "it'\xC5\xBF"), (Words{"it", "'\xC5\xBF"}));
}

TEST(TokenizerBpePreTokenizer, SequencesOfPatterns) {
    // StarCoder: digits one at a time first, then GPT-2's pattern inside each piece.
    const auto& starcoder = find_pre_tokenizer("starcoder")->patterns;
    EXPECT_EQ(split_with(starcoder, "x 123"), (Words{"x", " ", "1", "2", "3"}));
    const auto& falcon = find_pre_tokenizer("falcon")->patterns;
    EXPECT_EQ(split_with(falcon, "a+b 1234567"), (Words{"a", "+", "b", " ", "123", "456", "7"}));
}

TEST(TokenizerBpePreTokenizer, InvalidUtf8StaysIntact) {
    const auto& gpt2 = find_pre_tokenizer("gpt-2")->patterns;
    EXPECT_EQ(split_with(gpt2, "ab\xFF\xFE cd"), (Words{"ab", "\xFF\xFE", " cd"}));
    EXPECT_EQ(split_with(gpt2, "\xE4\xBD"), (Words{"\xE4\xBD"}));
}

TEST(TokenizerBpePreTokenizer, RegexFeatures) {
    EXPECT_EQ(split_with({"[0-9]{2,3}"}, "1234567"), (Words{"123", "456", "7"}));
    EXPECT_EQ(split_with({"a+?b"}, "aab"), (Words{"aab"}));
    EXPECT_EQ(split_with({"\\s+$"}, "a  b  "), (Words{"a  b", "  "}));
    EXPECT_EQ(split_with({"(?=b)a|a"}, "ab"), (Words{"a", "b"}));
    EXPECT_EQ(split_with({"\\p{Lu}\\p{Ll}+"}, "xHello"), (Words{"x", "Hello"}));
    EXPECT_EQ(split_with({"[^\\P{L}a]+"}, "bca1"), (Words{"bc", "a1"}));
    EXPECT_EQ(split_with({"\\x41|\\u00e9"}, "A\xC3\xA9"), (Words{"A", "\xC3\xA9"}));
    EXPECT_EQ(split_with({"a?+a"}, "aa"), (Words{"aa"}));  // possessive: gives nothing back
    EXPECT_EQ(split_with({"(?>a+)b|a"}, "aab"), (Words{"aab"}));
    EXPECT_EQ(split_with({"[\\]\\-]+"}, "x]-y"), (Words{"x", "]-", "y"}));
}

// split() prunes explored states on long pieces; it must find exactly the matches that plain
// backtracking (match_at) finds, for every known pattern.
TEST(TokenizerBpePreTokenizer, PrunedSearchAgreesWithPlainBacktracking) {
    const std::vector<std::string> alphabet = {
        " ", " ", "\n", "\r",       "\t",           "a",        "B",        "z",    "1", "7", "'",
        "s", "!", ".",  "\xC3\xA9", "\xE4\xBD\xA0", "\xC2\xA0", "\xCC\x81", "\xFF", "_", "$", "/"};
    std::mt19937 rng(7);
    for (std::string_view name : known_pre_tokenizers()) {
        for (std::string_view pattern : find_pre_tokenizer(name)->patterns) {
            const PreTokenizerRegex re(pattern);
            for (int round = 0; round < 6; ++round) {
                std::string text;
                const size_t n = 64 + rng() % 200;
                for (size_t i = 0; i < n; ++i) {
                    // Runs of one character now and then, where backtracking is busiest.
                    const std::string& piece = alphabet[rng() % alphabet.size()];
                    const size_t repeat = rng() % 8 == 0 ? 1 + rng() % 30 : 1;
                    for (size_t k = 0; k < repeat; ++k) text += piece;
                }
                PreTokenizerRegex::Text t;
                t.assign(unicode::decode(text));
                const PreTokenizerRegex::Span all{0, static_cast<uint32_t>(t.cps.size())};
                std::vector<PreTokenizerRegex::Span> pruned, plain;
                re.split(t, all, pruned);
                uint32_t pos = 0, gap = 0;
                while (pos < all.end) {
                    const int64_t end = re.match_at(t, all, pos);
                    if (end < 0) {
                        ++pos;
                        continue;
                    }
                    if (gap < pos) plain.push_back({gap, pos});
                    plain.push_back({pos, static_cast<uint32_t>(end)});
                    pos = gap = static_cast<uint32_t>(end);
                }
                if (gap < all.end) plain.push_back({gap, all.end});
                ASSERT_EQ(pruned.size(), plain.size()) << name << ": " << pattern;
                for (size_t i = 0; i < plain.size(); ++i) {
                    ASSERT_EQ(pruned[i].begin, plain[i].begin) << name << ": " << pattern;
                    ASSERT_EQ(pruned[i].end, plain[i].end) << name << ": " << pattern;
                }
            }
        }
    }
}

// Long runs stay linear: DeepSeek LLM's `\s+$` on 20 K spaces before a digit would take
// quadratic time with plain backtracking (so it does in llama.cpp's std::regex).
TEST(TokenizerBpePreTokenizer, LongRunsStayFast) {
    const std::string spaces_then_digit = std::string(20000, ' ') + "5";
    std::string nbsp;
    for (int i = 0; i < 10000; ++i) nbsp += "\xC2\xA0";
    for (const char* name : {"deepseek-llm", "llama-bpe", "qwen2", "gpt-2", "deepseek-coder",
                             "falcon", "tekken", "gpt-4o"}) {
        PreTokenizer pre(find_pre_tokenizer(name)->patterns);
        for (const std::string* text : std::vector<const std::string*>{&spaces_then_digit, &nbsp}) {
            const auto t0 = std::chrono::steady_clock::now();
            const auto words = pre.split(*text);
            const double ms =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                    .count();
            std::string joined;
            for (std::string_view w : words) joined += w;
            EXPECT_EQ(joined, *text) << name;
            EXPECT_LT(ms, 300.0) << name;
        }
    }
}

TEST(TokenizerBpePreTokenizer, SyntaxErrorsAreReported) {
    for (const char* bad : {"(abc", "abc)", "[abc", "a{3,2}", "*a", "\\p{Xx}", "(?<=a)b", "(a*)*",
                            "\\q", "\\p{Han}"}) {
        try {
            PreTokenizerRegex re(bad);
            ADD_FAILURE() << "no error for " << bad;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("pre-tokenizer pattern"), std::string::npos)
                << e.what();
        }
    }
}

TEST(TokenizerBpePreTokenizer, EveryKnownSpecCompiles) {
    const auto names = known_pre_tokenizers();
    EXPECT_GE(names.size(), 50u);
    for (std::string_view name : names) {
        const PreTokenizerSpec* spec = find_pre_tokenizer(name);
        ASSERT_NE(spec, nullptr) << name;
        PreTokenizer pre(spec->patterns);
        const std::string text = "Hello, y'all! 1234 \xE4\xBD\xA0\xE5\xA5\xBD \n\n\t x";
        std::string joined;
        for (std::string_view w : pre.split(text)) joined += w;
        EXPECT_EQ(joined, text) << name;
    }
    EXPECT_EQ(find_pre_tokenizer("nope"), nullptr);
}

// ---------------------------------------------------------------------------------------------
// Unicode data and NFC.

TEST(TokenizerBpeUnicode, Categories) {
    using unicode::Category;
    EXPECT_EQ(unicode::category('a'), Category::Ll);
    EXPECT_EQ(unicode::category('A'), Category::Lu);
    EXPECT_EQ(unicode::category('5'), Category::Nd);
    EXPECT_EQ(unicode::category(0x00BD), Category::No);  // ½
    EXPECT_EQ(unicode::category(0x4E00), Category::Lo);  // 一
    EXPECT_EQ(unicode::category(0x0301), Category::Mn);
    EXPECT_EQ(unicode::category(0x200D), Category::Cf);   // ZWJ
    EXPECT_EQ(unicode::category(0x1F999), Category::So);  // 🦙
    EXPECT_EQ(unicode::category(0x10400), Category::Lu);  // Deseret
    EXPECT_EQ(unicode::category(0x10FFFF), Category::Cn);
    EXPECT_EQ(unicode::category(unicode::kInvalidBase + 0xFF), Category::Cn);
    EXPECT_TRUE(unicode::is_white_space(0xA0));
    EXPECT_TRUE(unicode::is_white_space(0x3000));
    EXPECT_FALSE(unicode::is_white_space(0x200B));  // zero-width space is not White_Space
    EXPECT_EQ(unicode::combining_class(0x0301), 230);
    EXPECT_EQ(unicode::combining_class(0x0323), 220);
}

TEST(TokenizerBpeUnicode, Nfc) {
    // Expected values from Python's unicodedata.normalize("NFC", …).
    const std::pair<const char*, const char*> cases[] = {
        {"e\xCC\x81", "\xC3\xA9"},                      // e + acute → é
        {"caf\xC3\xA9", "caf\xC3\xA9"},                 // already NFC
        {"a\xCC\x81\xCC\xA3", "\xE1\xBA\xA1\xCC\x81"},  // a + acute + dot below → ạ + acute
        {"\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", "\xEA\xB0\x81"},  // Hangul jamo → 각
        {"\xE2\x84\xAB", "\xC3\x85"},                  // Angstrom sign → Å (singleton)
        {"\xE0\xA5\x98", "\xE0\xA4\x95\xE0\xA4\xBC"},  // क़ is excluded from composition
        {"\xCC\x81"
         "a",
         "\xCC\x81"
         "a"},                              // leading combining mark
        {"A\xCC\x8A\xCC\x81", "\xC7\xBA"},  // A + ring + acute → Ǻ
        {"\xF0\x9F\xA6\x99 e\xCC\x81\xFF", "\xF0\x9F\xA6\x99 \xC3\xA9\xFF"},  // invalid byte kept
    };
    for (const auto& [in, want] : cases) {
        EXPECT_EQ(unicode::nfc(in), want) << printable(in);
        EXPECT_EQ(unicode::nfc(want), want) << printable(want);
    }
    EXPECT_TRUE(unicode::is_nfc_quick("plain ASCII and caf\xC3\xA9"));
    EXPECT_FALSE(unicode::is_nfc_quick("e\xCC\x81"));
}

}  // namespace
}  // namespace hearth
