// StreamDecoder: generation output comes out as whole UTF-8 characters only.
#include <random>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace hearth {
namespace {

std::unique_ptr<Tokenizer> load(const std::string& path) {
    auto file = gguf::File::open(path);
    return load_tokenizer(*file);
}

TEST(TokenizerStream, EmojiFromFourByteTokens) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/ggml-vocab/ggml-vocab-llama-spm.gguf");
    auto tok = load(vocab);
    // 🦙 U+1F999 = F0 9F A6 99 has no piece of its own in the Llama 2 vocabulary.
    const auto ids = tok->encode("\xF0\x9F\xA6\x99", false);
    ASSERT_EQ(ids.size(), 5u);  // ▁ + four byte tokens
    EXPECT_EQ(ids[1], tok->vocab().find("<0xF0>"));
    StreamDecoder stream(*tok);
    EXPECT_EQ(stream.push(ids[0]), " ");
    EXPECT_EQ(stream.push(ids[1]), "");
    EXPECT_EQ(stream.push(ids[2]), "");
    EXPECT_EQ(stream.push(ids[3]), "");
    EXPECT_TRUE(stream.has_pending());
    EXPECT_EQ(stream.push(ids[4]), "\xF0\x9F\xA6\x99");
    EXPECT_FALSE(stream.has_pending());
    EXPECT_EQ(stream.flush(), "");
}

TEST(TokenizerStream, FlushReturnsIncompleteTail) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/ggml-vocab/ggml-vocab-llama-spm.gguf");
    auto tok = load(vocab);
    const Vocabulary& v = tok->vocab();
    StreamDecoder stream(*tok);
    EXPECT_EQ(stream.push(v.find("<0xE2>")), "");
    EXPECT_EQ(stream.push(v.find("<0x9C>")), "");
    EXPECT_EQ(stream.flush(), "\xE2\x9C");
    EXPECT_FALSE(stream.has_pending());
    // An invalid sequence is passed on at the next character instead of being held forever.
    EXPECT_EQ(stream.push(v.find("<0xE2>")), "");
    EXPECT_EQ(stream.push(v.find("a")), "\xE2" "a");
    // Bytes that can never start a sequence go out at once.
    EXPECT_EQ(stream.push(v.find("<0xFF>")), "\xFF");
    EXPECT_EQ(stream.push(v.find("<0x80>")), "\x80");
    // Control tokens render as nothing unless asked for.
    EXPECT_EQ(stream.push(2), "");
    StreamDecoder special(*tok, /*render_special=*/true);
    EXPECT_EQ(special.push(2), "</s>");
}

TEST(TokenizerStream, NeverSplitsUtf8) {
    HEARTH_SHARED_OR_SKIP(vocab, "tokenizers/ggml-vocab/ggml-vocab-llama-spm.gguf");
    HEARTH_SHARED_OR_SKIP(golden, "tokenizers/llama2/golden.jsonl");
    auto tok = load(vocab);
    std::vector<std::string> texts;
    std::istringstream in(test::read_file(golden));
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) texts.push_back(nlohmann::json::parse(line).at("text"));
    // Random strings of 1- to 4-byte characters too.
    const char* chars[] = {"a", " ", "\n", "\xC3\xA9", "\xD0\x96", "\xE2\x82\xAC", "\xE4\xBD\xA0",
                           "\xF0\x9F\x98\x80", "\xF0\x9F\xA6\x99", "\xF0\x90\x8D\x88", "\xEA\xB0\x80"};
    std::mt19937 rng(7);
    for (int i = 0; i < 300; ++i) {
        std::string t;
        for (int n = rng() % 40; n > 0; --n) t += chars[rng() % std::size(chars)];
        texts.push_back(t);
    }
    for (const auto& text : texts) {
        ASSERT_TRUE(utf8::is_valid(text));
        const auto ids = tok->encode(text, true);
        StreamDecoder stream(*tok);
        std::string joined;
        for (TokenId id : ids) {
            const std::string chunk = stream.push(id);
            EXPECT_TRUE(utf8::is_valid(chunk)) << "split UTF-8 in '" << text << "'";
            joined += chunk;
        }
        EXPECT_EQ(stream.flush(), "");
        EXPECT_EQ(joined, tok->decode(ids));
        EXPECT_EQ(joined, text.empty() ? "" : " " + text);
    }
}

TEST(TokenizerStream, CompletePrefix) {
    EXPECT_EQ(utf8::complete_prefix(""), 0u);
    EXPECT_EQ(utf8::complete_prefix("abc"), 3u);
    EXPECT_EQ(utf8::complete_prefix("a\xC3"), 1u);
    EXPECT_EQ(utf8::complete_prefix("a\xC3\xA9"), 3u);
    EXPECT_EQ(utf8::complete_prefix("a\xF0\x9F\xA6"), 1u);
    EXPECT_EQ(utf8::complete_prefix("a\xF0\x9F\xA6\x99"), 5u);
    EXPECT_EQ(utf8::complete_prefix("\x80\x80\x80\x80"), 4u);
    EXPECT_EQ(utf8::complete_prefix("\xFF"), 1u);
    EXPECT_TRUE(utf8::is_valid("caf\xC3\xA9 \xF0\x9F\xA6\x99"));
    EXPECT_FALSE(utf8::is_valid("\xC3"));
    EXPECT_FALSE(utf8::is_valid("\xC0\x80"));          // overlong
    EXPECT_FALSE(utf8::is_valid("\xED\xA0\x80"));      // surrogate
    EXPECT_FALSE(utf8::is_valid("\xF4\x90\x80\x80"));  // past U+10FFFF
}

}  // namespace
}  // namespace hearth
