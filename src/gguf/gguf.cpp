#include "gguf/gguf.h"

#include <cstring>
#include <limits>
#include <unordered_set>

#include "common/error.h"

namespace hearth::gguf {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian u32
constexpr int kMaxArrayDepth = 8;
constexpr uint32_t kMaxDims = 4;
constexpr uint64_t kMaxStringBytes = 1ull << 30;
// Metadata array elements in the whole file. Real vocabularies hold well under a million
// (tokens + scores + types + merges); each parsed element costs ~80 bytes, so the cap keeps a
// hostile file from turning a few bytes per element into gigabytes of memory.
constexpr uint64_t kMaxArrayElements = 1ull << 23;

// Bounds-checked little-endian cursor over the header. Every read names what it was reading,
// so a truncated file says where it ended.
class Cursor {
public:
    Cursor(const std::string& label, const uint8_t* data, size_t size)
        : label_(label), data_(data), size_(size) {}

    size_t position() const { return pos_; }
    size_t remaining() const { return size_ - pos_; }

    void need(size_t n, std::string_view what) const {
        if (n > remaining())
            fail("{}: truncated file: needs {} more bytes for {} at offset {}, file has {} bytes",
                 label_, n, what, pos_, size_);
    }
    template <typename T>
    T read(std::string_view what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, data_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }
    std::string read_string(std::string_view what) {
        uint64_t len = read<uint64_t>(what);
        if (len > kMaxStringBytes) fail("{}: {} has an implausible length {}", label_, what, len);
        need(len, what);
        std::string s(reinterpret_cast<const char*>(data_ + pos_), len);
        pos_ += len;
        return s;
    }

private:
    const std::string& label_;
    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
};

size_t scalar_size(ValueType t) {
    switch (t) {
        case ValueType::U8: case ValueType::I8: case ValueType::BOOL: return 1;
        case ValueType::U16: case ValueType::I16: return 2;
        case ValueType::U32: case ValueType::I32: case ValueType::F32: return 4;
        case ValueType::U64: case ValueType::I64: case ValueType::F64: return 8;
        default: return 0;
    }
}

bool known_value_type(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::F64); }

Value read_value(Cursor& cur, const std::string& label, const std::string& key, ValueType type,
                 int depth, uint64_t& elements_read) {
    Value v;
    v.type = type;
    switch (type) {
        case ValueType::U8: v.bits = cur.read<uint8_t>(key); break;
        case ValueType::I8: v.bits = static_cast<uint64_t>(static_cast<int64_t>(cur.read<int8_t>(key))); break;
        case ValueType::U16: v.bits = cur.read<uint16_t>(key); break;
        case ValueType::I16: v.bits = static_cast<uint64_t>(static_cast<int64_t>(cur.read<int16_t>(key))); break;
        case ValueType::U32: v.bits = cur.read<uint32_t>(key); break;
        case ValueType::I32: v.bits = static_cast<uint64_t>(static_cast<int64_t>(cur.read<int32_t>(key))); break;
        case ValueType::U64: v.bits = cur.read<uint64_t>(key); break;
        case ValueType::I64: v.bits = static_cast<uint64_t>(cur.read<int64_t>(key)); break;
        case ValueType::F32: v.real = cur.read<float>(key); break;
        case ValueType::F64: v.real = cur.read<double>(key); break;
        case ValueType::BOOL: {
            uint8_t b = cur.read<uint8_t>(key);
            if (b > 1) fail("{}: metadata '{}': bool value {} is neither 0 nor 1", label, key, b);
            v.bits = b;
            break;
        }
        case ValueType::STRING: v.str = cur.read_string("value of '" + key + "'"); break;
        case ValueType::ARRAY: {
            if (depth >= kMaxArrayDepth)
                fail("{}: metadata '{}': arrays nested deeper than {}", label, key, kMaxArrayDepth);
            uint32_t et = cur.read<uint32_t>(key);
            if (!known_value_type(et))
                fail("{}: metadata '{}': unknown array element type {}", label, key, et);
            v.element_type = static_cast<ValueType>(et);
            uint64_t n = cur.read<uint64_t>(key);
            // Every element takes at least one byte (strings and arrays at least 8), so a count
            // larger than what is left is a lie; checking first avoids a huge allocation.
            size_t min_elem = v.element_type == ValueType::STRING || v.element_type == ValueType::ARRAY
                                  ? 8 : scalar_size(v.element_type);
            if (n > cur.remaining() / min_elem)
                fail("{}: truncated file: metadata '{}' declares {} array elements, more than the "
                     "file can hold", label, key, n);
            elements_read += n;
            if (elements_read > kMaxArrayElements)
                fail("{}: metadata '{}': more than {} array elements in the file's metadata", label, key,
                     kMaxArrayElements);
            v.array.reserve(n);
            for (uint64_t i = 0; i < n; ++i)
                v.array.push_back(read_value(cur, label, key, v.element_type, depth + 1, elements_read));
            break;
        }
    }
    return v;
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t& out) {
    return __builtin_mul_overflow(a, b, &out);
}

}  // namespace

