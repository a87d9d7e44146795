/* One KAN layer's jet, forward and backward, fused into a single pass over the points.
 *
 * The same arithmetic as kanpde.nn.kan._LayerJet (see there for the equations): per input i and
 * point n the cell c and offset v on the uniform grid, the Taylor shift of the derivative table
 * e_p (d^p S / dx^p at the cell's left knot) to S_r(x) = sum_q e_(r+q) v^q / q!, the tangent
 * continuation outside [lo, hi], the SiLU branch, and the contraction with the incoming
 * derivatives. PyTorch runs each of these as a pass over (out, in, N) arrays; here the values
 * stay in registers, the edge derivatives are recomputed in the backward instead of stored, and
 * the table / SiLU-weight gradients are summed per thread and reduced by the caller.
 *
 * Layouts (all contiguous, points last):
 *   x (in, N); sig (in, N): sigmoid(x) (PyTorch's vectorised exp);
 *   dx (D, in, N) or NULL for the identity (D = in); d2x (P, in, N) or NULL;
 *   table (in, G, out, K1) with K1 = k + 1; scale_base (in, out); bias (out);
 *   y (out, N); dy (D, out, N); d2y (P, out, N); pairs pa[P] <= pb[P].
 * Work goes in blocks of BLOCK points (the OpenMP unit); within a block every loop is short and
 * runs in L1 cache, and cubic splines take one fused pass per edge. The file includes itself
 * twice, with REAL = double (functions *_f64) and REAL = float (*_f32).
 */
#ifndef REAL
#include <string.h>
#include <omp.h>

#define BLOCK 128
#define MAX_K1 8
#define MAX_P 16
#define LANES 4     /* copies of the table gradient per thread: neighbouring points in one cell add to
                       different copies, so their updates do not wait on each other */
#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define F(name) CAT(name, SUFFIX)

#define REAL double
#define SUFFIX f64
#include __FILE__
#undef REAL
#undef SUFFIX
#define REAL float
#define SUFFIX f32
#include __FILE__
#undef REAL
#undef SUFFIX

#else
typedef struct {
    long n_in, n_out, n, grid, k1, d, p, order;
} F(Shape);

/* Where the inputs of input row i sit on the grid, the powers v^q / q!, and (dx given) the
 * products dx_a dx_b of every pair, for one block of m points starting at n0. Every loop below
 * runs over the block's points: short, branch-free and in L1 cache, so the compiler vectorises it. */
typedef struct {
    int at[BLOCK];                                          /* table offset of the point's cell */
    REAL beyond[BLOCK], inside[BLOCK], pw[MAX_K1][BLOCK], dxdx[MAX_P][BLOCK];
    REAL sd[4][BLOCK];                                      /* silu and its first three derivatives */
    REAL E[MAX_K1][BLOCK];                                  /* the table entries e_q of one edge */
    REAL S[4][BLOCK];                                       /* phi_r of one edge (r < 4) */
} F(Row);

static void F(prepare)(F(Row) *row, const REAL *x, const REAL *sig, REAL lo, REAL h, long grid, long m, long K1, long O,
                       const REAL *dx, const long *pa, const long *pb, long P, long I, long N, long i, long n0) {
    REAL *v = row->pw[1];
    const int last = (int)grid - 1, stride = (int)(O * K1);
    for (long j = 0; j < m; j++) {                          /* a NaN input stays NaN, in cell 0 */
        const REAL s = (x[j] - lo) / h;
        const REAL s_in = s < 0 ? 0 : (s > (REAL)grid ? (REAL)grid : s);
        int c = (int)s_in;
        c = c < 0 ? 0 : (c > last ? last : c);
        row->at[j] = c * stride;
        v[j] = (s_in - (REAL)c) * h;
        row->beyond[j] = (s - s_in) * h;
        row->inside[j] = row->beyond[j] == 0 ? 1 : 0;
        row->pw[0][j] = 1;
    }
    for (long q = 2; q < K1; q++) {
        const REAL inv = (REAL)1 / (REAL)q;
        for (long j = 0; j < m; j++) row->pw[q][j] = row->pw[q - 1][j] * v[j] * inv;
    }
    /* with s = sigmoid(x), s' = s (1 - s), c = 1 - 2 s: silu = x s, silu' = s + x s',
     * silu'' = s' (2 + x c), silu''' = s' (c (3 + x c) - 2 x s')  (kanpde.nn.kan._silu_derivatives) */
    for (long j = 0; j < m; j++) {
        const REAL xv = x[j], sv = sig[j], ds = sv - sv * sv, c = 1 - 2 * sv, two_xc = 2 + xv * c;
        row->sd[0][j] = xv * sv;
        row->sd[1][j] = sv + xv * ds;
        row->sd[2][j] = ds * two_xc;
        row->sd[3][j] = (c * two_xc + c - 2 * xv * ds) * ds;
    }
    if (dx != NULL)
        for (long p = 0; p < P; p++) {
            const REAL *da = dx + (pa[p] * I + i) * N + n0, *db = dx + (pb[p] * I + i) * N + n0;
            for (long j = 0; j < m; j++) row->dxdx[p][j] = da[j] * db[j];
        }
}

