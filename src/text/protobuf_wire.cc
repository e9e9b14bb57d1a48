#include "text/protobuf_wire.h"

#include <cstring>

#include "runtime/error.h"

namespace mova::protobuf {
namespace {

void put_tag(std::string& out, int field, int wire) {
  put_varint(out, (static_cast<uint64_t>(field) << 3) | wire);
}

uint64_t read_varint(std::string_view bytes, size_t& pos, const std::string& origin) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    MOVA_CHECK(pos < bytes.size(), ErrorKind::kFormat, origin, ": truncated protobuf varint");
    const auto b = static_cast<uint8_t>(bytes[pos++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) return v;
  }
  fail(ErrorKind::kFormat, origin, ": protobuf varint longer than 10 bytes");
}

}  // namespace

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_bytes(std::string& out, int field, std::string_view bytes) {
  put_tag(out, field, 2);
  put_varint(out, bytes.size());
  out += bytes;
}

void put_uint(std::string& out, int field, uint64_t v) {
  put_tag(out, field, 0);
  put_varint(out, v);
}

void put_float(std::string& out, int field, float f) {
  put_tag(out, field, 5);
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

std::optional<std::string_view> last_bytes_field(std::string_view bytes, int field,
                                                 const std::string& origin) {
  std::optional<std::string_view> found;
  for (size_t pos = 0; pos < bytes.size();) {
    const uint64_t tag = read_varint(bytes, pos, origin);
    const auto wire = static_cast<int>(tag & 7);
    size_t size = 0;
    if (wire == 0) {
      read_varint(bytes, pos, origin);
    } else if (wire == 1 || wire == 5) {
      size = wire == 1 ? 8 : 4;
    } else if (wire == 2) {
      size = read_varint(bytes, pos, origin);
    } else {
      fail(ErrorKind::kFormat, origin, ": protobuf wire type ", wire,
           " is not one sentencepiece uses");
    }
    MOVA_CHECK(size <= bytes.size() - pos, ErrorKind::kFormat, origin,
               ": protobuf field runs past the end");
    if (wire == 2 && (tag >> 3) == static_cast<uint64_t>(field)) found = bytes.substr(pos, size);
    pos += size;
  }
  return found;
}

}  // namespace mova::protobuf
