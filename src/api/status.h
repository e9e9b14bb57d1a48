// The one mapping between mova::ErrorKind (the engine's exceptions) and mova_status (the C
// API's codes), used by the C API and by C++ callers of it such as the CLI.
#pragma once

#include "mova.h"
#include "runtime/error.h"

namespace mova {

mova_status to_status(ErrorKind kind);
ErrorKind from_status(mova_status status);  // MOVA_OK has no kind: kInternal

}  // namespace mova
