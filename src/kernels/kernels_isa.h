/* One instruction set's kernel tables: included by kernels_<isa>.c after
 * its simd/vec_<isa>.h, with FOCAL_KERNELS_TABLES naming the array of
 * tables it defines (kernels.h). Instantiates kernels_body.h once per
 * storage type: float, double, and bfloat16 and float16 (uint16_t bit
 * patterns, whose streams are plain stores: a vector of them is too
 * narrow for a non-temporal store to pay). kernels_body.h undefines the
 * storage macros at its end. */
#include "kernels/kernels.h"
#include "layout/layout.h"
#include "stages/asl.h"
#include "stages/fl.h"
#include "stages/fl_star.h"
#include "stages/gather.h"
#include "stages/log_sigmoid.h"
#include "stages/log_softmax.h"
#include "stages/modulate.h"
#include "stages/poly.h"
#include "stages/qfl.h"
#include "stages/vfl.h"

#define STYPE float
#define SFX f32
#define SDTYPE FOCAL_F32
#define LO 1
#define S_LOAD(p) v_load_f32(p)
#define S_LOAD_PART(p, n, fill) v_load_f32_part((p), (n), (fill))
#define S_STORE(p, v) v_store_f32((p), (v))
#define S_STORE_PART(p, n, v) v_store_f32_part((p), (n), (v))
#define S_STREAM(p, v) v_stream_f32((p), (v))
#include "kernels/kernels_body.h"

#define STYPE double
#define SFX f64
#define SDTYPE FOCAL_F64
#define LO 0
#define S_LOAD(p) v_load(p)
#define S_LOAD_PART(p, n, fill) v_load_part((p), (n), (fill))
#define S_STORE(p, v) v_store((p), (v))
#define S_STORE_PART(p, n, v) v_store_part((p), (n), (v))
#define S_STREAM(p, v) v_stream((p), (v))
#include "kernels/kernels_body.h"

#define STYPE uint16_t
#define SFX bf16
#define SDTYPE FOCAL_BF16
#define LO 1
#define S_LOAD(p) v_load_bf16(p)
#define S_LOAD_PART(p, n, fill) v_load_bf16_part((p), (n), (fill))
#define S_STORE(p, v) v_store_bf16((p), (v))
#define S_STORE_PART(p, n, v) v_store_bf16_part((p), (n), (v))
#define S_STREAM(p, v) v_store_bf16((p), (v))
#include "kernels/kernels_body.h"

#define STYPE uint16_t
#define SFX f16
#define SDTYPE FOCAL_F16
#define LO 1
#define S_LOAD(p) v_load_f16(p)
#define S_LOAD_PART(p, n, fill) v_load_f16_part((p), (n), (fill))
#define S_STORE(p, v) v_store_f16((p), (v))
#define S_STORE_PART(p, n, v) v_store_f16_part((p), (n), (v))
#define S_STREAM(p, v) v_store_f16((p), (v))
#include "kernels/kernels_body.h"

#define FOCAL_TABLE(SFX_, BYTES)                                                                     \
    static const focal_kernels table_##SFX_ = {                                                       \
        .isa = V_ISA,                                                                                 \
        .lanes = V_LANES,                                                                             \
        .element_size = (BYTES),                                                                      \
        .scan = scan_##SFX_,                                                                          \
        .softmax = softmax_##SFX_,                                                                    \
        .sigmoid = sigmoid_##SFX_,                                                                    \
        .target_grad = target_grad_##SFX_,                                                            \
        .load1 = load1_##SFX_,                                                                        \
        .store1 = store1_##SFX_,                                                                      \
    };
FOCAL_TABLE(f32, 4)
FOCAL_TABLE(f64, 8)
FOCAL_TABLE(bf16, 2)
FOCAL_TABLE(f16, 2)
#undef FOCAL_TABLE

const focal_kernels *const FOCAL_KERNELS_TABLES[FOCAL_DTYPES] = {&table_f32, &table_f64, &table_bf16, &table_f16};