/* phi_r = S_r + w silu_r for first <= r < count, with S_r = sum_q e_(r+q) v^q / q! (r > k: 0), the
 * tangent continuation outside the range (value: S(x_c) + (x - x_c) S'(x_c); no curvature) */
static void F(edge)(F(Row) *row, const REAL *t, REAL w, long m, long K1, long first, long count) {
    if (K1 == 4) {                                      /* cubic splines: one fused pass, S_0 .. S_3 */
        const REAL *p1 = row->pw[1], *p2 = row->pw[2], *p3 = row->pw[3], *bey = row->beyond, *ins = row->inside;
        const REAL *s0 = row->sd[0], *s1 = row->sd[1], *s2 = row->sd[2], *s3 = row->sd[3];
        REAL *S0 = row->S[0], *S1 = row->S[1], *S2 = row->S[2], *S3 = row->S[3];
        if (first == 0)
            for (long j = 0; j < m; j++) {
                const int a = row->at[j];
                const REAL e0 = t[a], e1 = t[a + 1], e2 = t[a + 2], e3 = t[a + 3];
                const REAL d1 = e1 + e2 * p1[j] + e3 * p2[j];
                S0[j] = e0 + e1 * p1[j] + e2 * p2[j] + e3 * p3[j] + d1 * bey[j] + w * s0[j];
                S1[j] = d1 + w * s1[j];
                S2[j] = (e2 + e3 * p1[j]) * ins[j] + w * s2[j];
                S3[j] = e3 * ins[j] + w * s3[j];
            }
        else
            for (long j = 0; j < m; j++) {
                const int a = row->at[j];
                const REAL e1 = t[a + 1], e2 = t[a + 2], e3 = t[a + 3];
                S1[j] = e1 + e2 * p1[j] + e3 * p2[j] + w * s1[j];
                S2[j] = (e2 + e3 * p1[j]) * ins[j] + w * s2[j];
                S3[j] = e3 * ins[j] + w * s3[j];
            }
        return;
    }
    for (long q = first; q < K1; q++)
        for (long j = 0; j < m; j++) row->E[q][j] = t[row->at[j] + q];
    for (long r = first; r < count; r++) {
        REAL *S = row->S[r];
        if (r >= K1) { for (long j = 0; j < m; j++) S[j] = 0; continue; }
        for (long j = 0; j < m; j++) S[j] = row->E[r][j];
        for (long q = 1; r + q < K1; q++) {
            const REAL *pq = row->pw[q], *e = row->E[r + q];
            for (long j = 0; j < m; j++) S[j] += e[j] * pq[j];
        }
    }
    if (first == 0 && count > 1)
        for (long j = 0; j < m; j++) row->S[0][j] += row->S[1][j] * row->beyond[j];
    for (long r = (first > 2 ? first : 2); r < count; r++)
        for (long j = 0; j < m; j++) row->S[r][j] *= row->inside[j];
    for (long r = first; r < count; r++)
        for (long j = 0; j < m; j++) row->S[r][j] += w * row->sd[r][j];
}

/* The first layer's edge (x are the network inputs, cubic splines), written straight to the outputs:
 * y += phi_0, dy_i = phi_1, d2y_(i,i) = phi_2 (as F(edge) with first = 0, count = 3). */
static inline __attribute__((always_inline)) void F(input_edge)(const F(Row) *row, const REAL *t, REAL w, long m,
                                                                REAL *restrict y, REAL *restrict dy, REAL *restrict d2y) {
    const REAL *p1 = row->pw[1], *p2 = row->pw[2], *p3 = row->pw[3], *bey = row->beyond, *ins = row->inside;
    const REAL *s0 = row->sd[0], *s1 = row->sd[1], *s2 = row->sd[2];
    for (long j = 0; j < m; j++) {
        const int a = row->at[j];
        const REAL e0 = t[a], e1 = t[a + 1], e2 = t[a + 2], e3 = t[a + 3];
        const REAL d1 = e1 + e2 * p1[j] + e3 * p2[j];
        y[j] += e0 + e1 * p1[j] + e2 * p2[j] + e3 * p3[j] + d1 * bey[j] + w * s0[j];
        dy[j] = d1 + w * s1[j];
        d2y[j] = (e2 + e3 * p1[j]) * ins[j] + w * s2[j];
    }
}

