// Executors of the amorphous term (kernels/amorphous_physics.hpp): the CPU
// (SIMD lanes for this machine's ISA, or the scalar reference with
// NB_CPU_ISA=scalar) and CUDA.
#pragma once

#include "kernels/amorphous_physics.hpp"
#include "kernels/cpu_launcher.hpp"

namespace nb {

// Renders every in-ROI, unmasked pixel into image (fpixels*spixels floats;
// others are left alone) and the sum of each row's solid angles into
// row_omega[s] (spixels entries; C prints the total).
template <typename T>
void render_amorphous_cpu(const PixelParams<T>& p, const AmorphousParams<T>& a, float* image, double* row_omega,
                          int threads, const RowHooks& hooks);

// The same on the GPU (tables up, image down); `omega_total`: the solid
// angles summed. Throws std::runtime_error without a CUDA build or device.
template <typename T>
void render_amorphous_cuda(const PixelParams<T>& p, const AmorphousParams<T>& a, float* image, double* omega_total);

}  // namespace nb
