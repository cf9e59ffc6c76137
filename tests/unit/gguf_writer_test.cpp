// The GGUF writer: the exact bytes it lays down, alignment, the atomic write, and refusing
// anything the reader would refuse. (Round trips of every value type are in gguf_reader_test.)
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"
#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "test_support.h"

namespace hearth::gguf {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ8_0 = 8;

template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected a hearth::Error";
    return "";
}

::testing::AssertionResult contains(const std::string& message, const std::string& what) {
    if (message.find(what) == std::string::npos)
        return ::testing::AssertionFailure() << "message lacks '" << what << "': " << message;
    return ::testing::AssertionSuccess();
}

#define EXPECT_ERROR(statement, what) EXPECT_TRUE(contains(error_of([&] { statement; }), what))

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

std::vector<std::string> files_in(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    return names;
}

TEST(GgufWriter, LaysDownTheExactBytes) {
    Writer w;
    w.set("a", make::u32(7));
    w.set("s", make::strings({"xy"}));
    w.add_tensor("t", kF32, {2}, std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8});

    std::vector<uint8_t> want;
    auto u32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) want.push_back(static_cast<uint8_t>(v >> (8 * i))); };
    auto u64 = [&](uint64_t v) { for (int i = 0; i < 8; ++i) want.push_back(static_cast<uint8_t>(v >> (8 * i))); };
    auto str = [&](const std::string& s) { u64(s.size()); want.insert(want.end(), s.begin(), s.end()); };
    for (char c : std::string("GGUF")) want.push_back(static_cast<uint8_t>(c));
    u32(3);              // version
    u64(1);              // tensors
    u64(2);              // metadata entries
    str("a"); u32(4); u32(7);                    // a: u32 7
    str("s"); u32(9); u32(8); u64(1); str("xy");  // s: array of 1 string
    str("t"); u32(1); u64(2); u32(0); u64(0);    // t: 1 dim [2], F32, offset 0
    ASSERT_EQ(want.size(), 109u);
    want.resize(128, 0);  // pad to 32
    for (uint8_t b = 1; b <= 8; ++b) want.push_back(b);
    want.resize(160, 0);  // the last tensor is padded too, as ggml does

    EXPECT_EQ(w.to_bytes(), want);
}

TEST(GgufWriter, EmptyWriterMakesALoadableFile) {
    const auto bytes = Writer().to_bytes();
    EXPECT_EQ(bytes.size(), 32u);  // 24 header bytes, padded
    auto f = File::parse("empty", bytes.data(), bytes.size());
    EXPECT_TRUE(f->metadata().empty());
    EXPECT_TRUE(f->tensors().empty());
}

TEST(GgufWriter, WritesVersion2OnRequest) {
    Writer w(2);
    w.set("general.architecture", make::string("llama"));
    const auto bytes = w.to_bytes();
    EXPECT_EQ(bytes[4], 2);
    EXPECT_EQ(File::parse("v2", bytes.data(), bytes.size())->version(), 2u);
}

TEST(GgufWriter, HonoursGeneralAlignment) {
    for (uint32_t align : {1u, 8u, 64u, 4096u}) {
        SCOPED_TRACE("alignment " + std::to_string(align));
        Writer w;
        w.set("general.alignment", make::u32(align));
        w.add_tensor("a", kF16, {5}, std::vector<uint8_t>(10, 1));
        w.add_tensor("b", kQ8_0, {32, 3}, std::vector<uint8_t>(3 * 34, 2));
        w.add_tensor("c", kF32, {1}, std::vector<uint8_t>(4, 3));
        const auto bytes = w.to_bytes();
        EXPECT_EQ(bytes.size() % align, 0u);
        auto f = File::parse("aligned", bytes.data(), bytes.size());
        EXPECT_EQ(f->alignment(), align);
        EXPECT_EQ(f->data_offset() % align, 0u);
        const auto& t = f->tensors();
        ASSERT_EQ(t.size(), 3u);
        auto pad = [&](size_t n) { return (n + align - 1) / align * align; };
        EXPECT_EQ(t[0].offset, 0u);
        EXPECT_EQ(t[1].offset, pad(10));
        EXPECT_EQ(t[2].offset, pad(10) + pad(102));
        EXPECT_EQ(t[2].data[0], 3);
        EXPECT_EQ(f->data_offset() + t[2].offset + pad(4), bytes.size());
    }
}

