#include "gguf/writer.h"

#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <random>
#include <unistd.h>

#include "common/error.h"

namespace hearth::gguf {

static_assert(std::endian::native == std::endian::little, "the GGUF writer assumes a little-endian host");

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" as a little-endian u32
constexpr int kMaxArrayDepth = 8;        // as the reader
constexpr size_t kMaxDims = 4;
constexpr size_t kMaxNameBytes = 63;     // ggml's GGML_MAX_NAME (64) less the terminator
constexpr uint64_t kMaxAlignment = 1u << 20;

Value scalar(ValueType type, uint64_t bits) {
    Value v;
    v.type = type;
    v.bits = bits;
    return v;
}

uint64_t sext(int64_t v) { return static_cast<uint64_t>(v); }

bool fits(ValueType type, uint64_t bits) {
    auto s = static_cast<int64_t>(bits);
    switch (type) {
        case ValueType::U8: return bits <= std::numeric_limits<uint8_t>::max();
        case ValueType::U16: return bits <= std::numeric_limits<uint16_t>::max();
        case ValueType::U32: return bits <= std::numeric_limits<uint32_t>::max();
        case ValueType::I8: return s >= std::numeric_limits<int8_t>::min() && s <= std::numeric_limits<int8_t>::max();
        case ValueType::I16: return s >= std::numeric_limits<int16_t>::min() && s <= std::numeric_limits<int16_t>::max();
        case ValueType::I32: return s >= std::numeric_limits<int32_t>::min() && s <= std::numeric_limits<int32_t>::max();
        case ValueType::BOOL: return bits <= 1;
        default: return true;  // U64, I64
    }
}

void check_value(const std::string& key, const Value& v, int depth) {
    switch (v.type) {
        case ValueType::U8: case ValueType::I8: case ValueType::U16: case ValueType::I16:
        case ValueType::U32: case ValueType::I32: case ValueType::U64: case ValueType::I64:
        case ValueType::BOOL:
            if (!fits(v.type, v.bits))
                fail("gguf writer: metadata '{}': value {} does not fit {}", key, v.bits,
                     value_type_name(v.type));
            return;
        case ValueType::F32: case ValueType::F64: case ValueType::STRING: return;
        case ValueType::ARRAY:
            if (depth >= kMaxArrayDepth)
                fail("gguf writer: metadata '{}': arrays nested deeper than {}", key, kMaxArrayDepth);
            if (static_cast<uint32_t>(v.element_type) > static_cast<uint32_t>(ValueType::F64))
                fail("gguf writer: metadata '{}': unknown array element type {}", key,
                     static_cast<uint32_t>(v.element_type));
            for (const Value& e : v.array) {
                if (e.type != v.element_type)
                    fail("gguf writer: metadata '{}': {} element in an array of {}", key,
                         value_type_name(e.type), value_type_name(v.element_type));
                check_value(key, e, depth + 1);
            }
            return;
    }
    fail("gguf writer: metadata '{}': unknown value type {}", key, static_cast<uint32_t>(v.type));
}

// Appends little-endian encodings to a byte buffer.
class Encoder {
public:
    explicit Encoder(std::vector<uint8_t>& out) : out_(out) {}
    template <typename T>
    void put(T v) {
        const size_t at = out_.size();
        out_.resize(at + sizeof(T));
        std::memcpy(out_.data() + at, &v, sizeof(T));
    }
    void put_string(std::string_view s) {
        put<uint64_t>(s.size());
        out_.insert(out_.end(), s.begin(), s.end());
    }
    // The payload only: the type tag is written by the caller (a key's tag, or an array's
    // element type once for all elements).
    void put_value(const Value& v) {
        switch (v.type) {
            case ValueType::U8: case ValueType::I8: case ValueType::BOOL: put(static_cast<uint8_t>(v.bits)); break;
            case ValueType::U16: case ValueType::I16: put(static_cast<uint16_t>(v.bits)); break;
            case ValueType::U32: case ValueType::I32: put(static_cast<uint32_t>(v.bits)); break;
            case ValueType::U64: case ValueType::I64: put(v.bits); break;
            case ValueType::F32: put(static_cast<float>(v.real)); break;
            case ValueType::F64: put(v.real); break;
            case ValueType::STRING: put_string(v.str); break;
            case ValueType::ARRAY:
                put(static_cast<uint32_t>(v.element_type));
                put<uint64_t>(v.array.size());
                for (const Value& e : v.array) put_value(e);
                break;
        }
    }

private:
    std::vector<uint8_t>& out_;
};

std::string shape_string(const std::vector<int64_t>& dims) {
    TensorInfo info;
    info.dims = dims;
    return info.shape_string();
}

size_t pad_to(size_t n, size_t alignment) { return (n + alignment - 1) / alignment * alignment; }

// Writes all of [data, data + n) to fd, retrying short writes.
void write_all(int fd, const uint8_t* data, size_t n, const std::string& path) {
    while (n > 0) {
        ssize_t w = ::write(fd, data, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            fail("{}: write failed: {}", path, std::strerror(errno));
        }
        data += w;
        n -= static_cast<size_t>(w);
    }
}

}  // namespace

