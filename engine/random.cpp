#include "engine/random.hpp"

#include <cmath>

namespace nb {

void Ran1::initialize(int64_t& idum) {
    if (-idum < 1)
        idum = 1;
    else
        idum = -idum;
    for (int j = NTAB + 7; j >= 0; --j) {
        idum = schrage(idum);
        if (j < NTAB) iv_[j] = idum;
    }
    iy_ = iv_[0];
}

float gammln(float xx) {
    static const double cof[6] = {76.18009172947146,  -86.50532032941677,    24.01409824083091,
                                  -1.231739572450155, 0.1208650973866179e-2, -0.5395239384953e-5};
    double x = xx, y = xx;
    double tmp = x + 5.5;
    tmp -= (x + 0.5) * std::log(tmp);
    double ser = 1.000000000190015;
    for (int j = 0; j <= 5; ++j) ser += cof[j] / ++y;
    return (float)(-tmp + std::log(2.5066282746310005 * ser / x));
}

float Deviates::gauss(int64_t& idum) {
    if (iset_ == 0) {
        float v1, v2, rsq;
        do {
            v1 = (float)(2.0 * ran_.next(idum) - 1.0);
            v2 = (float)(2.0 * ran_.next(idum) - 1.0);
            rsq = v1 * v1 + v2 * v2;
        } while (rsq >= 1.0f || rsq == 0.0f);
        float fac = (float)std::sqrt(-2.0 * std::log((double)rsq) / rsq);
        gset_ = v1 * fac;
        iset_ = 1;
        return v2 * fac;
    }
    iset_ = 0;
    return gset_;
}

float Deviates::poisson(float xm, int64_t& idum) {
    float em, t, y;
    // C's direct and rejection methods lock up for huge means: Gaussian there.
    if (xm > 1.0e6f) {
        return (float)(xm + std::sqrt((double)xm) * gauss(idum));
    }
    if (xm < 12.0f) {
        if (xm != oldm_) {
            oldm_ = xm;
            g_ = poisson_direct_limit(xm);
        }
        em = poisson_direct(g_, idum);
    } else {
        if (xm != oldm_) {
            oldm_ = xm;
            sq_ = (float)std::sqrt(2.0 * xm);
            alxm_ = (float)std::log((double)xm);
            g_ = (float)(xm * alxm_ - gammln((float)(xm + 1.0)));
        }
        do {
            do {
                y = (float)std::tan(M_PI * ran_.next(idum));
                em = sq_ * y + xm;
            } while (em < 0.0f);
            em = std::floor(em);
            t = (float)(0.9 * (1.0 + y * y) * std::exp((double)(em * alxm_ - gammln((float)(em + 1.0)) - g_)));
        } while (ran_.next(idum) > t);
    }
    return em;
}

std::array<double, 9> mosaic_rotation_umat(float mosaicity, Ran1& ran, int64_t& seed) {
    double r1 = (double)2.0 * ran.next(seed) - 1.0;
    double r2 = (double)2.0 * ran.next(seed) - 1.0;
    double r3 = (double)2.0 * ran.next(seed) - 1.0;

    double xyrad = std::sqrt(1.0 - r2 * r2);
    // C computes the cap angle in single precision (powf on float arguments).
    double rot = (double)(mosaicity * powf((float)(1.0 - r3 * r3), (float)(1.0 / 3.0)));

    double v1 = xyrad * std::sin(M_PI * r1);
    double v2 = xyrad * std::cos(M_PI * r1);
    double v3 = r2;

    double t1 = std::cos(rot);
    double t2 = 1.0 - t1;
    double t3 = v1 * v1;
    double t6 = t2 * v1;
    double t7 = t6 * v2;
    double t8 = std::sin(rot);
    double t9 = t8 * v3;
    double t11 = t6 * v3;
    double t12 = t8 * v2;
    double t15 = v2 * v2;
    double t19 = t2 * v2 * v3;
    double t20 = t8 * v1;
    double t24 = v3 * v3;

    return {t1 + t2 * t3, t7 - t9, t11 + t12, t7 + t9, t1 + t2 * t15, t19 - t20, t11 - t12, t19 + t20, t1 + t2 * t24};
}

std::array<double, 3> umat2misset(const std::array<double, 9>& u) {
    double uxx = u[0], uxy = u[1], uxz = u[2];
    double uyx = u[3], uyy = u[4], uyz = u[5];
    double uzx = u[6], uzy = u[7], uzz = u[8];

    auto normalize_rows = [&](double& mx, double& my, double& mz) {
        mx = std::sqrt(uxx * uxx + uxy * uxy + uxz * uxz);
        my = std::sqrt(uyx * uyx + uyy * uyy + uyz * uyz);
        mz = std::sqrt(uzx * uzx + uzy * uzy + uzz * uzz);
        if (mx > 0) {
            uxx /= mx;
            uxy /= mx;
            uxz /= mx;
        }
        if (my > 0) {
            uyx /= my;
            uyy /= my;
            uyz /= my;
        }
        if (mz > 0) {
            uzx /= mz;
            uzy /= mz;
            uzz /= mz;
        }
    };
    double mx, my, mz;
    normalize_rows(mx, my, mz);

    if (mx >= 0 && my <= 0 && mz <= 0) {
        uyx = 0;
        uyy = 1;
        uyz = 0;
        uzx = 0;
        uzy = 0;
        uzz = 1;
    }
    if (mx <= 0 && my >= 0 && mz <= 0) {
        uxx = 1;
        uxy = 0;
        uxz = 0;
        uzx = 0;
        uzy = 0;
        uzz = 1;
    }
    if (mx <= 0 && my <= 0 && mz >= 0) {
        uxx = 1;
        uxy = 0;
        uxz = 0;
        uyx = 0;
        uyy = 1;
        uyz = 0;
    }

    // Replace any empty row by the cross product of the other two (twice, as C does).
    for (int pass = 0; pass < 2; ++pass) {
        auto unit = [](double& x, double& y, double& z) {
            double m = std::sqrt(x * x + y * y + z * z);
            if (m > 0) {
                x /= m;
                y /= m;
                z /= m;
            }
        };
        double xcy_x = uxy * uyz - uxz * uyy, xcy_y = uxz * uyx - uxx * uyz, xcy_z = uxx * uyy - uxy * uyx;
        unit(xcy_x, xcy_y, xcy_z);
        double ycz_x = uyy * uzz - uyz * uzy, ycz_y = uyz * uzx - uyx * uzz, ycz_z = uyx * uzy - uyy * uzx;
        unit(ycz_x, ycz_y, ycz_z);
        double zcx_x = uzy * uxz - uzz * uxy, zcx_y = uzz * uxx - uzx * uxz, zcx_z = uzx * uxy - uzy * uxx;
        unit(zcx_x, zcx_y, zcx_z);
        if (mx <= 0) {
            uxx = ycz_x;
            uxy = ycz_y;
            uxz = ycz_z;
        }
        if (my <= 0) {
            uyx = zcx_x;
            uyy = zcx_y;
            uyz = zcx_z;
        }
        if (mz <= 0) {
            uzx = xcy_x;
            uzy = xcy_y;
            uzz = xcy_z;
        }
    }
    normalize_rows(mx, my, mz);

    double rotx, roty, rotz;
    if (uzx * uzx < 1.0) {
        rotx = std::atan2(uzy, uzz);
        roty = std::atan2(-uzx, std::sqrt(uzy * uzy + uzz * uzz));
        rotz = std::atan2(uyx, uxx);
    } else {
        rotx = std::atan2(1, 1) * 4;
        roty = std::atan2(1, 1) * 2;
        rotz = std::atan2(uxy, -uyy);
    }
    return {rotx, roty, rotz};
}

}  // namespace nb
