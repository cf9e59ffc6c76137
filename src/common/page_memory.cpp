#include "common/page_memory.h"

#include <cerrno>
#include <cstring>
#include <sys/mman.h>

#include "common/error.h"

namespace hearth {

std::shared_ptr<uint8_t> allocate_pages(size_t bytes) {
    constexpr size_t kPage = 4096, kHugePage = size_t{2} << 20;
    const size_t size = (bytes + kPage - 1) / kPage * kPage;
    // Map 2 MiB more than needed and trim, so that the start is 2 MiB-aligned and every whole
    // 2 MiB inside can be a huge page; the tail stays in small pages (no rounding waste).
    void* raw = ::mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) fail("cannot allocate {} bytes: {}", bytes, std::strerror(errno));
    const auto base = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t start = (base + kHugePage - 1) & ~(kHugePage - 1);
    if (start > base) ::munmap(raw, start - base);
    if (const uintptr_t end = base + size + kHugePage; end > start + size)
        ::munmap(reinterpret_cast<void*>(start + size), end - (start + size));
    auto* p = reinterpret_cast<uint8_t*>(start);
#if defined(MADV_HUGEPAGE)
    ::madvise(p, size, MADV_HUGEPAGE);  // advisory: without it the memory works the same
#endif
    return std::shared_ptr<uint8_t>(p, [size](uint8_t* q) { ::munmap(q, size); });
}

}  // namespace hearth
