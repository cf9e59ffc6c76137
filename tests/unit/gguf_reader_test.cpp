// The GGUF reader: round trips through the writer, and one test per way a file can be wrong,
// each checking the exact kind of one-line error. Malformed files are spelled out byte by byte
// with RawGguf (independent of the writer, which refuses to write them).
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "test_support.h"

namespace hearth::gguf {
namespace {

constexpr uint32_t kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ8_0 = 8, kI8 = 24;
constexpr uint64_t kHuge = uint64_t{1} << 62;
const std::string kLabel = "mem.gguf";

// ---- helpers -----------------------------------------------------------------------------

// A GGUF file spelled out field by field, with nothing checked.
class RawGguf {
public:
    RawGguf(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
        u32(0x46554747).u32(version).u64(n_tensors).u64(n_kv);  // magic "GGUF", version, counts
    }
    RawGguf& u8(uint8_t v) { return put(v); }
    RawGguf& u32(uint32_t v) { return put(v); }
    RawGguf& u64(uint64_t v) { return put(v); }
    RawGguf& str(std::string_view s) {
        u64(s.size());
        bytes.insert(bytes.end(), s.begin(), s.end());
        return *this;
    }
    RawGguf& key(std::string_view k, ValueType t) { return str(k).u32(static_cast<uint32_t>(t)); }
    RawGguf& kv_u32(std::string_view k, uint32_t v) { return key(k, ValueType::U32).u32(v); }
    RawGguf& tensor(std::string_view name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
        str(name).u32(static_cast<uint32_t>(dims.size()));
        for (uint64_t d : dims) u64(d);
        return u32(type).u64(offset);
    }
    RawGguf& zeros(size_t n) {
        bytes.resize(bytes.size() + n, 0);
        return *this;
    }
    RawGguf& pad(size_t alignment) {
        bytes.resize((bytes.size() + alignment - 1) / alignment * alignment, 0);
        return *this;
    }
    std::vector<uint8_t> bytes;

private:
    template <typename T>
    RawGguf& put(T v) {
        const size_t at = bytes.size();
        bytes.resize(at + sizeof(T));
        std::memcpy(bytes.data() + at, &v, sizeof(T));
        return *this;
    }
};

std::unique_ptr<File> parse(const std::vector<uint8_t>& b) { return File::parse(kLabel, b.data(), b.size()); }

// The message of the hearth::Error `f` throws ("" and a failure when it throws nothing).
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

// One line, names the file, and says `what`.
::testing::AssertionResult is_error(const std::string& message, const std::string& file,
                                    const std::string& what) {
    if (message.rfind(file + ": ", 0) != 0)
        return ::testing::AssertionFailure() << "message does not start with '" << file << ": ': " << message;
    if (message.find(what) == std::string::npos)
        return ::testing::AssertionFailure() << "message lacks '" << what << "': " << message;
    if (message.find('\n') != std::string::npos)
        return ::testing::AssertionFailure() << "message is not one line: " << message;
    return ::testing::AssertionSuccess();
}

#define EXPECT_PARSE_ERROR(bytes, what) \
    EXPECT_TRUE(is_error(error_of([&] { parse(bytes); }), kLabel, what))
#define EXPECT_OPEN_ERROR(path, what) \
    EXPECT_TRUE(is_error(error_of([&] { File::open(path); }), path, what))

void expect_same_value(const Value& got, const Value& want, const std::string& where) {
    ASSERT_EQ(got.type, want.type) << where;
    switch (want.type) {
        case ValueType::F32: case ValueType::F64: EXPECT_EQ(got.real, want.real) << where; break;
        case ValueType::STRING: EXPECT_EQ(got.str, want.str) << where; break;
        case ValueType::ARRAY:
            ASSERT_EQ(got.element_type, want.element_type) << where;
            ASSERT_EQ(got.array.size(), want.array.size()) << where;
            for (size_t i = 0; i < want.array.size(); ++i)
                expect_same_value(got.array[i], want.array[i], where + "[" + std::to_string(i) + "]");
            break;
        default: EXPECT_EQ(got.bits, want.bits) << where; break;
    }
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
    return v;
}

Value nested(int depth) {  // `depth` arrays inside each other around one u8
    Value v = make::array(ValueType::U8, {make::u8(42)});
    for (int i = 1; i < depth; ++i) v = make::array(ValueType::ARRAY, {v});
    return v;
}

// Every value type, typed arrays, nested arrays and tensors of several types and ranks.
Writer every_kind_writer(uint32_t version) {
    Writer w(version);
    w.set("t.u8", make::u8(255));
    w.set("t.i8", make::i8(-128));
    w.set("t.u16", make::u16(65535));
    w.set("t.i16", make::i16(-32768));
    w.set("t.u32", make::u32(4294967295u));
    w.set("t.i32", make::i32(std::numeric_limits<int32_t>::min()));
    w.set("t.u64", make::u64(std::numeric_limits<uint64_t>::max()));
    w.set("t.i64", make::i64(std::numeric_limits<int64_t>::min()));
    w.set("t.f32", make::f32(0.1f));
    w.set("t.f64", make::f64(0.1));
    w.set("t.true", make::boolean(true));
    w.set("t.false", make::boolean(false));
    w.set("t.str", make::string(std::string("h\xc3\xa9llo\0world", 12)));
    w.set("t.empty_str", make::string(""));
    w.set("t.strings", make::strings({"a", "", "<0x00>", "\xe2\x96\x81the"}));
    const int32_t i32s[] = {-1, 0, 7};
    w.set("t.i32s", make::i32s(i32s));
    const uint32_t u32s[] = {0, 4294967295u};
    w.set("t.u32s", make::u32s(u32s));
    const float f32s[] = {1.5f, -0.25f, 1e-5f};
    w.set("t.f32s", make::f32s(f32s));
    w.set("t.bools", make::array(ValueType::BOOL, {make::boolean(true), make::boolean(false)}));
    w.set("t.i64s", make::array(ValueType::I64, {make::i64(-5), make::i64(1ll << 40)}));
    w.set("t.f64s", make::array(ValueType::F64, {make::f64(2.5), make::f64(-1e300)}));
    w.set("t.empty_array", make::array(ValueType::U8, {}));
    w.set("t.nested", make::array(ValueType::ARRAY, {make::u32s(u32s), make::array(ValueType::U32, {}),
                                                     make::strings({"x", "yz"}),
                                                     make::array(ValueType::F64, {make::f64(0.5)})}));
    w.set("t.deepest", nested(8));  // the deepest the reader takes
    w.add_tensor("f32", kF32, {3, 2}, pattern(24, 1));
    w.add_tensor("f16", kF16, {5}, pattern(10, 2));
    w.add_tensor("q8_0", kQ8_0, {64, 2}, pattern(4 * 34, 3));
    w.add_tensor("q4_0.3d", kQ4_0, {32, 1, 2}, pattern(2 * 18, 4));
    w.add_tensor("i8.4d", kI8, {2, 2, 2, 2}, pattern(16, 5));
    w.add_tensor("empty", kF32, {0, 4}, std::vector<uint8_t>{});
    w.add_tensor("last", kF32, {8}, pattern(32, 6));
    return w;
}

void check_round_trip(uint32_t version) {
    Writer w = every_kind_writer(version);
    const std::vector<uint8_t> bytes = w.to_bytes();
    auto f = parse(bytes);
    EXPECT_EQ(f->version(), version);
    EXPECT_EQ(f->alignment(), 32u);
    EXPECT_EQ(f->file_size(), bytes.size());
    EXPECT_EQ(f->data_offset() % 32, 0u);

    // Metadata: every key, in order, with the value it was given.
    const std::vector<std::string> keys = {
        "t.u8", "t.i8", "t.u16", "t.i16", "t.u32", "t.i32", "t.u64", "t.i64", "t.f32", "t.f64",
        "t.true", "t.false", "t.str", "t.empty_str", "t.strings", "t.i32s", "t.u32s", "t.f32s",
        "t.bools", "t.i64s", "t.f64s", "t.empty_array", "t.nested", "t.deepest"};
    ASSERT_EQ(f->metadata().size(), keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
        EXPECT_EQ(f->metadata()[i].key, keys[i]);
        expect_same_value(f->metadata()[i].value, *w.find(keys[i]), keys[i]);
    }
    // The typed getters see the same values.
    EXPECT_EQ(f->get_u64("t.u8"), 255u);
    EXPECT_EQ(f->get_u64("t.u64"), std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(f->find("t.i8")->to_i64("t.i8"), -128);
    EXPECT_EQ(f->find("t.i16")->to_i64("t.i16"), -32768);
    EXPECT_EQ(f->find("t.i32")->to_i64("t.i32"), std::numeric_limits<int32_t>::min());
    EXPECT_EQ(f->find("t.i64")->to_i64("t.i64"), std::numeric_limits<int64_t>::min());
    EXPECT_EQ(f->get_f64("t.f32"), static_cast<double>(0.1f));
    EXPECT_EQ(f->get_f64("t.f64"), 0.1);
    EXPECT_EQ(f->get_f64("t.u16"), 65535.0);
    EXPECT_EQ(f->get_bool("t.true"), true);
    EXPECT_EQ(f->get_bool("t.false"), false);
    EXPECT_EQ(f->require_string("t.str"), std::string("h\xc3\xa9llo\0world", 12));
    EXPECT_EQ(f->get_string("t.empty_str"), "");
    EXPECT_EQ(f->get_string_array("t.strings"),
              (std::vector<std::string>{"a", "", "<0x00>", "\xe2\x96\x81the"}));
    EXPECT_EQ(f->get_i64_array("t.i32s"), (std::vector<int64_t>{-1, 0, 7}));
    EXPECT_EQ(f->get_i64_array("t.u32s"), (std::vector<int64_t>{0, 4294967295ll}));
    EXPECT_EQ(f->get_f64_array("t.f32s"), (std::vector<double>{1.5, -0.25, static_cast<double>(1e-5f)}));
    EXPECT_EQ(f->get_f64_array("t.f64s"), (std::vector<double>{2.5, -1e300}));
    EXPECT_TRUE(f->get_i64_array("t.empty_array").empty());
    EXPECT_TRUE(f->get_string_array("no.such.key").empty());
    EXPECT_EQ(f->get_u64("no.such.key"), std::nullopt);
    const Value& nest = *f->find("t.nested");
    EXPECT_EQ(nest.array[2].array[1].str, "yz");
    const Value* deep = f->find("t.deepest");
    for (int i = 0; i < 7; ++i) deep = &deep->array.at(0);
    EXPECT_EQ(deep->element_type, ValueType::U8);
    EXPECT_EQ(deep->array.at(0).bits, 42u);

    // Tensor directory: names, types, shapes, aligned offsets, and views onto the right bytes.
    struct Want {
        const char* name;
        const char* type;
        std::vector<int64_t> dims;
        size_t n_bytes;
        uint8_t seed;
    };
    const Want wants[] = {{"f32", "F32", {3, 2}, 24, 1},        {"f16", "F16", {5}, 10, 2},
                          {"q8_0", "Q8_0", {64, 2}, 136, 3},    {"q4_0.3d", "Q4_0", {32, 1, 2}, 36, 4},
                          {"i8.4d", "I8", {2, 2, 2, 2}, 16, 5}, {"empty", "F32", {0, 4}, 0, 0},
                          {"last", "F32", {8}, 32, 6}};
    ASSERT_EQ(f->tensors().size(), std::size(wants));
    uint64_t expected_offset = 0;
    for (size_t i = 0; i < std::size(wants); ++i) {
        const Want& want = wants[i];
        const TensorInfo& t = f->tensors()[i];
        SCOPED_TRACE(want.name);
        EXPECT_EQ(t.name, want.name);
        EXPECT_EQ(f->find_tensor(want.name), &t);
        EXPECT_STREQ(t.traits->name, want.type);
        EXPECT_EQ(t.type_id, static_cast<uint32_t>(t.traits->type));
        EXPECT_EQ(t.dims, want.dims);
        EXPECT_EQ(t.n_bytes, want.n_bytes);
        EXPECT_EQ(t.offset, expected_offset);
        EXPECT_EQ(t.offset % 32, 0u);
        EXPECT_EQ(t.data, bytes.data() + f->data_offset() + t.offset);
        if (want.n_bytes) {
            EXPECT_EQ(std::memcmp(t.data, pattern(want.n_bytes, want.seed).data(), want.n_bytes), 0);
        }
        expected_offset += (want.n_bytes + 31) / 32 * 32;
    }
    EXPECT_EQ(f->data_offset() + expected_offset, bytes.size());
    const TensorInfo& q4 = *f->find_tensor("q4_0.3d");
    EXPECT_EQ(q4.n_elements, 64);
    EXPECT_EQ(q4.row_length(), 32);
    EXPECT_EQ(q4.n_rows(), 2);
    EXPECT_EQ(q4.shape_string(), "[32, 1, 2]");
    EXPECT_EQ(f->find_tensor("empty")->n_rows(), 0);
    EXPECT_EQ(f->find_tensor("nope"), nullptr);
}

// ---- valid files -------------------------------------------------------------------------

TEST(GgufReader, RoundTripsEveryValueTypeAndTheTensorDirectoryV3) { check_round_trip(3); }

TEST(GgufReader, RoundTripsEveryValueTypeAndTheTensorDirectoryV2) { check_round_trip(2); }

TEST(GgufReader, VocabularyOnlyFileWithoutTrailingPaddingLoads) {
    RawGguf raw(3, 0, 2);
    raw.key("tokenizer.ggml.model", ValueType::STRING).str("llama");
    raw.key("tokenizer.ggml.tokens", ValueType::ARRAY).u32(static_cast<uint32_t>(ValueType::STRING)).u64(3);
    raw.str("<unk>").str("<s>").str("hello");
    ASSERT_NE(raw.bytes.size() % 32, 0u);  // the file ends where the header ends
    auto f = parse(raw.bytes);
    EXPECT_TRUE(f->tensors().empty());
    EXPECT_EQ(f->require_string("tokenizer.ggml.model"), "llama");
    EXPECT_EQ(f->get_string_array("tokenizer.ggml.tokens"), (std::vector<std::string>{"<unk>", "<s>", "hello"}));
}

TEST(GgufReader, ManyKeysAndTensorsParseQuickly) {
    // Duplicate checks must not be quadratic: a fuzzed header can declare this many entries.
    constexpr int n = 100000;
    RawGguf raw(3, n, n);
    for (int i = 0; i < n; ++i) raw.kv_u32(fmt::format("k{}", i), static_cast<uint32_t>(i));
    for (int i = 0; i < n; ++i) raw.tensor(fmt::format("t{}", i), {0}, kF32, 0);
    raw.pad(32);
    auto start = std::chrono::steady_clock::now();
    auto f = parse(raw.bytes);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(f->metadata().size(), static_cast<size_t>(n));
    EXPECT_EQ(f->tensors().size(), static_cast<size_t>(n));
    EXPECT_LT(seconds, 5.0);
}

// ---- header ------------------------------------------------------------------------------

TEST(GgufReader, RejectsBadMagic) {
    RawGguf raw(3, 0, 0);
    std::memcpy(raw.bytes.data(), "GGML", 4);
    EXPECT_PARSE_ERROR(raw.bytes, "not a GGUF file (magic is \"GGML\", expected \"GGUF\")");
    std::vector<uint8_t> binary = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0};
    EXPECT_PARSE_ERROR(binary, "not a GGUF file (magic is \"\\x7fELF\", expected \"GGUF\")");
}

TEST(GgufReader, RejectsVersion1) {
    EXPECT_PARSE_ERROR(RawGguf(1, 0, 0).bytes, "GGUF v1 is not supported");
}

TEST(GgufReader, RejectsUnsupportedVersions) {
    EXPECT_PARSE_ERROR(RawGguf(4, 0, 0).bytes, "unsupported GGUF version 4 (supported: 2, 3)");
    EXPECT_PARSE_ERROR(RawGguf(0, 0, 0).bytes, "unsupported GGUF version 0");
    EXPECT_PARSE_ERROR(RawGguf(0x03000000, 0, 0).bytes, "big-endian GGUF is not supported");
}

TEST(GgufReader, EveryTruncationThrows) {
    // A small valid file whose last tensor ends exactly at the end of the file, so that every
    // proper prefix of it is missing something.
    Writer w;
    w.set("general.architecture", make::string("llama"));
    w.set("llama.block_count", make::u32(2));
    w.set("f", make::f32(1e-5f));
    w.set("b", make::boolean(true));
    w.set("tokens", make::strings({"a", "bc"}));
    w.set("nest", make::array(ValueType::ARRAY, {make::array(ValueType::I16, {make::i16(-3)})}));
    w.add_tensor("q", kQ8_0, {32}, pattern(34, 1));
    w.add_tensor("w", kF32, {8}, pattern(32, 2));
    const std::vector<uint8_t> full = w.to_bytes();
    ASSERT_NO_THROW(parse(full));
    for (size_t n = 0; n < full.size(); ++n) {
        SCOPED_TRACE("prefix of " + std::to_string(n) + " bytes");
        // A heap copy of exactly n bytes, so a sanitizer sees any read past the end.
        std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<ptrdiff_t>(n));
        const char* what = n == 0 ? "file is empty" : n < 4 ? "not a GGUF file" : "truncated file";
        EXPECT_PARSE_ERROR(prefix, what);
    }
}

TEST(GgufReader, PrefixesOfARealFileThrow) {
    HEARTH_SHARED_OR_SKIP(path, "models/stories260K.gguf");
    const std::string file = test::read_file(path);
    const std::vector<uint8_t> full(file.begin(), file.end());
    ASSERT_NO_THROW(parse(full));
    // Cuts through the header (14152 bytes: every byte of the first 1024, then every 13th),
    // its padding, and the data.
    std::vector<size_t> cuts;
    for (size_t n = 0; n < 1024; ++n) cuts.push_back(n);
    for (size_t n = 1024; n < 14152; n += 13) cuts.push_back(n);
    for (size_t n = 14140; n < 14200; ++n) cuts.push_back(n);
    for (size_t n = 14200; n < full.size(); n += 40009) cuts.push_back(n);
    cuts.push_back(full.size() - 1);
    for (size_t n : cuts) {
        SCOPED_TRACE("prefix of " + std::to_string(n) + " bytes");
        std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<ptrdiff_t>(n));
        EXPECT_THROW(parse(prefix), Error);
    }
}

