#include "output_paths.h"

#include <unistd.h>

#include <filesystem>

#include "runtime/error.h"

namespace mova::cli {

namespace fs = std::filesystem;

void check_writable_folder(const std::string& file, const char* option) {
  const fs::path dir = fs::absolute(file).parent_path();
  std::error_code ec;
  MOVA_CHECK(fs::is_directory(dir, ec), ErrorKind::kIo, option, " ", file, ": folder ",
             dir.string(), " does not exist");
  MOVA_CHECK(::access(dir.c_str(), W_OK) == 0, ErrorKind::kIo, option, " ", file,
             ": folder is not writable");
  MOVA_CHECK(!fs::is_directory(file, ec), ErrorKind::kIo, option, " ", file, " is a folder");
}

void make_output_folder(const std::string& folder, const char* option) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  MOVA_CHECK(fs::is_directory(folder, ec), ErrorKind::kIo, option, " ", folder,
             ": cannot create folder");
  MOVA_CHECK(::access(folder.c_str(), W_OK) == 0, ErrorKind::kIo, option, " ", folder,
             ": folder is not writable");
}

}  // namespace mova::cli