static void F(forward_block)(F(Shape) sh, long n0, long m, const REAL *x, const REAL *sig, const REAL *dx,
                             const REAL *d2x, const REAL *table, const REAL *scale_base, const REAL *bias,
                             const REAL *lo, const REAL *hi, const long *pa, const long *pb,
                             REAL *y, REAL *dy, REAL *d2y, long count) {
    const long N = sh.n, I = sh.n_in, O = sh.n_out, G = sh.grid, D = sh.d, P = sh.p, K1 = sh.k1;
    F(Row) row;
    for (long o = 0; o < O; o++) {
        for (long j = 0; j < m; j++) y[o * N + n0 + j] = bias[o];
        for (long a = 0; a < D; a++) memset(dy + (a * O + o) * N + n0, 0, m * sizeof(REAL));
        for (long p = 0; p < P; p++) memset(d2y + (p * O + o) * N + n0, 0, m * sizeof(REAL));
    }
    for (long i = 0; i < I; i++) {
        F(prepare)(&row, x + i * N + n0, sig + i * N + n0, lo[i], (hi[i] - lo[i]) / (REAL)G, G, m, K1, O, dx, pa, pb, P, I, N, i, n0);
        long pure = -1, pures = 0;                          /* the pair (i, i), if asked for once */
        for (long p = 0; p < P; p++)
            if (pa[p] == i && pb[p] == i) { pure = p; pures++; }
        if (pures != 1) pure = -1;
        for (long o = 0; o < O; o++) {
            REAL *yo = y + o * N + n0;
            if (dx == NULL && K1 == 4 && pure >= 0 && count == 3) {   /* network inputs, cubic: straight out */
                F(input_edge)(&row, table + (i * G * O + o) * K1, scale_base[i * O + o], m, yo,
                              dy + (i * O + o) * N + n0, d2y + (pure * O + o) * N + n0);
                continue;
            }
            F(edge)(&row, table + (i * G * O + o) * K1, scale_base[i * O + o], m, K1, 0, count);
            const REAL *phi0 = row.S[0], *phi1 = row.S[1], *phi2 = row.S[2];
            for (long j = 0; j < m; j++) yo[j] += phi0[j];
            if (dx == NULL) {
                memcpy(dy + (i * O + o) * N + n0, phi1, m * sizeof(REAL));
                for (long p = 0; p < P; p++)
                    if (pa[p] == i && pb[p] == i) memcpy(d2y + (p * O + o) * N + n0, phi2, m * sizeof(REAL));
                continue;
            }
            for (long a = 0; a < D; a++) {
                REAL *out = dy + (a * O + o) * N + n0;
                const REAL *da = dx + (a * I + i) * N + n0;
                for (long j = 0; j < m; j++) out[j] += phi1[j] * da[j];
            }
            for (long p = 0; p < P; p++) {
                REAL *out = d2y + (p * O + o) * N + n0;
                const REAL *dd = row.dxdx[p], *d2 = d2x + (p * I + i) * N + n0;
                for (long j = 0; j < m; j++) out[j] += phi2[j] * dd[j] + phi1[j] * d2[j];
            }
        }
    }
}

void F(layer_jet_forward)(F(Shape) sh, const REAL *x, const REAL *sig, const REAL *dx, const REAL *d2x,
                          const REAL *table, const REAL *scale_base, const REAL *bias,
                          const REAL *lo, const REAL *hi, const long *pa, const long *pb,
                          REAL *y, REAL *dy, REAL *d2y, int threads) {
    const long N = sh.n, count = sh.order + 1;
    const long blocks = (N + BLOCK - 1) / BLOCK;
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (long b = 0; b < blocks; b++) {
        const long n0 = b * BLOCK, m = (N - n0 < BLOCK) ? N - n0 : BLOCK;
        F(forward_block)(sh, n0, m, x, sig, dx, d2x, table, scale_base, bias, lo, hi, pa, pb, y, dy, d2y, count);
    }
}

