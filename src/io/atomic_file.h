// Writes a file under a temporary name in the same folder and renames it into place on
// commit(). Destroyed without commit() (an exception, an abort), it removes the temporary:
// a reader never sees a half-written output.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

namespace mova {

class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t bytes);
  void write(const std::string& text) { write(text.data(), text.size()); }
  void commit();
  const std::string& temp_path() const { return temp_path_; }

 private:
  std::string path_;
  std::string temp_path_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// Writes `text` to `path` atomically.
void write_text_file(const std::string& path, const std::string& text);
// Reads a whole file; throws Error(kIo) naming it on failure.
std::string read_text_file(const std::string& path);

}  // namespace mova
