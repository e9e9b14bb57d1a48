// GEMM throughput on DiT-shaped problems: ours (F32 and BF16 weights) against OpenBLAS sgemm
// in the same run, same thread count. y[M,N] = x[M,K]·W[N,K]ᵀ as in a Linear layer.
//   build/bin/bench_gemm --benchmark_counters_tabular=true
// Threads: MOVA_BENCH_THREADS (default: all cores) for both libraries.
#include <benchmark/benchmark.h>

#include "bench_util.h"

#include <cstdlib>
#include <random>
#include <vector>

#include "runtime/cpu/gemm.h"
#include "runtime/dtype.h"
#include "runtime/thread_pool.h"

#ifdef MOVA_HAVE_OPENBLAS
#include <cblas.h>
extern "C" void openblas_set_num_threads(int);
#endif

namespace {

struct Operands {
  std::vector<float> x, w, y;
  std::vector<uint16_t> w_bf16;
  Operands(int64_t m, int64_t n, int64_t k) : x(m * k), w(n * k), y(m * n), w_bf16(n * k) {
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> d(-1, 1);
    for (auto& v : x) v = d(rng);
    for (size_t i = 0; i < w.size(); ++i) {
      w[i] = d(rng);
      w_bf16[i] = mova::f32_to_bf16(w[i]);
    }
  }
};

void set_counters(benchmark::State& s, int64_t m, int64_t n, int64_t k) {
  s.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * m * n * k * s.iterations(), benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void BM_Mova(benchmark::State& s, mova::DType wt) {
  const int64_t m = s.range(0), n = s.range(1), k = s.range(2);
  Operands o(m, n, k);
  mova::ThreadPool pool(mova::bench::threads());
  mova::cpu::GemmProblem p;
  p.m = m;
  p.n = n;
  p.k = k;
  p.a = o.x.data();
  p.lda = k;
  p.b = wt == mova::DType::kBF16 ? static_cast<const void*>(o.w_bf16.data()) : o.w.data();
  p.b_dtype = wt;
  p.ldb = k;
  p.trans_b = true;
  p.c = o.y.data();
  p.ldc = n;
  for (auto _ : s) {
    mova::cpu::gemm(p, &pool);
    benchmark::DoNotOptimize(o.y.data());
  }
  set_counters(s, m, n, k);
}

#ifdef MOVA_HAVE_OPENBLAS
void BM_OpenBlas(benchmark::State& s) {
  const int64_t m = s.range(0), n = s.range(1), k = s.range(2);
  Operands o(m, n, k);
  openblas_set_num_threads(mova::bench::threads());
  for (auto _ : s) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, o.x.data(), k, o.w.data(),
                k, 0.0f, o.y.data(), n);
    benchmark::DoNotOptimize(o.y.data());
  }
  set_counters(s, m, n, k);
}
#endif

void shapes(benchmark::internal::Benchmark* b) {
  // Audio-tower sized projections (dim 1536, ffn 6144) over 4096 tokens.
  b->Args({4096, 1536, 1536})->Args({4096, 6144, 1536})->Args({4096, 1536, 6144});
  // The nano demo's video tower (dim 256, ffn 768, 208 tokens): few rows per weight, so
  // packing the weights is a visible share of each call.
  b->Args({208, 256, 256})->Args({208, 768, 256})->Args({208, 256, 768});
  b->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
}

}  // namespace

#ifdef MOVA_HAVE_OPENBLAS
BENCHMARK(BM_OpenBlas)->Apply(shapes);
#endif
BENCHMARK_CAPTURE(BM_Mova, f32, mova::DType::kF32)->Apply(shapes);
BENCHMARK_CAPTURE(BM_Mova, bf16, mova::DType::kBF16)->Apply(shapes);

BENCHMARK_MAIN();