// ---- tensor directory and data -----------------------------------------------------------

TEST(GgufReader, RejectsTensorDataOutOfBounds) {
    // 8 floats need 32 bytes; the data section has 16.
    RawGguf short_data(3, 1, 0);
    short_data.tensor("w", {8}, kF32, 0).pad(32).zeros(16);
    EXPECT_PARSE_ERROR(short_data.bytes, "tensor 'w' data [0, 32) lies outside the file's 16 data bytes");
    // The offset itself is past the end.
    RawGguf far(3, 2, 0);
    far.tensor("a", {8}, kF32, 0).tensor("b", {8}, kF32, 64).pad(32).zeros(64);
    EXPECT_PARSE_ERROR(far.bytes, "tensor 'b' data [64, 96) lies outside the file's 64 data bytes");
    // The data section would start past the end of the file.
    RawGguf no_data(3, 1, 0);
    no_data.tensor("w", {8}, kF32, 0);
    EXPECT_PARSE_ERROR(no_data.bytes, "truncated file: tensor data should start at offset 64");
}

TEST(GgufReader, RejectsMisalignedTensorOffset) {
    RawGguf raw(3, 1, 0);
    raw.tensor("w", {8}, kF32, 4).pad(32).zeros(64);
    EXPECT_PARSE_ERROR(raw.bytes, "tensor 'w' data offset 4 is not a multiple of the alignment 32");
    // A declared alignment of 64 makes 32 misaligned.
    RawGguf raw64(3, 1, 1);
    raw64.kv_u32("general.alignment", 64).tensor("w", {8}, kF32, 32).pad(64).zeros(128);
    EXPECT_PARSE_ERROR(raw64.bytes, "tensor 'w' data offset 32 is not a multiple of the alignment 64");
}

