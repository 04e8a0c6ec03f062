// Stand-ins used when the project is built without nvcc.
#ifndef NB_HAVE_CUDA
#include <stdexcept>

#include "kernels/cuda_launcher.hpp"

namespace nb {

int cuda_device_count() { return 0; }

void cuda_use_device(int) {}

template <typename T>
long long render_image_cuda(const PixelParams<T>&, float*, DeviceStats*) {
    throw std::runtime_error("-device cuda: this build has no CUDA backend (nvcc was not found)");
}

template long long render_image_cuda<double>(const PixelParams<double>&, float*, DeviceStats*);
template long long render_image_cuda<float>(const PixelParams<float>&, float*, DeviceStats*);

}  // namespace nb
#endif
