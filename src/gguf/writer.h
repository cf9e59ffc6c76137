#pragma once
// GGUF writer (versions 2 and 3), the inverse of gguf::File. Collect metadata and tensors, then
// write() to a file or to_bytes() in memory. Everything is checked before the first byte is
// written, so whatever the writer produces, gguf::File reads back:
//   - metadata values fit their declared type; array elements match the array's element type;
//     arrays nest at most 8 deep
//   - `general.alignment`, when set, is a u32 power of two (llama.cpp requires u32); it sets
//     the alignment of the data section and of every tensor's offset (default 32)
//   - tensors: unique names shorter than 64 bytes (llama.cpp's limit), 1 to 4 dims, a known
//     type id, rows a whole number of blocks, and exactly as many bytes as the shape needs
// Layout follows ggml's own writer: header, metadata, tensor directory, zero padding to the
// alignment, then each tensor's bytes padded to the alignment, in the order they were added.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"

namespace hearth::gguf {

// Value builders: w.set("llama.block_count", make::u32(32)).
namespace make {
Value u8(uint8_t v);
Value i8(int8_t v);
Value u16(uint16_t v);
Value i16(int16_t v);
Value u32(uint32_t v);
Value i32(int32_t v);
Value u64(uint64_t v);
Value i64(int64_t v);
Value f32(float v);
Value f64(double v);
Value boolean(bool v);
Value string(std::string v);
// An array of any element type (elements may be arrays themselves).
Value array(ValueType element_type, std::vector<Value> elements);
// Typed arrays, the shapes tokenizers use (tokens, scores, token types, merges).
Value strings(const std::vector<std::string>& v);
Value i32s(std::span<const int32_t> v);
Value u32s(std::span<const uint32_t> v);
Value f32s(std::span<const float> v);
Value bools(const std::vector<bool>& v);
}  // namespace make

class Writer {
public:
    // Fills exactly `n_bytes` bytes at `dst` with a tensor's data; called during each write()
    // or to_bytes(), in tensor order.
    using FillFn = std::function<void(uint8_t* dst, size_t n_bytes)>;

    explicit Writer(uint32_t version = 3);  // 2 or 3

    // Adds a key, or replaces the value of a key already set (keeping its position).
    void set(std::string key, Value value);
    const Value* find(std::string_view key) const;

    // Adds a tensor whose bytes the writer holds...
    void add_tensor(std::string name, uint32_t type_id, std::vector<int64_t> dims,
                    std::vector<uint8_t> bytes);
    // ...or whose bytes `fill` produces at write time (so a large model streams through one
    // tensor's worth of memory; a fill may also copy from a mapped source file).
    void add_tensor(std::string name, uint32_t type_id, std::vector<int64_t> dims, FillFn fill);
    size_t n_tensors() const { return tensors_.size(); }

    // Writes to `path + ".tmp.*"` beside it, syncs, then renames over `path`: a reader sees the
    // old file or the complete new one, never a partial one. Throws hearth::Error "<path>: ...".
    void write(const std::string& path) const;
    std::vector<uint8_t> to_bytes() const;

private:
    struct Tensor {
        std::string name;
        uint32_t type_id;
        std::vector<int64_t> dims;
        size_t n_bytes;
        std::vector<uint8_t> bytes;  // used when fill is empty
        FillFn fill;
    };
    using Sink = std::function<void(const uint8_t* data, size_t n)>;

    void add(Tensor t);
    size_t alignment() const;
    void emit(const Sink& sink) const;

    uint32_t version_;
    std::vector<KeyValue> metadata_;
    std::vector<Tensor> tensors_;
};

}  // namespace hearth::gguf