TEST(GgufReader, RejectsTheRealMisalignedFile) {
    HEARTH_SHARED_OR_SKIP(path, "models/detllm-tiny-f32-misaligned.gguf");
    EXPECT_OPEN_ERROR(path, "tensor 'blk.0.attn_q.weight' data offset 4112 is not a multiple of the alignment 32");
}

TEST(GgufReader, RejectsUnknownTensorType) {
    RawGguf raw(3, 1, 0);
    raw.tensor("w", {8}, 99, 0).pad(32).zeros(64);
    EXPECT_PARSE_ERROR(raw.bytes, "tensor 'w' has unknown type id 99");
    RawGguf removed(3, 1, 0);  // 4 was Q4_2, removed from ggml long ago
    removed.tensor("w", {32}, 4, 0).pad(32).zeros(64);
    EXPECT_PARSE_ERROR(removed.bytes, "tensor 'w' has unknown type id 4");
}

TEST(GgufReader, RejectsRowsThatAreNotWholeBlocks) {
    RawGguf raw(3, 1, 0);
    raw.tensor("w", {40, 2}, kQ4_0, 0).pad(32).zeros(256);
    EXPECT_PARSE_ERROR(raw.bytes, "tensor 'w' [40, 2] has rows of 40 elements, not a multiple of the Q4_0 block size 32");
}