TEST(GgufWriter, SetReplacesAValueInPlace) {
    Writer w;
    w.set("a", make::u32(1));
    w.set("b", make::string("x"));
    w.set("a", make::string("replaced"));
    const auto bytes = w.to_bytes();
    auto f = File::parse("set", bytes.data(), bytes.size());
    ASSERT_EQ(f->metadata().size(), 2u);
    EXPECT_EQ(f->metadata()[0].key, "a");
    EXPECT_EQ(f->require_string("a"), "replaced");
    EXPECT_EQ(w.find("b")->str, "x");
    EXPECT_EQ(w.find("c"), nullptr);
}

TEST(GgufWriter, FillProducesTensorBytesAtWriteTime) {
    Writer w;
    size_t asked = 0;
    w.add_tensor("q", kQ4_0, {64, 2}, [&](uint8_t* dst, size_t n) {
        asked = n;
        for (size_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(i);
    });
    EXPECT_EQ(w.n_tensors(), 1u);
    const auto bytes = w.to_bytes();
    EXPECT_EQ(asked, 4u * 18);
    auto f = File::parse("fill", bytes.data(), bytes.size());
    const TensorInfo& t = f->tensors().at(0);
    ASSERT_EQ(t.n_bytes, 72u);
    for (size_t i = 0; i < t.n_bytes; ++i) ASSERT_EQ(t.data[i], i);
}

TEST(GgufWriter, WriteRenamesACompleteFileIntoPlace) {
    const fs::path dir = test::temp_dir();
    const std::string path = (dir / "model.gguf").string();
    Writer w;
    w.set("general.architecture", make::string("llama"));
    w.add_tensor("w", kF32, {8}, std::vector<uint8_t>(32, 7));
    w.write(path);
    EXPECT_EQ(bytes_of(test::read_file(path)), w.to_bytes());
    EXPECT_EQ(files_in(dir), std::vector<std::string>{"model.gguf"});  // no temporary left
    EXPECT_EQ(File::open(path)->require_string("general.architecture"), "llama");

    // Writing again replaces the file.
    Writer v(2);
    v.set("general.architecture", make::string("qwen3"));
    v.write(path);
    EXPECT_EQ(File::open(path)->require_string("general.architecture"), "qwen3");
    EXPECT_EQ(files_in(dir), std::vector<std::string>{"model.gguf"});
    fs::remove_all(dir);
}

TEST(GgufWriter, AFailedWriteLeavesTheOldFileAndNoTemporary) {
    const fs::path dir = test::temp_dir();
    const std::string path = (dir / "model.gguf").string();
    std::ofstream(path) << "old contents";
    Writer w;
    w.add_tensor("ok", kF32, {8}, std::vector<uint8_t>(32, 1));
    w.add_tensor("bad", kF32, {8}, [](uint8_t*, size_t) { fail("quantizer: out of memory"); });
    EXPECT_ERROR(w.write(path), "quantizer: out of memory");
    EXPECT_EQ(test::read_file(path), "old contents");
    EXPECT_EQ(files_in(dir), std::vector<std::string>{"model.gguf"});

    fs::remove(path);
    EXPECT_ERROR(w.write(path), "quantizer: out of memory");
    EXPECT_TRUE(files_in(dir).empty());
    fs::remove_all(dir);
}

TEST(GgufWriter, WriteIntoAMissingDirectoryNamesThePath) {
    const fs::path dir = test::temp_dir();
    const std::string path = (dir / "no" / "such" / "model.gguf").string();
    const std::string message = error_of([&] { Writer().write(path); });
    EXPECT_EQ(message.rfind(path + ": cannot create ", 0), 0u) << message;
    EXPECT_TRUE(contains(message, "No such file or directory"));
    fs::remove_all(dir);
}

TEST(GgufWriter, RefusesWhatTheReaderWouldRefuse) {
    EXPECT_ERROR(Writer(1), "cannot write GGUF version 1 (supported: 2, 3)");
    EXPECT_ERROR(Writer(4), "cannot write GGUF version 4");

    Writer w;
    EXPECT_ERROR(w.set("general.alignment", make::i32(32)), "general.alignment must be a u32 power of two");
    EXPECT_ERROR(w.set("general.alignment", make::u32(0)), "general.alignment must be a u32 power of two");
    EXPECT_ERROR(w.set("general.alignment", make::u32(48)), "general.alignment must be a u32 power of two");
    EXPECT_ERROR(w.set("general.alignment", make::u32(1u << 21)), "general.alignment must be a u32 power of two");

    Value too_big = make::u8(0);
    too_big.bits = 300;
    EXPECT_ERROR(w.set("k", too_big), "metadata 'k': value 300 does not fit u8");
    Value negative = make::i8(-128);
    negative.bits = static_cast<uint64_t>(-129);
    EXPECT_ERROR(w.set("k", negative), "does not fit i8");
    Value two = make::boolean(true);
    two.bits = 2;
    EXPECT_ERROR(w.set("k", two), "metadata 'k': value 2 does not fit bool");
    EXPECT_ERROR(w.set("k", make::array(ValueType::U32, {make::u32(1), make::i32(2)})),
                 "metadata 'k': i32 element in an array of u32");
    Value deep = make::array(ValueType::U8, {});
    for (int i = 0; i < 8; ++i) deep = make::array(ValueType::ARRAY, {deep});
    EXPECT_ERROR(w.set("k", deep), "metadata 'k': arrays nested deeper than 8");
    Value unknown = make::u8(0);
    unknown.type = static_cast<ValueType>(13);
    EXPECT_ERROR(w.set("k", unknown), "metadata 'k': unknown value type 13");
    EXPECT_EQ(w.find("k"), nullptr);  // nothing refused was kept

    const std::vector<uint8_t> f32x8(32, 0);
    EXPECT_ERROR(w.add_tensor("t", 99, {8}, f32x8), "tensor 't' has unknown type id 99");
    EXPECT_ERROR(w.add_tensor("t", kQ4_0, {40, 2}, std::vector<uint8_t>(90, 0)),
                 "tensor 't' has rows of 40 elements, not a multiple of the Q4_0 block size 32");
    EXPECT_ERROR(w.add_tensor("t", kF32, {8}, std::vector<uint8_t>(31, 0)),
                 "tensor 't' F32 [8] needs 32 bytes, got 31");
    EXPECT_ERROR(w.add_tensor("t", kF32, {}, f32x8), "tensor 't' has 0 dimensions (supported: 1 to 4)");
    EXPECT_ERROR(w.add_tensor("t", kF32, {8, 1, 1, 1, 1}, f32x8), "tensor 't' has 5 dimensions");
    EXPECT_ERROR(w.add_tensor("t", kF32, {-8}, f32x8), "tensor 't' has an out-of-range dimension -8");
    EXPECT_ERROR(w.add_tensor("t", kF32, {int64_t{1} << 41}, f32x8), "out-of-range dimension");
    EXPECT_ERROR(w.add_tensor("", kF32, {8}, f32x8), "tensor name '' must be 1 to 63 bytes long");
    EXPECT_ERROR(w.add_tensor(std::string(64, 'x'), kF32, {8}, f32x8), "must be 1 to 63 bytes long");
    EXPECT_ERROR(w.add_tensor("t", kF32, {8}, Writer::FillFn{}), "tensor 't' has no fill function");
    w.add_tensor(std::string(63, 'x'), kF32, {8}, f32x8);
    w.add_tensor("t", kF32, {8}, f32x8);
    EXPECT_ERROR(w.add_tensor("t", kF32, {8}, f32x8), "tensor name 't' appears twice");
    EXPECT_EQ(w.n_tensors(), 2u);
}

TEST(GgufWriter, CopiesARealModelByteForByte) {
    // Metadata and tensors copied from stories260K (written by llama.cpp's converter) come out
    // as the identical file: the same layout, padding and encoding as ggml's writer.
    HEARTH_SHARED_OR_SKIP(path, "models/stories260K.gguf");
    auto src = File::open(path);
    Writer w(src->version());
    for (const KeyValue& kv : src->metadata()) w.set(kv.key, kv.value);
    for (const TensorInfo& t : src->tensors())
        w.add_tensor(t.name, t.type_id, t.dims,
                     [&t](uint8_t* dst, size_t n) { std::memcpy(dst, t.data, n); });
    EXPECT_TRUE(w.to_bytes() == bytes_of(test::read_file(path)));
}

}  // namespace
}  // namespace hearth::gguf
