// Stages for `mova eval`: each runs one piece of the pipeline on tensors read from a
// safetensors file and returns named tensors, so any stage can be compared with upstream's
// PyTorch on the same inputs. Conventions: float32, batch 1, upstream layouts.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "models/checkpoint.h"
#include "runtime/exec.h"
#include "runtime/tensor.h"

namespace mova {

using TensorMap = std::map<std::string, Tensor>;

// The `--set key=value` options of one stage. Keys are checked against the stage's declared
// options before it runs, so a typo fails at once instead of being silently ignored.
class StageParams {
 public:
  StageParams() = default;
  explicit StageParams(const std::vector<std::string>& assignments);

  int64_t get_int(const std::string& key, int64_t fallback);
  double get_double(const std::string& key, double fallback);
  std::string get_string(const std::string& key, const std::string& fallback);
  void check_known(const std::vector<std::string>& options, const std::string& stage) const;

 private:
  const std::string* lookup(const std::string& key) const;
  std::map<std::string, std::string> values_;
};

struct StageContext {
  const Checkpoint* checkpoint = nullptr;  // null when the stage needs no model
  Exec* exec = nullptr;
  Device device;  // where the stage's model runs (a stage with on_device; else the CPU)
  const TensorMap* inputs = nullptr;
  StageParams* params = nullptr;

  // The input tensor `name` as contiguous F32, checked against `shape` (-1 = any size).
  Tensor input(const std::string& name, const Shape& shape) const;
  // An integer input (token ids, masks) as int64 values, shape-checked like input().
  std::vector<int64_t> input_ints(const std::string& name, const Shape& shape) const;

 private:
  // The named input, checked to exist and to have `shape`.
  const Tensor& lookup(const std::string& name, const Shape& shape) const;
};

struct EvalStage {
  const char* name;
  const char* summary;
  bool needs_model;
  std::vector<std::string> options;  // accepted --set keys
  std::function<TensorMap(StageContext&)> run;
  bool on_device = false;  // runs on StageContext::device (outputs come back to the host)
};

const std::vector<EvalStage>& eval_stages();
// Throws naming the unknown stage and listing the known ones.
const EvalStage& find_eval_stage(const std::string& name);

}  // namespace mova
