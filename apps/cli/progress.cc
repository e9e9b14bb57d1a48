#include "progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "format.h"

namespace mova::cli {

ProgressPrinter::ProgressPrinter(bool quiet) : quiet_(quiet), tty_(::isatty(STDERR_FILENO) != 0) {}

void ProgressPrinter::operator()(const GenerateProgress& p) {
  if (quiet_) return;
  if (p.step == 0) {  // a stage starts (seconds 0) or ends
    if (bar_open_) {
      std::fputc('\n', stderr);
      bar_open_ = false;
    }
    if (p.stage_seconds == 0 && std::strcmp(p.stage, "denoise") != 0)
      std::fprintf(stderr, "%s...\n", p.stage);
    return;
  }
  const double per_step = p.stage_seconds / static_cast<double>(p.step);
  const double eta = per_step * static_cast<double>(p.steps - p.step);
  if (!tty_) {
    std::fprintf(stderr, "denoise step %lld/%lld  %.2f s/step  ETA %s\n",
                 static_cast<long long>(p.step), static_cast<long long>(p.steps), per_step,
                 human_duration(eta).c_str());
    return;
  }
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * p.step / p.steps);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\rdenoise [%s] %lld/%lld  %.2f s/step  ETA %s   ", bar.c_str(),
               static_cast<long long>(p.step), static_cast<long long>(p.steps), per_step,
               human_duration(eta).c_str());
  std::fflush(stderr);
  bar_open_ = true;
}

}  // namespace mova::cli