TEST(GgufReader, CodebookTypesAreSizedByTheTraitTable) {
    // MXFP4 (39): 17 bytes per 32; IQ4_NL (20): 18 per 32; IQ4_XS (23): 136 per 256.
    RawGguf ok(3, 3, 0);
    ok.tensor("m", {64, 3}, 39, 0).tensor("n", {32, 2}, 20, 128).tensor("x", {256, 1}, 23, 192).pad(32).zeros(352);
    auto f = parse(ok.bytes);
    EXPECT_EQ(f->find_tensor("m")->n_bytes, 17u * 2 * 3);
    EXPECT_EQ(f->find_tensor("n")->n_bytes, 18u * 2);
    EXPECT_EQ(f->find_tensor("x")->n_bytes, 136u);
    RawGguf rows(3, 1, 0);
    rows.tensor("m", {48, 2}, 39, 0).pad(32).zeros(256);
    EXPECT_PARSE_ERROR(rows.bytes, "tensor 'm' [48, 2] has rows of 48 elements, not a multiple of the MXFP4 block size 32");
    RawGguf xs(3, 1, 0);
    xs.tensor("x", {288, 1}, 23, 0).pad(32).zeros(256);
    EXPECT_PARSE_ERROR(xs.bytes, "tensor 'x' [288, 1] has rows of 288 elements, not a multiple of the IQ4_XS block size 256");
    RawGguf short_data(3, 1, 0);  // 3 rows of 2 MXFP4 blocks need 102 bytes
    short_data.tensor("m", {64, 3}, 39, 0).pad(32).zeros(96);
    EXPECT_PARSE_ERROR(short_data.bytes, "tensor 'm' data [0, 102) lies outside the file's 96 data bytes");
}

