// Picks the widest vector ISA this CPU supports for the OpenMP launcher.
#include <cstdlib>
#include <cstring>

#include "kernels/cpu_launcher.hpp"

namespace nb {

#define NB_DECLARE_VARIANT(isa)                                                             \
    namespace isa {                                                                         \
    template <typename T>                                                                   \
    long long render_image_cpu(const PixelParams<T>&, InterpCutoff, long long, float*, int, \
                               const std::function<void(double)>&);                         \
    }
NB_DECLARE_VARIANT(generic)
#if defined(NB_CPU_VARIANTS_x86_64) || defined(NB_CPU_VARIANTS_AMD64)
NB_DECLARE_VARIANT(avx2)
NB_DECLARE_VARIANT(avx512)
#endif

const char* cpu_isa() {
    // NB_CPU_ISA=generic|avx2|avx512 forces a variant (for benchmarks and tests)
    const char* forced = std::getenv("NB_CPU_ISA");
#if defined(NB_CPU_VARIANTS_x86_64) || defined(NB_CPU_VARIANTS_AMD64)
    if (forced && std::strcmp(forced, "generic") == 0) return "generic";
    if (forced && std::strcmp(forced, "avx2") == 0 && __builtin_cpu_supports("avx2")) return "avx2";
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        !(forced && std::strcmp(forced, "avx2") == 0))
        return "avx512";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
#endif
    (void)forced;
    return "generic";
}

template <typename T>
long long render_image_cpu(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                           int threads, const std::function<void(double)>& progress) {
    const char* isa = cpu_isa();
#if defined(NB_CPU_VARIANTS_x86_64) || defined(NB_CPU_VARIANTS_AMD64)
    if (std::strcmp(isa, "avx512") == 0)
        return avx512::render_image_cpu(p, cutoff, from_pixel, image, threads, progress);
    if (std::strcmp(isa, "avx2") == 0) return avx2::render_image_cpu(p, cutoff, from_pixel, image, threads, progress);
#endif
    (void)isa;
    return generic::render_image_cpu(p, cutoff, from_pixel, image, threads, progress);
}

template long long render_image_cpu<double>(const PixelParams<double>&, InterpCutoff, long long, float*, int,
                                            const std::function<void(double)>&);
template long long render_image_cpu<float>(const PixelParams<float>&, InterpCutoff, long long, float*, int,
                                           const std::function<void(double)>&);

}  // namespace nb