const char* value_type_name(ValueType type) {
    switch (type) {
        case ValueType::U8: return "u8";
        case ValueType::I8: return "i8";
        case ValueType::U16: return "u16";
        case ValueType::I16: return "i16";
        case ValueType::U32: return "u32";
        case ValueType::I32: return "i32";
        case ValueType::F32: return "f32";
        case ValueType::BOOL: return "bool";
        case ValueType::STRING: return "string";
        case ValueType::ARRAY: return "array";
        case ValueType::U64: return "u64";
        case ValueType::I64: return "i64";
        case ValueType::F64: return "f64";
    }
    return "?";
}

bool Value::is_integer() const {
    switch (type) {
        case ValueType::U8: case ValueType::I8: case ValueType::U16: case ValueType::I16:
        case ValueType::U32: case ValueType::I32: case ValueType::U64: case ValueType::I64:
            return true;
        default: return false;
    }
}

static bool is_signed(ValueType t) {
    return t == ValueType::I8 || t == ValueType::I16 || t == ValueType::I32 || t == ValueType::I64;
}

uint64_t Value::to_u64(std::string_view what) const {
    if (!is_integer()) fail("{}: expected an integer, found {}", what, value_type_name(type));
    if (is_signed(type) && static_cast<int64_t>(bits) < 0)
        fail("{}: expected a non-negative integer, found {}", what, static_cast<int64_t>(bits));
    return bits;
}