TEST(GgufReader, RejectsTheRealQ8_0FileWithRowsOf172) {
    HEARTH_SHARED_OR_SKIP(path, "models/tinyllamas-stories-260k-q8_0.gguf");
    EXPECT_OPEN_ERROR(path, ".ffn_down.weight' [172, 64] has rows of 172 elements, not a multiple of the Q8_0 block size 32");
}

TEST(GgufReader, RejectsTheRealV1File) {
    HEARTH_SHARED_OR_SKIP(path, "models/tinyllamas-stories-260k-f32.gguf");
    EXPECT_OPEN_ERROR(path, "GGUF v1 is not supported");
}

TEST(GgufReader, RejectsBadDimensionCounts) {
    RawGguf none(3, 1, 0);
    none.tensor("w", {}, kF32, 0).pad(32).zeros(32);
    EXPECT_PARSE_ERROR(none.bytes, "tensor 'w' has 0 dimensions (supported: 1 to 4)");
    RawGguf five(3, 1, 0);
    five.tensor("w", {1, 1, 1, 1, 1}, kF32, 0).pad(32).zeros(32);
    EXPECT_PARSE_ERROR(five.bytes, "tensor 'w' has 5 dimensions (supported: 1 to 4)");
}

TEST(GgufReader, RejectsDuplicateTensorNames) {
    RawGguf raw(3, 2, 0);
    raw.tensor("w", {8}, kF32, 0).tensor("w", {8}, kF32, 32).pad(32).zeros(64);
    EXPECT_PARSE_ERROR(raw.bytes, "tensor name 'w' appears twice");
}

