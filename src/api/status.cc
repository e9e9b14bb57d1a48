#include "api/status.h"

namespace mova {
namespace {

constexpr struct {
  ErrorKind kind;
  mova_status status;
} kPairs[] = {
    {ErrorKind::kInvalidArgument, MOVA_ERR_INVALID_ARGUMENT},
    {ErrorKind::kIo, MOVA_ERR_IO},
    {ErrorKind::kFormat, MOVA_ERR_FORMAT},
    {ErrorKind::kShape, MOVA_ERR_SHAPE},
    {ErrorKind::kUnsupported, MOVA_ERR_UNSUPPORTED},
    {ErrorKind::kInternal, MOVA_ERR_INTERNAL},
    {ErrorKind::kAborted, MOVA_ERR_ABORTED},
    {ErrorKind::kOutOfMemory, MOVA_ERR_OUT_OF_MEMORY},
};

}  // namespace

mova_status to_status(ErrorKind kind) {
  for (const auto& p : kPairs)
    if (p.kind == kind) return p.status;
  return MOVA_ERR_INTERNAL;
}

ErrorKind from_status(mova_status status) {
  for (const auto& p : kPairs)
    if (p.status == status) return p.kind;
  return ErrorKind::kInternal;
}

}  // namespace mova
