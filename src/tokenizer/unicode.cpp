#include "tokenizer/unicode.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>

namespace hearth::unicode {

namespace data {
// unicode_data.cpp (generated).
extern const char kUnicodeVersion[];
extern const uint32_t kCategoryRuns[];
extern const size_t kCategoryRunsSize;
extern const uint32_t kCombiningRuns[];
extern const size_t kCombiningRunsSize;
extern const uint32_t kDecompositions[];
extern const size_t kDecompositionsSize;
extern const uint32_t kCompositions[];
extern const size_t kCompositionsSize;
extern const uint32_t kNfcUnsafeRanges[];
extern const size_t kNfcUnsafeRangesSize;
}  // namespace data

namespace {

// Runs are (start << 8) | value, sorted; the value of `cp` is that of the last run starting at
// or before it.
uint8_t run_value(const uint32_t* runs, size_t n, uint32_t cp) {
    const uint32_t key = (cp << 8) | 0xFF;
    const uint32_t* it = std::upper_bound(runs, runs + n, key);
    return it == runs ? 0 : static_cast<uint8_t>(*(it - 1) & 0xFF);
}

// The Basic Multilingual Plane gets a direct table (64 KiB), built on first use.
const std::array<uint8_t, 0x10000>& bmp_categories() {
    static const auto table = [] {
        auto t = std::make_unique<std::array<uint8_t, 0x10000>>();
        size_t r = 0;
        for (uint32_t cp = 0; cp < 0x10000; ++cp) {
            while (r + 1 < data::kCategoryRunsSize && (data::kCategoryRuns[r + 1] >> 8) <= cp) ++r;
            (*t)[cp] = static_cast<uint8_t>(data::kCategoryRuns[r] & 0xFF);
        }
        return t;
    }();
    return *table;
}

// Hangul syllable composition (Unicode §3.12).
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr uint32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

// The one-level canonical decomposition of `cp`: {first, second (0 for a singleton)}, or
// nullptr when it has none (Hangul excluded).
const uint32_t* find_decomposition(uint32_t cp) {
    size_t lo = 0, hi = data::kDecompositionsSize / 3;
    while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        const uint32_t key = data::kDecompositions[mid * 3];
        if (key == cp) return &data::kDecompositions[mid * 3 + 1];
        if (key < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return nullptr;
}

void decompose_into(uint32_t cp, std::vector<uint32_t>& out) {
    if (cp >= kSBase && cp < kSBase + kSCount) {
        const uint32_t s = cp - kSBase;
        out.push_back(kLBase + s / kNCount);
        out.push_back(kVBase + (s % kNCount) / kTCount);
        if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
        return;
    }
    if (cp < 0xC0 || cp >= kInvalidBase) {  // nothing below U+00C0 decomposes
        out.push_back(cp);
        return;
    }
    if (const uint32_t* d = find_decomposition(cp)) {
        decompose_into(d[0], out);
        if (d[1] != 0) decompose_into(d[1], out);
        return;
    }
    out.push_back(cp);
}

// The primary composite of `a` followed by `b`, or 0.
uint32_t compose_pair(uint32_t a, uint32_t b) {
    if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
        return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
    if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
        b < kTBase + kTCount)
        return a + (b - kTBase);
    size_t lo = 0, hi = data::kCompositionsSize / 3;
    while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        const uint32_t* e = &data::kCompositions[mid * 3];
        if (e[0] == a && e[1] == b) return e[2];
        if (e[0] < a || (e[0] == a && e[1] < b))
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

bool nfc_unsafe(uint32_t cp) {
    if (cp < 0x300 || cp >= kInvalidBase) return false;
    size_t lo = 0, hi = data::kNfcUnsafeRangesSize / 2;
    while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        if (data::kNfcUnsafeRanges[mid * 2 + 1] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < data::kNfcUnsafeRangesSize / 2 && data::kNfcUnsafeRanges[lo * 2] <= cp;
}

// Decodes one code point at text[i]; `len` gets its byte length. Invalid → kInvalidBase + byte.
uint32_t decode_one(std::string_view text, size_t i, size_t& len) {
    const auto b0 = static_cast<uint8_t>(text[i]);
    len = 1;
    if (b0 < 0x80) return b0;
    size_t n;
    uint32_t cp;
    if ((b0 & 0xE0) == 0xC0) {
        n = 2;
        cp = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
        n = 3;
        cp = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
        n = 4;
        cp = b0 & 0x07;
    } else
        return kInvalidBase + b0;
    if (i + n > text.size()) return kInvalidBase + b0;
    for (size_t k = 1; k < n; ++k) {
        const auto b = static_cast<uint8_t>(text[i + k]);
        if ((b & 0xC0) != 0x80) return kInvalidBase + b0;
        cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return kInvalidBase + b0;
    len = n;
    return cp;
}

}  // namespace

Category category(uint32_t cp) {
    if (cp < 0x10000) return static_cast<Category>(bmp_categories()[cp]);
    if (cp > 0x10FFFF) return Category::Cn;
    return static_cast<Category>(run_value(data::kCategoryRuns, data::kCategoryRunsSize, cp));
}

bool is_white_space(uint32_t cp) {
    // PropList.txt White_Space (unchanged since Unicode 6.3).
    if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
    if (cp < 0x85) return false;
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

uint8_t combining_class(uint32_t cp) {
    if (cp < 0x300 || cp >= kInvalidBase) return 0;
    return run_value(data::kCombiningRuns, data::kCombiningRunsSize, cp);
}

CategoryMask category_mask(std::string_view name) {
    static constexpr std::string_view kNames[kCategoryCount] = {
        "Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps",
        "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co",
    };
    if (name == "L" || name == "Letter") return kLetter;
    if (name == "M" || name == "Mark") return kMark;
    if (name == "N" || name == "Number") return kNumber;
    if (name == "P" || name == "Punctuation") return kPunctuation;
    if (name == "S" || name == "Symbol") return kSymbol;
    if (name == "Z" || name == "Separator") return kSeparator;
    if (name == "C" || name == "Other") return kOther;
    if (name == "L&" || name == "LC") {
        return mask_of(Category::Lu) | mask_of(Category::Ll) | mask_of(Category::Lt);
    }
    for (int i = 0; i < kCategoryCount; ++i)
        if (kNames[i] == name) return mask_of(static_cast<Category>(i));
    return 0;
}

const char* version() { return data::kUnicodeVersion; }

std::vector<uint32_t> decode(std::string_view text, std::vector<uint32_t>* offsets) {
    std::vector<uint32_t> cps;
    cps.reserve(text.size());
    if (offsets) {
        offsets->clear();
        offsets->reserve(text.size() + 1);
    }
    for (size_t i = 0; i < text.size();) {
        size_t len;
        const uint32_t cp = decode_one(text, i, len);
        if (offsets) offsets->push_back(static_cast<uint32_t>(i));
        cps.push_back(cp);
        i += len;
    }
    if (offsets) offsets->push_back(static_cast<uint32_t>(text.size()));
    return cps;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp >= kInvalidBase) {
        out += static_cast<char>(cp - kInvalidBase);
    } else if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::string encode(const std::vector<uint32_t>& cps) {
    std::string out;
    out.reserve(cps.size());
    for (uint32_t cp : cps) append_utf8(out, cp);
    return out;
}

bool is_nfc_quick(std::string_view text) {
    for (size_t i = 0; i < text.size();) {
        if (static_cast<uint8_t>(text[i]) < 0xCC) {  // below U+0300 (and invalid bytes)
            ++i;
            continue;
        }
        size_t len;
        const uint32_t cp = decode_one(text, i, len);
        if (nfc_unsafe(cp)) return false;
        i += len;
    }
    return true;
}

std::string nfc(std::string_view text) {
    if (is_nfc_quick(text)) return std::string(text);

    // 1. Full canonical decomposition.
    std::vector<uint32_t> d;
    d.reserve(text.size() + 8);
    for (uint32_t cp : decode(text)) decompose_into(cp, d);

    // 2. Canonical ordering: stable sort every run of non-starters by combining class.
    for (size_t i = 0; i < d.size();) {
        if (combining_class(d[i]) == 0) {
            ++i;
            continue;
        }
        size_t j = i;
        while (j < d.size() && combining_class(d[j]) != 0) ++j;
        std::stable_sort(
            d.begin() + static_cast<std::ptrdiff_t>(i), d.begin() + static_cast<std::ptrdiff_t>(j),
            [](uint32_t a, uint32_t b) { return combining_class(a) < combining_class(b); });
        i = j;
    }

    // 3. Canonical composition: a character combines with the last starter unless a character
    //    between them has a combining class of 0 or at least its own.
    std::vector<uint32_t> out;
    out.reserve(d.size());
    constexpr size_t kNone = static_cast<size_t>(-1);
    size_t starter = kNone;
    int last_cc = 0;
    for (uint32_t ch : d) {
        const int cc = combining_class(ch);
        if (starter != kNone) {
            const bool adjacent = out.size() - 1 == starter;
            if (adjacent || (last_cc != 0 && last_cc < cc)) {
                if (const uint32_t c = compose_pair(out[starter], ch)) {
                    out[starter] = c;
                    continue;
                }
            }
        }
        if (cc == 0) starter = out.size();
        last_cc = cc;
        out.push_back(ch);
    }
    return encode(out);
}

}  // namespace hearth::unicode
