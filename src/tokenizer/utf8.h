#pragma once
// Small UTF-8 helpers shared by the tokenizers and the stream decoder. Bytes, not code points:
// nothing here validates or normalizes text.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hearth::utf8 {

// Length of the UTF-8 sequence that starts with `lead`, judged by its top four bits the way
// llama.cpp does: 0xxx and 10xx (a stray continuation byte) → 1, 110x → 2, 1110 → 3, 1111 → 4.
inline size_t sequence_length(uint8_t lead) {
    static constexpr uint8_t kLength[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return kLength[lead >> 4];
}

// Length of the longest prefix of `bytes` that does not end inside an unfinished multi-byte
// sequence: a trailing lead byte followed by fewer continuation bytes than it announces is
// cut off, everything else (including invalid bytes) is kept so that nothing is held forever.
inline size_t complete_prefix(std::string_view bytes) {
    const size_t n = bytes.size();
    // Walk back over at most three continuation bytes to the last lead byte.
    size_t i = n;
    for (size_t back = 0; back < 4 && i > 0; ++back) {
        --i;
        const auto b = static_cast<uint8_t>(bytes[i]);
        if ((b & 0xC0) != 0x80) {
            // 0xF8..0xFF never start a sequence: treat them as complete (invalid) bytes.
            const size_t need = (b >= 0xC0 && b < 0xF8) ? sequence_length(b) : 1;
            return (n - i < need) ? i : n;
        }
    }
    return n;  // only continuation bytes at the end (invalid): emit them
}

// True when `bytes` is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
inline bool is_valid(std::string_view bytes) {
    size_t i = 0;
    const size_t n = bytes.size();
    while (i < n) {
        const auto b0 = static_cast<uint8_t>(bytes[i]);
        if (b0 < 0x80) { ++i; continue; }
        size_t len;
        uint32_t cp;
        if ((b0 & 0xE0) == 0xC0) { len = 2; cp = b0 & 0x1F; }
        else if ((b0 & 0xF0) == 0xE0) { len = 3; cp = b0 & 0x0F; }
        else if ((b0 & 0xF8) == 0xF0) { len = 4; cp = b0 & 0x07; }
        else return false;
        if (i + len > n) return false;
        for (size_t k = 1; k < len; ++k) {
            const auto b = static_cast<uint8_t>(bytes[i + k]);
            if ((b & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (b & 0x3F);
        }
        static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

}  // namespace hearth::utf8