namespace make {
Value u8(uint8_t v) { return scalar(ValueType::U8, v); }
Value i8(int8_t v) { return scalar(ValueType::I8, sext(v)); }
Value u16(uint16_t v) { return scalar(ValueType::U16, v); }
Value i16(int16_t v) { return scalar(ValueType::I16, sext(v)); }
Value u32(uint32_t v) { return scalar(ValueType::U32, v); }
Value i32(int32_t v) { return scalar(ValueType::I32, sext(v)); }
Value u64(uint64_t v) { return scalar(ValueType::U64, v); }
Value i64(int64_t v) { return scalar(ValueType::I64, sext(v)); }
Value boolean(bool v) { return scalar(ValueType::BOOL, v ? 1 : 0); }
Value f32(float v) {
    Value r;
    r.type = ValueType::F32;
    r.real = v;
    return r;
}
Value f64(double v) {
    Value r;
    r.type = ValueType::F64;
    r.real = v;
    return r;
}
Value string(std::string v) {
    Value r;
    r.type = ValueType::STRING;
    r.str = std::move(v);
    return r;
}
Value array(ValueType element_type, std::vector<Value> elements) {
    Value r;
    r.type = ValueType::ARRAY;
    r.element_type = element_type;
    r.array = std::move(elements);
    return r;
}
Value strings(const std::vector<std::string>& v) {
    std::vector<Value> e;
    e.reserve(v.size());
    for (const auto& s : v) e.push_back(string(s));
    return array(ValueType::STRING, std::move(e));
}
Value i32s(std::span<const int32_t> v) {
    std::vector<Value> e;
    e.reserve(v.size());
    for (int32_t x : v) e.push_back(i32(x));
    return array(ValueType::I32, std::move(e));
}
Value bools(const std::vector<bool>& v) {
    std::vector<Value> e;
    e.reserve(v.size());
    for (bool x : v) e.push_back(boolean(x));
    return array(ValueType::BOOL, std::move(e));
}
Value u32s(std::span<const uint32_t> v) {
    std::vector<Value> e;
    e.reserve(v.size());
    for (uint32_t x : v) e.push_back(u32(x));
    return array(ValueType::U32, std::move(e));
}
Value f32s(std::span<const float> v) {
    std::vector<Value> e;
    e.reserve(v.size());
    for (float x : v) e.push_back(f32(x));
    return array(ValueType::F32, std::move(e));
}
}  // namespace make

Writer::Writer(uint32_t version) : version_(version) {
    if (version != 2 && version != 3)
        fail("gguf writer: cannot write GGUF version {} (supported: 2, 3)", version);
}

void Writer::set(std::string key, Value value) {
    check_value(key, value, 0);
    if (key == "general.alignment") {
        if (value.type != ValueType::U32 || value.bits == 0 || (value.bits & (value.bits - 1)) != 0 ||
            value.bits > kMaxAlignment)
            fail("gguf writer: general.alignment must be a u32 power of two up to {}, got {} {}",
                 kMaxAlignment, value_type_name(value.type), value.bits);
    }
    for (auto& kv : metadata_)
        if (kv.key == key) {
            kv.value = std::move(value);
            return;
        }
    metadata_.push_back({std::move(key), std::move(value)});
}

const Value* Writer::find(std::string_view key) const {
    for (const auto& kv : metadata_)
        if (kv.key == key) return &kv.value;
    return nullptr;
}

void Writer::add_tensor(std::string name, uint32_t type_id, std::vector<int64_t> dims,
                        std::vector<uint8_t> bytes) {
    add(Tensor{std::move(name), type_id, std::move(dims), bytes.size(), std::move(bytes), nullptr});
}

void Writer::add_tensor(std::string name, uint32_t type_id, std::vector<int64_t> dims, FillFn fill) {
    if (!fill) fail("gguf writer: tensor '{}' has no fill function", name);
    add(Tensor{std::move(name), type_id, std::move(dims), 0, {}, std::move(fill)});
}

