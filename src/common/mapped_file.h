#pragma once
// A read-only memory map of a whole file. Weights are used in place from the map (zero copy).
#include <cstddef>
#include <cstdint>
#include <string>

namespace hearth {

class MappedFile {
public:
    // Throws hearth::Error naming the path: missing file, directory, unreadable, empty.
    explicit MappedFile(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }

    // Drops the whole pages inside [p, p + n) from this process's memory (weights that were
    // copied elsewhere). The data stays readable: a later access maps it again from the page
    // cache or the file.
    void release(const uint8_t* p, size_t n) const;

private:
    std::string path_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace hearth
