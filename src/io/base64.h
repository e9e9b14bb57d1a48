// Base64 (RFC 4648, standard alphabet) decoding of text a user or a file supplies: the
// tokenizer.json's precompiled charsmap, a first frame posted to `mova serve`.
#pragma once

#include <string>
#include <string_view>

namespace mova {

// Decodes `in`; padding ('=') is optional but, when present, must end the text. Whitespace is
// not skipped. A character outside the alphabet, data after padding or a length that leaves a
// lone 6-bit group is a kFormat error naming `what`.
std::string base64_decode(std::string_view in, const std::string& what);

}  // namespace mova
