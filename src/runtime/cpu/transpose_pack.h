// The transposing copy at the heart of GEMM packing: rows of an operand, contiguous along the
// depth k, laid out k-major in a panel `width` floats wide (what the micro-kernels read), and
// converted to f32 on the way. Both the A panels (rows of the activations) and the B panels of a
// Linear weight stored [n, k] are this copy; done element by element it was most of the GEMM's
// packing time.
#pragma once

#include <cstdint>

#include "runtime/dtype.h"

namespace mova::cpu {

// dst[k * width + r] = f32(src[r * ld + k]) for r < rows, k < kc; rows <= width. Columns of
// the panel past `rows` are left as they are. src holds F32, BF16 or F16 elements. With `simd`
// (the CPU has AVX2) 8×8 and 4×4 blocks go through vector transposes; the result is the same.
void pack_transposed(const void* src, DType dtype, int64_t ld, int64_t rows, int64_t kc, int width,
                     float* dst, bool simd);

}  // namespace mova::cpu
