// A stand-in for libnvidia-ml.so.1 with the few entry points hearth's NVML power reader uses,
// so the run-time loading path is tested on machines without an NVIDIA GPU. Two "GPUs" drawing
// 150 W and 50 W; HEARTH_FAKE_NVML_INIT_ERROR=N makes nvmlInit_v2 fail with code N.
#include <cstdint>
#include <cstdlib>

extern "C" {

int nvmlInit_v2() {
    const char* e = std::getenv("HEARTH_FAKE_NVML_INIT_ERROR");
    return e ? std::atoi(e) : 0;
}
int nvmlShutdown() { return 0; }
int nvmlDeviceGetCount_v2(unsigned* count) {
    *count = 2;
    return 0;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned index, void** device) {
    if (index >= 2) return 2;  // NVML_ERROR_INVALID_ARGUMENT
    *device = reinterpret_cast<void*>(static_cast<uintptr_t>(index + 1));
    return 0;
}
int nvmlDeviceGetPowerUsage(void* device, unsigned* milliwatts) {
    *milliwatts = reinterpret_cast<uintptr_t>(device) == 1 ? 150000 : 50000;
    return 0;
}
const char* nvmlErrorString(int code) { return code == 9 ? "Driver Not Loaded" : "Unknown Error"; }
}
