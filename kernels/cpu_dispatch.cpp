// Picks the CPU executor: the SIMD one (kernels/cpu_simd.cpp) for the widest
// vector ISA this CPU supports, with exact or fast arithmetic as the run asks,
// or the scalar reference (kernels/cpu_launcher.cpp).
// NB_CPU_ISA=scalar|sse4|avx2|avx512 forces one (tests and benchmarks).
#include <cstdlib>
#include <cstring>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "kernels/amorphous_launcher.hpp"
#include "kernels/cpu_launcher.hpp"

namespace nb {

namespace scalar {
template <typename T>
long long render_image_cpu(const PixelParams<T>&, InterpCutoff, long long, float*, int, const RowHooks&);
template <typename T>
void render_amorphous_cpu(const PixelParams<T>&, const AmorphousParams<T>&, float*, double*, int, const RowHooks&);
}  // namespace scalar
#define NB_DECLARE_SIMD(variant, isa)                                                                            \
    namespace variant {                                                                                          \
    namespace isa {                                                                                              \
    long long render_rows(const PixelParams<double>&, InterpCutoff, long long, float*, int, const RowHooks&);    \
    long long render_rows(const PixelParams<float>&, InterpCutoff, long long, float*, int, const RowHooks&);     \
    void render_amorphous_rows(const PixelParams<double>&, const AmorphousParams<double>&, float*, double*, int, \
                               const RowHooks&);                                                                 \
    void render_amorphous_rows(const PixelParams<float>&, const AmorphousParams<float>&, float*, double*, int,   \
                               const RowHooks&);                                                                 \
    }                                                                                                            \
    }
// The build defines NB_ISA_<isa> for each ISA it compiled the SIMD executor
// for (CMake's NB_CPU_ISAS; a sanitizer build compiles one to save time).
// NB_EACH_ISA(X) expands X(isa) for each of them, widest first.
#if NB_ISA_avx512
#define NB_IF_avx512(x) x
#else
#define NB_IF_avx512(x)
#endif
#if NB_ISA_avx2
#define NB_IF_avx2(x) x
#else
#define NB_IF_avx2(x)
#endif
#if NB_ISA_sse4
#define NB_IF_sse4(x) x
#else
#define NB_IF_sse4(x)
#endif
#if NB_ISA_generic
#define NB_IF_generic(x) x
#else
#define NB_IF_generic(x)
#endif
#define NB_EACH_ISA(X) NB_IF_avx512(X(avx512)) NB_IF_avx2(X(avx2)) NB_IF_sse4(X(sse4)) NB_IF_generic(X(generic))

#define NB_DECLARE_BOTH(isa) NB_DECLARE_SIMD(simd_exact, isa) NB_DECLARE_SIMD(simd_fast, isa)
NB_EACH_ISA(NB_DECLARE_BOTH)
#undef NB_DECLARE_BOTH

#if defined(__x86_64__) && (NB_ISA_sse4 || NB_ISA_avx2 || NB_ISA_avx512)
// F16C from CPUID: clang before 16 (the fuzz build) has no "f16c" for __builtin_cpu_supports
static bool cpu_has_f16c() {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}
#endif

const char* cpu_isa() {
    const char* forced = std::getenv("NB_CPU_ISA");
    auto is = [&](const char* name) { return forced && std::strcmp(forced, name) == 0; };
    if (is("scalar")) return "scalar";
#if defined(__x86_64__) && (NB_ISA_sse4 || NB_ISA_avx2 || NB_ISA_avx512)
    const bool sse4 =
        __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("aes");
    const bool avx2 = sse4 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                      __builtin_cpu_supports("bmi2") && cpu_has_f16c();
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    (void)sse4, (void)avx2, (void)avx512;
#if NB_ISA_sse4
    if (is("sse4") && sse4) return "sse4";
#endif
#if NB_ISA_avx2
    if (is("avx2") && avx2) return "avx2";
#endif
#if NB_ISA_avx512
    if (avx512) return "avx512";
#endif
#if NB_ISA_avx2
    if (avx2) return "avx2";
#endif
#if NB_ISA_sse4
    if (sse4) return "sse4";
#endif
#endif
#if NB_ISA_generic
    return "generic";
#else
    return "scalar";
#endif
}

std::string cpu_isa_request_warning() {
    const char* forced = std::getenv("NB_CPU_ISA");
    if (!forced || std::strcmp(forced, cpu_isa()) == 0) return "";
    const bool known = std::strcmp(forced, "sse4") == 0 || std::strcmp(forced, "avx2") == 0 ||
                       std::strcmp(forced, "avx512") == 0 || std::strcmp(forced, "generic") == 0;
    return std::string("WARNING: NB_CPU_ISA=") + forced + ": " +
           (known ? "this CPU or build has no such path" : "not one of scalar, sse4, avx2, avx512") + "; running " +
           cpu_isa();
}

template <typename T>
long long render_image_cpu(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                           int threads, const RowHooks& hooks) {
    const char* isa = cpu_isa();
    auto is = [&](const char* name) { return std::strcmp(isa, name) == 0; };
#define NB_RUN_SIMD(name)                                                                            \
    if (is(#name)) {                                                                                 \
        return p.exact ? simd_exact::name::render_rows(p, cutoff, from_pixel, image, threads, hooks) \
                       : simd_fast::name::render_rows(p, cutoff, from_pixel, image, threads, hooks); \
    }
    NB_EACH_ISA(NB_RUN_SIMD)
#undef NB_RUN_SIMD
    return scalar::render_image_cpu(p, cutoff, from_pixel, image, threads, hooks);
}

template long long render_image_cpu<double>(const PixelParams<double>&, InterpCutoff, long long, float*, int,
                                            const RowHooks&);
template long long render_image_cpu<float>(const PixelParams<float>&, InterpCutoff, long long, float*, int,
                                           const RowHooks&);

template <typename T>
void render_amorphous_cpu(const PixelParams<T>& p, const AmorphousParams<T>& a, float* image, double* row_omega,
                          int threads, const RowHooks& hooks) {
    const char* isa = cpu_isa();
    auto is = [&](const char* name) { return std::strcmp(isa, name) == 0; };
#define NB_RUN_SIMD(name)                                                                    \
    if (is(#name)) {                                                                         \
        if (p.exact)                                                                         \
            simd_exact::name::render_amorphous_rows(p, a, image, row_omega, threads, hooks); \
        else                                                                                 \
            simd_fast::name::render_amorphous_rows(p, a, image, row_omega, threads, hooks);  \
        return;                                                                              \
    }
    NB_EACH_ISA(NB_RUN_SIMD)
#undef NB_RUN_SIMD
    scalar::render_amorphous_cpu(p, a, image, row_omega, threads, hooks);
}

template void render_amorphous_cpu<double>(const PixelParams<double>&, const AmorphousParams<double>&, float*, double*,
                                           int, const RowHooks&);
template void render_amorphous_cpu<float>(const PixelParams<float>&, const AmorphousParams<float>&, float*, double*,
                                          int, const RowHooks&);

}  // namespace nb
