// Stand-ins used when the project is built without nvcc.
#ifndef NB_HAVE_CUDA
#include <stdexcept>

#include "kernels/amorphous_launcher.hpp"
#include "kernels/cuda_launcher.hpp"

namespace nb {

int cuda_device_count() { return 0; }

void cuda_use_device(int) {}

void cuda_start(int) {}

CudaUnavailable cuda_unavailable() { return {false, "this build has no CUDA backend (nvcc was not found)"}; }

template <typename T>
FrameTicket submit_image_cuda(const PixelParams<T>&, const std::vector<BackgroundPass<T>>&) {
    throw std::runtime_error("-device cuda: this build has no CUDA backend (nvcc was not found)");
}
template FrameTicket submit_image_cuda<double>(const PixelParams<double>&, const std::vector<BackgroundPass<double>>&);
template FrameTicket submit_image_cuda<float>(const PixelParams<float>&, const std::vector<BackgroundPass<float>>&);

long long collect_image_cuda(const FrameTicket&, float*, DeviceStats*, HostCopy, int) {
    throw std::runtime_error("-device cuda: this build has no CUDA backend (nvcc was not found)");
}

template <typename T>
void render_amorphous_cuda(const PixelParams<T>&, const AmorphousParams<T>&, float*, double*) {
    throw std::runtime_error("-device cuda: this build has no CUDA backend (nvcc was not found)");
}

template void render_amorphous_cuda<double>(const PixelParams<double>&, const AmorphousParams<double>&, float*,
                                            double*);
template void render_amorphous_cuda<float>(const PixelParams<float>&, const AmorphousParams<float>&, float*, double*);

}  // namespace nb
#endif
