// Attention throughput: our tiled kernel against a materialising baseline built on OpenBLAS
// (S = q·kᵀ with sgemm, row softmax, S·v with sgemm), same shapes, same thread count, same run.
// The baseline holds the full [L, L] score matrix per head; ours never does.
//   build/bin/bench_attention --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include "bench_util.h"

#include <cmath>
#include <cstdlib>
#include <random>
#include <vector>

#include "runtime/exec.h"
#include "runtime/ops/attention.h"

#ifdef MOVA_HAVE_OPENBLAS
#include <cblas.h>
extern "C" void openblas_set_num_threads(int);
#endif

namespace {

mova::Tensor random(const mova::Shape& s, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  mova::Tensor t = mova::Tensor::empty(s, mova::DType::kF32);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = d(rng);
  return t;
}

void set_counters(benchmark::State& s, int64_t L, int64_t H, int64_t D) {
  s.counters["GFLOP/s"] =
      benchmark::Counter(4.0 * L * L * D * H * s.iterations(), benchmark::Counter::kIsRate,
                         benchmark::Counter::kIs1000);
}

void BM_MovaAttention(benchmark::State& s) {
  const int64_t L = s.range(0), H = s.range(1), D = s.range(2);
  mova::Exec ex(mova::bench::threads());
  const mova::Tensor q = random({1, L, H, D}, 1), k = random({1, L, H, D}, 2),
                     v = random({1, L, H, D}, 3);
  for (auto _ : s) benchmark::DoNotOptimize(mova::attention(ex, q, k, v).raw_data());
  set_counters(s, L, H, D);
}

#ifdef MOVA_HAVE_OPENBLAS
void BM_BlasMaterialised(benchmark::State& s) {
  const int64_t L = s.range(0), H = s.range(1), D = s.range(2);
  openblas_set_num_threads(mova::bench::threads());
  const mova::Tensor q = random({1, L, H, D}, 1), k = random({1, L, H, D}, 2),
                     v = random({1, L, H, D}, 3);
  std::vector<float> scores(L * L), out(L * H * D);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  for (auto _ : s) {
    for (int64_t h = 0; h < H; ++h) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, D, scale, q.data<float>() + h * D,
                  H * D, k.data<float>() + h * D, H * D, 0.0f, scores.data(), L);
      for (int64_t i = 0; i < L; ++i) {
        float* r = scores.data() + i * L;
        float m = r[0], sum = 0;
        for (int64_t j = 1; j < L; ++j) m = std::max(m, r[j]);
        for (int64_t j = 0; j < L; ++j) sum += (r[j] = std::exp(r[j] - m));
        for (int64_t j = 0; j < L; ++j) r[j] /= sum;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, D, L, 1.0f, scores.data(), L,
                  v.data<float>() + h * D, H * D, 0.0f, out.data() + h * D, H * D);
    }
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(s, L, H, D);
}
#endif

void shapes(benchmark::internal::Benchmark* b) {
  // Audio-tower-like heads (head_dim 128) at sequence lengths a CPU can afford.
  b->Args({1024, 4, 128})->Args({4096, 2, 128})->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

#ifdef MOVA_HAVE_OPENBLAS
BENCHMARK(BM_BlasMaterialised)->Apply(shapes);
#endif
BENCHMARK(BM_MovaAttention)->Apply(shapes);

BENCHMARK_MAIN();