// ---- metadata ----------------------------------------------------------------------------

TEST(GgufReader, RejectsBadAlignment) {
    for (uint32_t al : {0u, 3u, 48u}) {
        RawGguf raw(3, 0, 1);
        raw.kv_u32("general.alignment", al);
        EXPECT_PARSE_ERROR(raw.bytes, "general.alignment = " + std::to_string(al) + " is not a power of two");
    }
    RawGguf too_big(3, 0, 1);
    too_big.kv_u32("general.alignment", 1u << 21);
    EXPECT_PARSE_ERROR(too_big.bytes, "general.alignment = 2097152 is not a power of two");
    RawGguf text(3, 0, 1);
    text.key("general.alignment", ValueType::STRING).str("32");
    EXPECT_PARSE_ERROR(text.bytes, "metadata 'general.alignment': expected an integer, found string");
    RawGguf negative(3, 0, 1);
    negative.key("general.alignment", ValueType::I32).u32(static_cast<uint32_t>(-32));
    EXPECT_PARSE_ERROR(negative.bytes, "metadata 'general.alignment': expected a non-negative integer, found -32");
}

TEST(GgufReader, RejectsUnknownMetadataValueType) {
    RawGguf raw(3, 0, 1);
    raw.str("x").u32(13).u32(0);
    EXPECT_PARSE_ERROR(raw.bytes, "metadata 'x' has unknown value type 13");
    RawGguf element(3, 0, 1);
    element.key("arr", ValueType::ARRAY).u32(13).u64(1).u32(0);
    EXPECT_PARSE_ERROR(element.bytes, "metadata 'arr': unknown array element type 13");
}

TEST(GgufReader, RejectsBoolByteOf2) {
    RawGguf raw(3, 0, 1);
    raw.key("flag", ValueType::BOOL).u8(2);
    EXPECT_PARSE_ERROR(raw.bytes, "metadata 'flag': bool value 2 is neither 0 nor 1");
    RawGguf in_array(3, 0, 1);
    in_array.key("flags", ValueType::ARRAY).u32(static_cast<uint32_t>(ValueType::BOOL)).u64(3).u8(1).u8(0).u8(255);
    EXPECT_PARSE_ERROR(in_array.bytes, "metadata 'flags': bool value 255 is neither 0 nor 1");
}

TEST(GgufReader, RejectsDuplicateKeys) {
    RawGguf raw(3, 0, 3);
    raw.kv_u32("a", 1).kv_u32("b", 2).key("a", ValueType::STRING).str("again");
    EXPECT_PARSE_ERROR(raw.bytes, "metadata key 'a' appears twice");
}

TEST(GgufReader, RejectsAbsurdLengthsWithoutAllocating) {
    // Each would need exabytes if believed: the reader must refuse before allocating (a
    // std::bad_alloc or std::length_error here would fail the test, it is not a hearth::Error).
    RawGguf key(3, 0, 1);
    key.u64(kHuge).zeros(16);
    EXPECT_PARSE_ERROR(key.bytes, "key of metadata entry 0 has an implausible length 4611686018427387904");
    RawGguf value(3, 0, 1);
    value.key("s", ValueType::STRING).u64(kHuge).zeros(16);
    EXPECT_PARSE_ERROR(value.bytes, "value of 's' has an implausible length 4611686018427387904");
    RawGguf array(3, 0, 1);
    array.key("a", ValueType::ARRAY).u32(static_cast<uint32_t>(ValueType::U8)).u64(kHuge).zeros(16);
    EXPECT_PARSE_ERROR(array.bytes, "truncated file: metadata 'a' declares 4611686018427387904 array elements");
    RawGguf strings(3, 0, 1);
    strings.key("a", ValueType::ARRAY).u32(static_cast<uint32_t>(ValueType::STRING)).u64(kHuge).zeros(16);
    EXPECT_PARSE_ERROR(strings.bytes, "truncated file: metadata 'a' declares 4611686018427387904 array elements");
    RawGguf arrays(3, 0, 1);  // arrays of empty arrays: 12 bytes each in the file
    arrays.key("a", ValueType::ARRAY).u32(static_cast<uint32_t>(ValueType::ARRAY)).u64(kHuge).zeros(16);
    EXPECT_PARSE_ERROR(arrays.bytes, "truncated file: metadata 'a' declares 4611686018427387904 array elements");
    RawGguf kvs(3, 0, kHuge);
    kvs.zeros(16);
    EXPECT_PARSE_ERROR(kvs.bytes, "truncated file: header declares 4611686018427387904 metadata entries");
    RawGguf tensors(3, kHuge, 0);
    tensors.zeros(16);
    EXPECT_PARSE_ERROR(tensors.bytes, "truncated file: header declares 4611686018427387904 tensors");
    RawGguf name(3, 1, 0);
    name.u64(kHuge).zeros(16);
    EXPECT_PARSE_ERROR(name.bytes, "name of tensor 0 has an implausible length 4611686018427387904");
    RawGguf dim(3, 1, 0);
    dim.tensor("w", {kHuge}, kF32, 0).pad(32);
    EXPECT_PARSE_ERROR(dim.bytes, "tensor 'w' dimension 0 is 4611686018427387904, out of range");
    RawGguf product(3, 1, 0);
    product.tensor("w", {uint64_t{1} << 40, uint64_t{1} << 40}, kF32, 0).pad(32);
    EXPECT_PARSE_ERROR(product.bytes, "tensor 'w' has too many elements");
}