/* Gradients. g_r = d loss / d phi_r (r = 0, 1, 2) per edge and point:
 *   g_0 = gy;  g_1 = sum_a gdy_a dx_a + sum_p gd2y_p d2x_p;  g_2 = sum_p gd2y_p dx_a dx_b
 * (identity dx: g_1 = gdy_i, g_2 = the sum of gd2y over the pairs (i, i)). Then
 *   grad_x      = sum_o g_0 phi_1 + g_1 phi_2 + g_2 phi_3
 *   grad_dx_a  += gdy_a phi_1 + sum_p gd2y_p phi_2 d(dx_a dx_b)/d dx_a,  grad_d2x_p += gd2y_p phi_1
 *   grad_base  += sum_n g_r silu_r
 *   grad_table += sum_{r <= p} G_r v^(p-r) / (p-r)!   (G: g with the continuation's terms)
 * grad_table (threads * LANES, in, G, out, K1) and grad_base (threads, in, out) are partial sums,
 * zeroed by the caller; grad_x, grad_dx, grad_d2x are zeroed here; any output may be NULL. */
static void F(backward_block)(F(Shape) sh, long n0, long m, const REAL *x, const REAL *sig, const REAL *dx,
                              const REAL *d2x, const REAL *table, const REAL *scale_base,
                              const REAL *lo, const REAL *hi, const long *pa, const long *pb,
                              const REAL *gy, const REAL *gdy, const REAL *gd2y,
                              REAL *grad_x, REAL *grad_dx, REAL *grad_d2x, REAL *gt, REAL *gb) {
    const long N = sh.n, I = sh.n_in, O = sh.n_out, G = sh.grid, D = sh.d, P = sh.p, K1 = sh.k1, order = sh.order;
    const long count = order + 2;                   /* phi_1 .. phi_(order+1): grad_x reads one more */
    const long lane = I * G * O * K1;               /* one copy of the table gradient */
    const int through_x = grad_x != NULL || grad_dx != NULL || grad_d2x != NULL;
    F(Row) row;
    REAL g[3][BLOCK];
    for (long i = 0; i < I; i++) {
        F(prepare)(&row, x + i * N + n0, sig + i * N + n0, lo[i], (hi[i] - lo[i]) / (REAL)G, G, m, K1, O, dx, pa, pb, P, I, N, i, n0);
        const REAL (*sd)[BLOCK] = row.sd;
        for (long o = 0; o < O; o++) {
            /* g_r = d loss / d phi_r */
            for (long j = 0; j < m; j++) g[0][j] = gy ? gy[o * N + n0 + j] : 0;
            for (long j = 0; j < m; j++) g[1][j] = g[2][j] = 0;
            if (dx == NULL) {
                if (gdy) memcpy(g[1], gdy + (i * O + o) * N + n0, m * sizeof(REAL));
                for (long p = 0; p < P && gd2y; p++)
                    if (pa[p] == i && pb[p] == i)
                        for (long j = 0; j < m; j++) g[2][j] += gd2y[(p * O + o) * N + n0 + j];
            } else {
                for (long a = 0; a < D && gdy; a++) {
                    const REAL *ga = gdy + (a * O + o) * N + n0, *da = dx + (a * I + i) * N + n0;
                    for (long j = 0; j < m; j++) g[1][j] += ga[j] * da[j];
                }
                for (long p = 0; p < P && gd2y; p++) {
                    const REAL *gp = gd2y + (p * O + o) * N + n0, *d2 = d2x + (p * I + i) * N + n0, *dd = row.dxdx[p];
                    for (long j = 0; j < m; j++) { g[1][j] += gp[j] * d2[j]; g[2][j] += gp[j] * dd[j]; }
                }
            }
            if (through_x) {
                F(edge)(&row, table + (i * G * O + o) * K1, scale_base[i * O + o], m, K1, 1, count);
                const REAL *phi1 = row.S[1], *phi2 = row.S[2], *phi3 = row.S[3];
                if (grad_x) {
                    REAL *out = grad_x + i * N + n0;
                    if (order >= 2)
                        for (long j = 0; j < m; j++) out[j] += g[0][j] * phi1[j] + g[1][j] * phi2[j] + g[2][j] * phi3[j];
                    else
                        for (long j = 0; j < m; j++) out[j] += g[0][j] * phi1[j] + g[1][j] * phi2[j];
                }
                if (dx != NULL && grad_dx && gdy)
                    for (long a = 0; a < D; a++) {
                        REAL *out = grad_dx + (a * I + i) * N + n0;
                        const REAL *ga = gdy + (a * O + o) * N + n0;
                        for (long j = 0; j < m; j++) out[j] += ga[j] * phi1[j];
                    }
                if (dx != NULL && gd2y)
                    for (long p = 0; p < P; p++) {
                        const REAL *gp = gd2y + (p * O + o) * N + n0;
                        if (grad_d2x) {
                            REAL *out = grad_d2x + (p * I + i) * N + n0;
                            for (long j = 0; j < m; j++) out[j] += gp[j] * phi1[j];
                        }
                        if (grad_dx) {                  /* d(dx_a dx_b) = dx_b d dx_a + dx_a d dx_b */
                            REAL *restrict oa = grad_dx + (pa[p] * I + i) * N + n0;
                            const REAL *da = dx + (pa[p] * I + i) * N + n0, *db = dx + (pb[p] * I + i) * N + n0;
                            if (pa[p] == pb[p]) {
                                for (long j = 0; j < m; j++) oa[j] += 2 * gp[j] * phi2[j] * da[j];
                            } else {
                                REAL *restrict ob = grad_dx + (pb[p] * I + i) * N + n0;
                                for (long j = 0; j < m; j++) { oa[j] += gp[j] * phi2[j] * db[j]; ob[j] += gp[j] * phi2[j] * da[j]; }
                            }
                        }
                    }
            }
            if (gb) {
                REAL base_sum = 0;
                for (long j = 0; j < m; j++) base_sum += g[0][j] * sd[0][j] + g[1][j] * sd[1][j] + g[2][j] * sd[2][j];
                gb[i * O + o] += base_sum;
            }
            if (gt) {
                /* the continuation: the value reads S' outside; no curvature there */
                for (long j = 0; j < m; j++) { g[1][j] += g[0][j] * row.beyond[j]; g[2][j] *= row.inside[j]; }
                REAL *gto = gt + (i * G * O + o) * K1;            /* order 1: P = 0, so g_2 stayed 0 */
                if (K1 == 4)                        /* cubic: four adjacent entries, one vector update */
                    for (long j = 0; j < m; j++) {
                        REAL *e = gto + (j % LANES) * lane + row.at[j];
                        const REAL g0 = g[0][j], g1 = g[1][j], g2 = g[2][j];
                        const REAL p1 = row.pw[1][j], p2 = row.pw[2][j], p3 = row.pw[3][j];
                        e[0] += g0;
                        e[1] += g0 * p1 + g1;
                        e[2] += g0 * p2 + g1 * p1 + g2;
                        e[3] += g0 * p3 + g1 * p2 + g2 * p1;
                    }
                else
                    for (long j = 0; j < m; j++) {
                        REAL *e = gto + (j % LANES) * lane + row.at[j];
                        e[0] += g[0][j];
                        for (long p = 1; p < K1; p++)
                            e[p] += g[0][j] * row.pw[p][j] + g[1][j] * row.pw[p - 1][j]
                                    + (p >= 2 ? g[2][j] * row.pw[p - 2][j] : 0);
                    }
            }
        }
    }
}

