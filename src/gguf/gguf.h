#pragma once
// GGUF reader (versions 2 and 3). The file is memory-mapped and validated completely before
// anything is returned: header, every metadata value, the tensor directory, and that every
// tensor's bytes lie aligned inside the file. Tensor data is never copied.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mapped_file.h"
#include "tensor/types.h"

namespace hearth::gguf {

enum class ValueType : uint32_t {
    U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8,
    ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
const char* value_type_name(ValueType type);

// One metadata value. Scalars keep their declared type; arrays hold their elements (which may
// themselves be arrays).
struct Value {
    ValueType type = ValueType::U8;
    ValueType element_type = ValueType::U8;  // meaningful for ARRAY only
    uint64_t bits = 0;                       // integer/bool payload (signed values sign-extended)
    double real = 0;                         // F32/F64 payload
    std::string str;                         // STRING payload
    std::vector<Value> array;                // ARRAY payload

    bool is_integer() const;
    bool is_float() const { return type == ValueType::F32 || type == ValueType::F64; }
    // Checked conversions; `what` names the key in the error message.
    uint64_t to_u64(std::string_view what) const;
    int64_t to_i64(std::string_view what) const;
    double to_f64(std::string_view what) const;
    bool to_bool(std::string_view what) const;
    const std::string& to_string(std::string_view what) const;
};

struct KeyValue {
    std::string key;
    Value value;
};

struct TensorInfo {
    std::string name;
    uint32_t type_id = 0;
    const TypeTraits* traits = nullptr;  // never null after validation
    std::vector<int64_t> dims;           // dims[0] is the row length (ggml's ne0)
    uint64_t offset = 0;                 // relative to the start of the data section
    int64_t n_elements = 0;
    size_t n_bytes = 0;
    const uint8_t* data = nullptr;       // points into the mapped file

    int64_t row_length() const { return dims.empty() ? 1 : dims[0]; }
    int64_t n_rows() const { return row_length() == 0 ? 0 : n_elements / row_length(); }
    std::string shape_string() const;  // "[4096, 32000]"
};

class File {
public:
    // Maps and validates `path`. Throws hearth::Error "<path>: <problem>".
    static std::unique_ptr<File> open(const std::string& path);
    // Validates a buffer already in memory (used by the fuzzer and tests); `label` names it in
    // errors. The buffer must outlive the File.
    static std::unique_ptr<File> parse(const std::string& label, const uint8_t* data, size_t size);

    const std::string& path() const { return label_; }
    uint32_t version() const { return version_; }
    size_t alignment() const { return alignment_; }
    size_t data_offset() const { return data_offset_; }
    size_t file_size() const { return size_; }

    const std::vector<KeyValue>& metadata() const { return metadata_; }
    const Value* find(std::string_view key) const;
    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const TensorInfo* find_tensor(std::string_view name) const;
    // Drops the pages of [p, p + n) (inside the mapped file) from memory; see MappedFile::release.
    // A no-op for parsed buffers.
    void release_pages(const uint8_t* p, size_t n) const {
        if (map_) map_->release(p, n);
    }

    // Typed getters. `require_*` throws "<path>: missing required key '<key>'"; the optional
    // forms return nullopt when absent. Both throw when present with the wrong type.
    std::optional<uint64_t> get_u64(std::string_view key) const;
    std::optional<double> get_f64(std::string_view key) const;
    std::optional<bool> get_bool(std::string_view key) const;
    std::optional<std::string> get_string(std::string_view key) const;
    uint64_t require_u64(std::string_view key) const;
    std::string require_string(std::string_view key) const;
    // Arrays of a given element kind; throws when present with another type.
    std::vector<std::string> get_string_array(std::string_view key) const;
    std::vector<double> get_f64_array(std::string_view key) const;
    std::vector<int64_t> get_i64_array(std::string_view key) const;
    std::vector<bool> get_bool_array(std::string_view key) const;

private:
    File() = default;
    void parse_all();

    std::unique_ptr<MappedFile> map_;
    std::string label_;
    const uint8_t* base_ = nullptr;
    size_t size_ = 0;
    uint32_t version_ = 0;
    size_t alignment_ = 32;
    size_t data_offset_ = 0;
    std::vector<KeyValue> metadata_;
    std::vector<TensorInfo> tensors_;
};

}  // namespace hearth::gguf
