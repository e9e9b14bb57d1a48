// Generation progress on stderr: a redrawn bar with step count, s/step and ETA on a terminal;
// one plain line per step otherwise (logs, CI), nothing when quiet.
#pragma once

#include "pipeline/generate.h"

namespace mova::cli {

class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool quiet);
  void operator()(const GenerateProgress& p);

 private:
  bool quiet_;
  bool tty_;
  bool bar_open_ = false;
};

}  // namespace mova::cli