TEST(GgufReader, RejectsArraysNestedTooDeep) {
    // nested(8) round-trips (see above); one level more is refused.
    RawGguf raw(3, 0, 1);
    raw.key("deep", ValueType::ARRAY);
    for (int i = 0; i < 8; ++i) raw.u32(static_cast<uint32_t>(ValueType::ARRAY)).u64(1);
    raw.u32(static_cast<uint32_t>(ValueType::U8)).u64(1).u8(42);
    EXPECT_PARSE_ERROR(raw.bytes, "metadata 'deep': arrays nested deeper than 8");
}

TEST(GgufReader, TypedGettersWithTheWrongTypeNameTheKey) {
    Writer w;
    w.set("general.name", make::string("tiny"));
    w.set("n", make::u32(7));
    w.set("neg", make::i32(-1));
    const int32_t ints[] = {1, 2};
    w.set("ints", make::i32s(ints));
    w.set("strs", make::strings({"a"}));
    w.set("big", make::array(ValueType::U64, {make::u64(std::numeric_limits<uint64_t>::max())}));
    const auto bytes = w.to_bytes();
    auto f = parse(bytes);
    EXPECT_EQ(error_of([&] { f->get_u64("general.name"); }),
              "mem.gguf: metadata 'general.name': expected an integer, found string");
    EXPECT_EQ(error_of([&] { f->require_u64("general.name"); }),
              "mem.gguf: metadata 'general.name': expected an integer, found string");
    EXPECT_EQ(error_of([&] { f->get_string("n"); }), "mem.gguf: metadata 'n': expected a string, found u32");
    EXPECT_EQ(error_of([&] { f->require_string("n"); }), "mem.gguf: metadata 'n': expected a string, found u32");
    EXPECT_EQ(error_of([&] { f->get_bool("n"); }), "mem.gguf: metadata 'n': expected a bool, found u32");
    EXPECT_EQ(error_of([&] { f->get_f64("general.name"); }),
              "mem.gguf: metadata 'general.name': expected a number, found string");
    EXPECT_EQ(error_of([&] { f->get_u64("neg"); }),
              "mem.gguf: metadata 'neg': expected a non-negative integer, found -1");
    EXPECT_EQ(error_of([&] { f->get_string_array("n"); }), "mem.gguf: metadata 'n': expected an array, found u32");
    EXPECT_EQ(error_of([&] { f->get_string_array("ints"); }),
              "mem.gguf: metadata 'ints': expected a string, found i32");
    EXPECT_EQ(error_of([&] { f->get_i64_array("strs"); }),
              "mem.gguf: metadata 'strs': expected an integer, found string");
    EXPECT_EQ(error_of([&] { f->get_f64_array("strs"); }),
              "mem.gguf: metadata 'strs': expected a number, found string");
    EXPECT_TRUE(is_error(error_of([&] { f->get_i64_array("big"); }), kLabel,
                         "metadata 'big': integer 18446744073709551615 is out of range"));
    // The right types work, and absent keys are nullopt.
    EXPECT_EQ(f->get_u64("n"), 7u);
    EXPECT_EQ(f->get_f64_array("ints"), (std::vector<double>{1, 2}));
    EXPECT_EQ(f->get_bool("absent"), std::nullopt);
    EXPECT_EQ(f->get_string("absent"), std::nullopt);
    EXPECT_EQ(f->get_f64("absent"), std::nullopt);
}

TEST(GgufReader, RequireNamesTheMissingKey) {
    const auto bytes = Writer().to_bytes();
    auto f = parse(bytes);
    EXPECT_EQ(error_of([&] { f->require_u64("llama.block_count"); }),
              "mem.gguf: missing required key 'llama.block_count'");
    EXPECT_EQ(error_of([&] { f->require_string("general.architecture"); }),
              "mem.gguf: missing required key 'general.architecture'");
}

// ---- files -------------------------------------------------------------------------------