int64_t Value::to_i64(std::string_view what) const {
    if (!is_integer()) fail("{}: expected an integer, found {}", what, value_type_name(type));
    if (!is_signed(type) && bits > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail("{}: integer {} is out of range", what, bits);
    return static_cast<int64_t>(bits);
}

double Value::to_f64(std::string_view what) const {
    if (is_float()) return real;
    if (is_integer()) return is_signed(type) ? static_cast<double>(static_cast<int64_t>(bits))
                                             : static_cast<double>(bits);
    fail("{}: expected a number, found {}", what, value_type_name(type));
}

bool Value::to_bool(std::string_view what) const {
    if (type != ValueType::BOOL) fail("{}: expected a bool, found {}", what, value_type_name(type));
    return bits != 0;
}

const std::string& Value::to_string(std::string_view what) const {
    if (type != ValueType::STRING) fail("{}: expected a string, found {}", what, value_type_name(type));
    return str;
}

std::string TensorInfo::shape_string() const {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

std::unique_ptr<File> File::open(const std::string& path) {
    auto map = std::make_unique<MappedFile>(path);
    std::unique_ptr<File> f(new File());
    f->label_ = path;
    f->base_ = map->data();
    f->size_ = map->size();
    f->map_ = std::move(map);
    f->parse_all();
    return f;
}

std::unique_ptr<File> File::parse(const std::string& label, const uint8_t* data, size_t size) {
    std::unique_ptr<File> f(new File());
    f->label_ = label;
    f->base_ = data;
    f->size_ = size;
    f->parse_all();
    return f;
}

void File::parse_all() {
    const std::string& L = label_;
    if (size_ == 0) fail("{}: file is empty", L);
    Cursor cur(L, base_, size_);
    if (size_ < 4) fail("{}: not a GGUF file (only {} bytes)", L, size_);
    uint32_t magic = cur.read<uint32_t>("magic");
    if (magic != kMagic) {
        std::string shown;
        for (int i = 0; i < 4; ++i) {
            char c = static_cast<char>(base_[i]);
            shown += (c >= 0x20 && c < 0x7f) ? std::string(1, c) : fmt::format("\\x{:02x}", base_[i]);
        }
        fail("{}: not a GGUF file (magic is \"{}\", expected \"GGUF\")", L, shown);
    }
    version_ = cur.read<uint32_t>("version");
    if (version_ == 1) fail("{}: GGUF v1 is not supported (re-convert the model with a current converter)", L);
    if (version_ != 2 && version_ != 3) {
        // A big-endian file reads its version byte-swapped.
        if (version_ == 0x02000000u || version_ == 0x03000000u)
            fail("{}: big-endian GGUF is not supported", L);
        fail("{}: unsupported GGUF version {} (supported: 2, 3)", L, version_);
    }
    uint64_t n_tensors = cur.read<uint64_t>("tensor count");
    uint64_t n_kv = cur.read<uint64_t>("metadata count");
    // Each KV takes at least 12 bytes, each tensor entry at least 24: reject absurd counts early.
    if (n_kv > cur.remaining() / 12) fail("{}: truncated file: header declares {} metadata entries", L, n_kv);
    if (n_tensors > cur.remaining() / 24) fail("{}: truncated file: header declares {} tensors", L, n_tensors);

    // Names seen so far, for the duplicate checks (a linear scan would make a header with many
    // entries quadratic). The views point into metadata_/tensors_, which never reallocate here.
    std::unordered_set<std::string_view> seen;
    metadata_.reserve(n_kv);
    uint64_t array_elements = 0;
    for (uint64_t i = 0; i < n_kv; ++i) {
        std::string key = cur.read_string(fmt::format("key of metadata entry {}", i));
        uint32_t t = cur.read<uint32_t>(key);
        if (!known_value_type(t)) fail("{}: metadata '{}' has unknown value type {}", L, key, t);
        if (seen.count(key)) fail("{}: metadata key '{}' appears twice", L, key);
        Value v = read_value(cur, L, key, static_cast<ValueType>(t), 0, array_elements);
        metadata_.push_back({std::move(key), std::move(v)});
        seen.insert(metadata_.back().key);
    }

    if (const Value* a = find("general.alignment")) {
        uint64_t al = a->to_u64(fmt::format("{}: metadata 'general.alignment'", L));
        if (al == 0 || (al & (al - 1)) != 0 || al > (1u << 20))
            fail("{}: general.alignment = {} is not a power of two from 1 to {}", L, al, 1u << 20);
        alignment_ = static_cast<size_t>(al);
    }

    tensors_.reserve(n_tensors);
    seen.clear();
    for (uint64_t i = 0; i < n_tensors; ++i) {
        TensorInfo t;
        t.name = cur.read_string(fmt::format("name of tensor {}", i));
        uint32_t nd = cur.read<uint32_t>(t.name);
        if (nd == 0 || nd > kMaxDims)
            fail("{}: tensor '{}' has {} dimensions (supported: 1 to {})", L, t.name, nd, kMaxDims);
        uint64_t count = 1;
        for (uint32_t d = 0; d < nd; ++d) {
            uint64_t n = cur.read<uint64_t>(t.name);
            if (n > (1ull << 40)) fail("{}: tensor '{}' dimension {} is {}, out of range", L, t.name, d, n);
            if (mul_overflows(count, n, count) || count > (1ull << 50))
                fail("{}: tensor '{}' has too many elements", L, t.name);
            t.dims.push_back(static_cast<int64_t>(n));
        }
        t.n_elements = static_cast<int64_t>(count);
        t.type_id = cur.read<uint32_t>(t.name);
        t.offset = cur.read<uint64_t>(t.name);
        t.traits = find_type_traits(t.type_id);
        if (!t.traits) fail("{}: tensor '{}' has unknown type id {}", L, t.name, t.type_id);
        if (t.dims[0] % t.traits->block_size != 0)
            fail("{}: tensor '{}' {} has rows of {} elements, not a multiple of the {} block size {}",
                 L, t.name, t.shape_string(), t.dims[0], t.traits->name, t.traits->block_size);
        uint64_t bytes = 0;
        if (mul_overflows(count / t.traits->block_size, t.traits->block_bytes, bytes))
            fail("{}: tensor '{}' is too large", L, t.name);
        t.n_bytes = bytes;
        if (seen.count(t.name)) fail("{}: tensor name '{}' appears twice", L, t.name);
        tensors_.push_back(std::move(t));
        seen.insert(tensors_.back().name);
    }

    // Tensor data starts at the next multiple of the alignment. A file without tensors
    // (vocabulary only) may end right after the header.
    size_t header_end = cur.position();
    data_offset_ = (header_end + alignment_ - 1) / alignment_ * alignment_;
    if (tensors_.empty()) return;
    if (data_offset_ > size_)
        fail("{}: truncated file: tensor data should start at offset {}, file has {} bytes", L,
             data_offset_, size_);
    size_t data_size = size_ - data_offset_;
    for (auto& t : tensors_) {
        if (t.offset % alignment_ != 0)
            fail("{}: tensor '{}' data offset {} is not a multiple of the alignment {}", L, t.name,
                 t.offset, alignment_);
        if (t.offset > data_size || t.n_bytes > data_size - t.offset)
            fail("{}: tensor '{}' data [{}, {}) lies outside the file's {} data bytes (truncated file?)",
                 L, t.name, t.offset, t.offset + t.n_bytes, data_size);
        t.data = base_ + data_offset_ + t.offset;
    }
}

const Value* File::find(std::string_view key) const {
    for (const auto& kv : metadata_)
        if (kv.key == key) return &kv.value;
    return nullptr;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
    for (const auto& t : tensors_)
        if (t.name == name) return &t;
    return nullptr;
}

static std::string key_label(const std::string& path, std::string_view key) {
    return fmt::format("{}: metadata '{}'", path, key);
}

std::optional<uint64_t> File::get_u64(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return std::nullopt;
    return v->to_u64(key_label(label_, key));
}

std::optional<double> File::get_f64(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return std::nullopt;
    return v->to_f64(key_label(label_, key));
}

std::optional<bool> File::get_bool(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return std::nullopt;
    return v->to_bool(key_label(label_, key));
}

std::optional<std::string> File::get_string(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return std::nullopt;
    return v->to_string(key_label(label_, key));
}

uint64_t File::require_u64(std::string_view key) const {
    auto v = get_u64(key);
    if (!v) fail("{}: missing required key '{}'", label_, key);
    return *v;
}

std::string File::require_string(std::string_view key) const {
    auto v = get_string(key);
    if (!v) fail("{}: missing required key '{}'", label_, key);
    return *v;
}

static const Value* find_array(const File& f, std::string_view key, const std::string& label) {
    const Value* v = f.find(key);
    if (v && v->type != ValueType::ARRAY)
        fail("{}: expected an array, found {}", label, value_type_name(v->type));
    return v;
}

std::vector<std::string> File::get_string_array(std::string_view key) const {
    std::string label = key_label(label_, key);
    std::vector<std::string> out;
    if (const Value* v = find_array(*this, key, label)) {
        out.reserve(v->array.size());
        for (const auto& e : v->array) out.push_back(e.to_string(label));
    }
    return out;
}

std::vector<double> File::get_f64_array(std::string_view key) const {
    std::string label = key_label(label_, key);
    std::vector<double> out;
    if (const Value* v = find_array(*this, key, label)) {
        out.reserve(v->array.size());
        for (const auto& e : v->array) out.push_back(e.to_f64(label));
    }
    return out;
}

std::vector<int64_t> File::get_i64_array(std::string_view key) const {
    std::string label = key_label(label_, key);
    std::vector<int64_t> out;
    if (const Value* v = find_array(*this, key, label)) {
        out.reserve(v->array.size());
        for (const auto& e : v->array) out.push_back(e.to_i64(label));
    }
    return out;
}

std::vector<bool> File::get_bool_array(std::string_view key) const {
    std::string label = key_label(label_, key);
    std::vector<bool> out;
    if (const Value* v = find_array(*this, key, label)) {
        out.reserve(v->array.size());
        for (const auto& e : v->array) out.push_back(e.to_bool(label));
    }
    return out;
}

}  // namespace hearth::gguf