void F(layer_jet_backward)(F(Shape) sh, const REAL *x, const REAL *sig, const REAL *dx, const REAL *d2x,
                           const REAL *table, const REAL *scale_base,
                           const REAL *lo, const REAL *hi, const long *pa, const long *pb,
                           const REAL *gy, const REAL *gdy, const REAL *gd2y,
                           REAL *grad_x, REAL *grad_dx, REAL *grad_d2x,
                           REAL *grad_table, REAL *grad_base, int threads) {
    const long N = sh.n, I = sh.n_in, O = sh.n_out, G = sh.grid, K1 = sh.k1, D = sh.d, P = sh.p;
    const long blocks = (N + BLOCK - 1) / BLOCK;
    const long table_size = I * G * O * K1;
    if (grad_x) memset(grad_x, 0, I * N * sizeof(REAL));
    if (grad_dx) memset(grad_dx, 0, D * I * N * sizeof(REAL));
    if (grad_d2x) memset(grad_d2x, 0, P * I * N * sizeof(REAL));
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (long b = 0; b < blocks; b++) {
        const long n0 = b * BLOCK, m = (N - n0 < BLOCK) ? N - n0 : BLOCK;
        const int thread = omp_get_thread_num();
        REAL *gt = grad_table ? grad_table + thread * LANES * table_size : NULL;
        REAL *gb = grad_base ? grad_base + thread * I * O : NULL;
        F(backward_block)(sh, n0, m, x, sig, dx, d2x, table, scale_base, lo, hi, pa, pb, gy, gdy, gd2y,
                          grad_x, grad_dx, grad_d2x, gt, gb);
    }
}

#endif