TEST(GgufReader, RejectsPathsThatAreNotGgufFiles) {
    const auto dir = test::temp_dir();
    const std::string missing = (dir / "missing.gguf").string();
    EXPECT_OPEN_ERROR(missing, "cannot open: No such file or directory");
    EXPECT_OPEN_ERROR(dir.string(), "is a directory");
    const std::string empty = (dir / "empty.gguf").string();
    std::ofstream(empty).close();
    EXPECT_OPEN_ERROR(empty, "file is empty");
    const std::string tiny = (dir / "tiny.gguf").string();
    std::ofstream(tiny) << "GG";
    EXPECT_OPEN_ERROR(tiny, "not a GGUF file (only 2 bytes)");
    EXPECT_PARSE_ERROR(std::vector<uint8_t>{}, "file is empty");
    std::filesystem::remove_all(dir);
}

TEST(GgufReader, OpensStories260KWithCorrectTensorViews) {
    HEARTH_SHARED_OR_SKIP(path, "models/stories260K.gguf");
    auto f = File::open(path);
    EXPECT_EQ(f->path(), path);
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->alignment(), 32u);
    EXPECT_EQ(f->file_size(), 1185376u);
    EXPECT_EQ(f->data_offset(), 14176u);  // the header ends at 14152
    EXPECT_EQ(f->require_string("general.architecture"), "llama");
    EXPECT_EQ(f->require_u64("llama.embedding_length"), 64u);
    EXPECT_EQ(f->require_u64("llama.block_count"), 5u);
    EXPECT_EQ(f->require_u64("tokenizer.ggml.seperator_token_id"), 4294967295u);
    EXPECT_FLOAT_EQ(static_cast<float>(*f->get_f64("llama.attention.layer_norm_rms_epsilon")), 1e-5f);
    const auto tokens = f->get_string_array("tokenizer.ggml.tokens");
    ASSERT_EQ(tokens.size(), 512u);
    EXPECT_EQ(tokens[3], "<0x00>");
    EXPECT_EQ(f->get_f64_array("tokenizer.ggml.scores").size(), 512u);
    EXPECT_EQ(f->get_i64_array("tokenizer.ggml.token_type").size(), 512u);

    ASSERT_EQ(f->tensors().size(), 48u);
    const TensorInfo* emb = f->find_tensor("token_embd.weight");
    ASSERT_NE(emb, nullptr);
    EXPECT_EQ(emb->dims, (std::vector<int64_t>{64, 512}));
    EXPECT_STREQ(emb->traits->name, "F32");
    EXPECT_EQ(emb->n_elements, 64 * 512);
    EXPECT_EQ(emb->n_bytes, 131072u);
    EXPECT_EQ(emb->offset, 0u);
    EXPECT_EQ(f->find_tensor("blk.0.ffn_down.weight")->dims, (std::vector<int64_t>{172, 64}));

    // Every view points at its own bytes of the file: compare against the file read plainly.
    const std::string file = test::read_file(path);
    ASSERT_EQ(file.size(), f->file_size());
    const uint8_t* base = f->tensors()[0].data - f->data_offset() - f->tensors()[0].offset;
    size_t end = 0;
    for (const TensorInfo& t : f->tensors()) {
        SCOPED_TRACE(t.name);
        EXPECT_EQ(t.offset % 32, 0u);
        EXPECT_EQ(t.n_bytes, static_cast<size_t>(t.n_elements) * 4);
        EXPECT_EQ(t.data, base + f->data_offset() + t.offset);
        ASSERT_LE(f->data_offset() + t.offset + t.n_bytes, file.size());
        EXPECT_EQ(std::memcmp(t.data, file.data() + f->data_offset() + t.offset, t.n_bytes), 0);
        end = std::max<size_t>(end, f->data_offset() + t.offset + t.n_bytes);
    }
    EXPECT_EQ(end, file.size());  // the last tensor ends at the end of the file
    float first;
    std::memcpy(&first, emb->data, 4);
    EXPECT_TRUE(std::isfinite(first));
}

TEST(GgufReader, OpensTheOtherRealModels) {
    HEARTH_SHARED_OR_SKIP(qmix, "models/detllm-tiny-qmix.gguf");
    auto q = File::open(qmix);
    EXPECT_EQ(q->tensors().size(), 11u);
    EXPECT_STREQ(q->find_tensor("blk.0.attn_k.weight")->traits->name, "Q4_0");
    EXPECT_EQ(q->find_tensor("blk.0.attn_k.weight")->n_bytes, 16u * 18);
    EXPECT_EQ(q->find_tensor("token_embd.weight")->n_bytes, 256u * 34);
    HEARTH_SHARED_OR_SKIP(random, "models/llama-2-tiny-random.gguf");
    auto r = File::open(random);
    EXPECT_EQ(r->get_string_array("tokenizer.ggml.tokens").size(), 32000u);
    EXPECT_STREQ(r->find_tensor("token_embd.weight")->traits->name, "F16");
    EXPECT_EQ(r->find_tensor("token_embd.weight")->n_bytes, 8u * 32000 * 2);
}

}  // namespace
}  // namespace hearth::gguf
