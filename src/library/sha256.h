#pragma once
// SHA-256 (FIPS 180-4), written out so libhearth needs no crypto library just to check
// downloads and name blobs. Streaming: update() as bytes arrive, hex() at the end.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hearth::library {

class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t size);
    void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
    // Finishes the hash (the object cannot be updated afterwards): 64 lowercase hex digits.
    std::string hex();

private:
    void block(const uint8_t* p);
    std::array<uint32_t, 8> h_;
    std::array<uint8_t, 64> buf_{};
    size_t buf_len_ = 0;
    uint64_t total_ = 0;
};

std::string sha256_hex(std::string_view bytes);
// Hashes a whole file; throws hearth::Error naming the file when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace hearth::library
