// libFuzzer target for the GGUF reader: hearth::gguf::File::parse on arbitrary bytes.
//
// Bad input must end in hearth::Error and nothing else. Input that parses must honour the
// reader's promises: every metadata value readable, every tensor's bytes inside the buffer
// and aligned. The harness reads the first and last byte of every tensor and every byte of
// every string, so AddressSanitizer sees any pointer or length that escapes the input (libFuzzer
// hands us a heap copy of exactly `size` bytes), and it checks the promises explicitly too.
//
// Build and run: scripts/fuzz.sh
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "common/error.h"
#include "gguf/gguf.h"

namespace {

using hearth::gguf::File;
using hearth::gguf::TensorInfo;
using hearth::gguf::Value;
using hearth::gguf::ValueType;

volatile uint64_t g_sink;  // keeps the reads below from being optimized away

[[noreturn]] void broken_promise(const char* what) {
    std::fprintf(stderr, "gguf_fuzz: parse() accepted the input but %s\n", what);
    std::abort();
}

void touch(const std::string& s) {
    uint64_t h = s.size();
    for (char c : s) h = h * 31 + static_cast<unsigned char>(c);
    g_sink = g_sink + h;
}

// Reads every byte of a value. The checked conversions run on top-level values and on the
// first and last element of each array: running them on every element of a million-element
// array would spend the fuzzer's time throwing exceptions instead of exploring.
void touch_value(const Value& v, bool convert) {
    uint64_t h = v.bits ^ static_cast<uint64_t>(v.type) ^ (static_cast<uint64_t>(v.element_type) << 8);
    h ^= static_cast<uint64_t>(v.real != 0);
    if (hearth::gguf::value_type_name(v.type)[0] == '?') broken_promise("a value has an unknown type");
    touch(v.str);
    if (convert) {  // the checked conversions may refuse (hearth::Error) but must not misbehave
        try { h += v.to_u64("fuzz"); } catch (const hearth::Error&) {}
        try { h += static_cast<uint64_t>(v.to_i64("fuzz")); } catch (const hearth::Error&) {}
        try { h += static_cast<uint64_t>(v.to_f64("fuzz") != 0); } catch (const hearth::Error&) {}
        try { h += v.to_bool("fuzz"); } catch (const hearth::Error&) {}
        try { h += v.to_string("fuzz").size(); } catch (const hearth::Error&) {}
    }
    if (v.type == ValueType::ARRAY) {
        for (size_t i = 0; i < v.array.size(); ++i) {
            const Value& e = v.array[i];
            if (e.type != v.element_type) broken_promise("an array element has the wrong type");
            touch_value(e, i == 0 || i + 1 == v.array.size());
        }
    } else if (!v.array.empty()) {
        broken_promise("a scalar value holds array elements");
    }
    g_sink = g_sink + h;
}

void check_tensor(const File& file, const TensorInfo& t, const uint8_t* data, size_t size,
                  bool lookup) {
    touch(t.name);
    touch(t.shape_string());
    if (!t.traits) broken_promise("a tensor has no type traits");
    if (t.dims.empty() || t.dims.size() > 4) broken_promise("a tensor has 0 or more than 4 dims");
    int64_t count = 1;
    for (int64_t d : t.dims) {
        if (d < 0) broken_promise("a tensor has a negative dimension");
        if (__builtin_mul_overflow(count, d, &count)) broken_promise("a tensor's size overflows");
    }
    if (count != t.n_elements) broken_promise("n_elements is not the product of the dims");
    if (t.row_length() % t.traits->block_size != 0) broken_promise("rows are not whole blocks");
    const uint64_t expected_bytes =
        static_cast<uint64_t>(t.n_elements / t.traits->block_size) * t.traits->block_bytes;
    if (t.n_bytes != expected_bytes) broken_promise("n_bytes does not match the type and shape");
    g_sink = g_sink + static_cast<uint64_t>(t.n_rows());
    if (lookup && file.find_tensor(t.name) != &t)
        broken_promise("find_tensor() does not find a tensor");

    if (t.offset % file.alignment() != 0) broken_promise("a tensor's offset is not aligned");
    if (!t.data) broken_promise("a tensor has no data pointer");
    if (t.data < data || t.data > data + size || t.n_bytes > size_t(data + size - t.data))
        broken_promise("a tensor's bytes lie outside the input");
    if (t.data != data + file.data_offset() + t.offset)
        broken_promise("a tensor's data pointer is not data_offset + offset");
    if (t.n_bytes > 0) g_sink = g_sink + t.data[0] + t.data[t.n_bytes - 1];
}

void check_file(const File& file, const uint8_t* data, size_t size) {
    if (file.version() != 2 && file.version() != 3) broken_promise("the version is not 2 or 3");
    const size_t alignment = file.alignment();
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        broken_promise("the alignment is not a power of two");
    if (file.data_offset() % alignment != 0) broken_promise("the data section is not aligned");
    if (!file.tensors().empty() && file.data_offset() > size)
        broken_promise("the data section starts past the end");

    // find() and the getters scan linearly, so they run on the first entries only: on a header
    // with 50k keys, calling them for every key would time out in the harness, not the reader.
    constexpr size_t kLookups = 64;
    size_t lookups = 0;
    for (const auto& kv : file.metadata()) {
        touch(kv.key);
        touch_value(kv.value, true);
        if (++lookups > kLookups) continue;
        if (file.find(kv.key) != &kv.value) broken_promise("find() does not find a key");
        // The typed getters on every key: each either answers or throws hearth::Error.
        try { g_sink = g_sink + file.get_u64(kv.key).value_or(0); } catch (const hearth::Error&) {}
        try { g_sink = g_sink + static_cast<uint64_t>(file.get_f64(kv.key).value_or(0) != 0); }
        catch (const hearth::Error&) {}
        try { g_sink = g_sink + file.get_bool(kv.key).value_or(false); } catch (const hearth::Error&) {}
        try { g_sink = g_sink + file.get_string(kv.key).value_or("").size(); } catch (const hearth::Error&) {}
        try { g_sink = g_sink + file.get_string_array(kv.key).size(); } catch (const hearth::Error&) {}
        try { g_sink = g_sink + file.get_f64_array(kv.key).size(); } catch (const hearth::Error&) {}
        try { g_sink = g_sink + file.get_i64_array(kv.key).size(); } catch (const hearth::Error&) {}
    }
    lookups = 0;
    for (const TensorInfo& t : file.tensors()) check_tensor(file, t, data, size, ++lookups <= kLookups);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::unique_ptr<File> file;
    try {
        file = File::parse("fuzz-input", data, size);
    } catch (const hearth::Error&) {
        return 0;  // refused cleanly: anything else (another exception, a crash) is a finding
    }
    check_file(*file, data, size);
    return 0;
}
