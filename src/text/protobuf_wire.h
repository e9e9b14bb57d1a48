// The few pieces of protobuf's wire format that sentencepiece's ModelProto needs here: writing
// one from tokenizer.json, and reading a field out of a spiece.model.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mova::protobuf {

void put_varint(std::string& out, uint64_t v);
void put_bytes(std::string& out, int field, std::string_view bytes);
void put_uint(std::string& out, int field, uint64_t v);
void put_float(std::string& out, int field, float f);

// The last length-delimited `field` of the message `bytes` (protobuf's last-one-wins rule);
// nullopt when absent. Throws Error(kFormat) naming `origin` when the bytes are not a message.
std::optional<std::string_view> last_bytes_field(std::string_view bytes, int field,
                                                 const std::string& origin);

}  // namespace mova::protobuf