void Writer::add(Tensor t) {
    const std::string& n = t.name;
    if (n.empty() || n.size() > kMaxNameBytes)
        fail("gguf writer: tensor name '{}' must be 1 to {} bytes long", n, kMaxNameBytes);
    for (const auto& other : tensors_)
        if (other.name == n) fail("gguf writer: tensor name '{}' appears twice", n);
    const TypeTraits* traits = find_type_traits(t.type_id);
    if (!traits) fail("gguf writer: tensor '{}' has unknown type id {}", n, t.type_id);
    if (t.dims.empty() || t.dims.size() > kMaxDims)
        fail("gguf writer: tensor '{}' has {} dimensions (supported: 1 to {})", n, t.dims.size(), kMaxDims);
    uint64_t count = 1;
    for (int64_t d : t.dims) {
        if (d < 0 || d > (int64_t{1} << 40) || __builtin_mul_overflow(count, static_cast<uint64_t>(d), &count) ||
            count > (uint64_t{1} << 50))
            fail("gguf writer: tensor '{}' has an out-of-range dimension {}", n, d);
    }
    if (t.dims[0] % traits->block_size != 0)
        fail("gguf writer: tensor '{}' has rows of {} elements, not a multiple of the {} block size {}",
             n, t.dims[0], traits->name, traits->block_size);
    const size_t need = count / traits->block_size * traits->block_bytes;
    if (t.fill)
        t.n_bytes = need;
    else if (t.n_bytes != need)
        fail("gguf writer: tensor '{}' {} {} needs {} bytes, got {}", n, traits->name,
             shape_string(t.dims), need, t.n_bytes);
    tensors_.push_back(std::move(t));
}

size_t Writer::alignment() const {
    const Value* a = find("general.alignment");
    return a ? static_cast<size_t>(a->bits) : 32;
}

void Writer::emit(const Sink& sink) const {
    const size_t align = alignment();
    std::vector<uint8_t> head;
    Encoder enc(head);
    enc.put(kMagic);
    enc.put(version_);
    enc.put<uint64_t>(tensors_.size());
    enc.put<uint64_t>(metadata_.size());
    for (const auto& kv : metadata_) {
        enc.put_string(kv.key);
        enc.put(static_cast<uint32_t>(kv.value.type));
        enc.put_value(kv.value);
    }
    uint64_t offset = 0;
    for (const auto& t : tensors_) {
        enc.put_string(t.name);
        enc.put(static_cast<uint32_t>(t.dims.size()));
        for (int64_t d : t.dims) enc.put(static_cast<uint64_t>(d));
        enc.put(t.type_id);
        enc.put(offset);
        offset += pad_to(t.n_bytes, align);
    }
    head.resize(pad_to(head.size(), align), 0);
    sink(head.data(), head.size());

    const std::vector<uint8_t> zeros(align, 0);
    std::vector<uint8_t> buffer;
    for (const auto& t : tensors_) {
        if (t.fill) {
            buffer.assign(t.n_bytes, 0);
            t.fill(buffer.data(), buffer.size());
            sink(buffer.data(), buffer.size());
        } else {
            sink(t.bytes.data(), t.bytes.size());
        }
        sink(zeros.data(), pad_to(t.n_bytes, align) - t.n_bytes);
    }
}

std::vector<uint8_t> Writer::to_bytes() const {
    std::vector<uint8_t> out;
    emit([&](const uint8_t* data, size_t n) { out.insert(out.end(), data, data + n); });
    return out;
}

void Writer::write(const std::string& path) const {
    // A unique name beside the target, so the final rename stays on one file system.
    std::random_device rd;
    const std::string tmp = fmt::format("{}.tmp.{}.{:08x}", path, ::getpid(), rd());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) fail("{}: cannot create {}: {}", path, tmp, std::strerror(errno));
    try {
        emit([&](const uint8_t* data, size_t n) { write_all(fd, data, n, path); });
        if (::fsync(fd) != 0) fail("{}: fsync failed: {}", path, std::strerror(errno));
        int rc = ::close(fd);
        fd = -1;
        if (rc != 0) fail("{}: close failed: {}", path, std::strerror(errno));
        if (::rename(tmp.c_str(), path.c_str()) != 0)
            fail("{}: cannot rename {} over it: {}", path, tmp, std::strerror(errno));
    } catch (...) {
        if (fd >= 0) ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
}

}  // namespace hearth::gguf
