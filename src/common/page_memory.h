#pragma once
// Large zeroed allocations straight from the kernel (repacked weights): page-aligned, asking
// for transparent huge pages so that filling a gigabyte costs hundreds of page faults instead
// of hundreds of thousands.
#include <cstddef>
#include <cstdint>
#include <memory>

namespace hearth {

// `bytes` of zeroed memory; freed when the last copy of the pointer goes. Throws
// hearth::Error when the system refuses.
std::shared_ptr<uint8_t> allocate_pages(size_t bytes);

}  // namespace hearth
