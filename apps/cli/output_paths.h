// Checks on where a command will write, made before any heavy work so that a bad path fails
// now, not after minutes of generation. Errors name the option.
#pragma once

#include <string>

namespace mova::cli {

// `file` can be written: its folder exists and is writable, and it is not itself a folder.
void check_writable_folder(const std::string& file, const char* option);

// Makes `folder` (and its parents) if missing; it must then be a writable folder.
void make_output_folder(const std::string& folder, const char* option);

}  // namespace mova::cli
