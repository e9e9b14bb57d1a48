#include "io/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/error.h"

namespace mova {

AtomicFile::AtomicFile(const std::string& path)
    : path_(path), temp_path_(path + ".tmp." + std::to_string(::getpid())) {
  file_ = std::fopen(temp_path_.c_str(), "wb");
  MOVA_CHECK(file_, ErrorKind::kIo, path, ": cannot write: ", std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) std::remove(temp_path_.c_str());
}

void AtomicFile::write(const void* data, size_t bytes) {
  MOVA_CHECK(file_, ErrorKind::kInternal, path_, ": write after commit");
  if (bytes == 0) return;
  MOVA_CHECK(std::fwrite(data, 1, bytes, file_) == bytes, ErrorKind::kIo, path_,
             ": write failed: ", std::strerror(errno));
}

void AtomicFile::commit() {
  MOVA_CHECK(file_, ErrorKind::kInternal, path_, ": committed twice");
  const bool flushed = std::fflush(file_) == 0;
  const int err = errno;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  MOVA_CHECK(flushed && closed, ErrorKind::kIo, path_, ": write failed: ", std::strerror(err));
  MOVA_CHECK(std::rename(temp_path_.c_str(), path_.c_str()) == 0, ErrorKind::kIo, path_,
             ": cannot rename temporary file into place: ", std::strerror(errno));
  committed_ = true;
}

void write_text_file(const std::string& path, const std::string& text) {
  AtomicFile f(path);
  f.write(text);
  f.commit();
}

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  MOVA_CHECK(std::filesystem::exists(path, ec), ErrorKind::kIo, path, ": no such file");
  MOVA_CHECK(std::filesystem::is_regular_file(path, ec), ErrorKind::kIo, path,
             ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  MOVA_CHECK(in.good(), ErrorKind::kIo, path, ": cannot open: ", std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  MOVA_CHECK(!in.bad(), ErrorKind::kIo, path, ": read failed");
  return ss.str();
}

}  // namespace mova
