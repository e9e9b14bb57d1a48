#include "text/prompt_clean.h"

#include <cstdint>
#include <map>
#include <string>

#include "runtime/error.h"

namespace mova {
namespace {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// Decodes UTF-8 already checked by check_utf8 into code points.
std::u32string decode_utf8(const std::string& text) {
  std::u32string out;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = text[i];
    const size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    uint32_t cp = len == 1 ? c : c & (0xff >> (len + 1));
    for (size_t k = 1; k < len && i + k < text.size(); ++k) cp = (cp << 6) | (text[i + k] & 0x3f);
    out.push_back(cp);
    i += len;
  }
  return out;
}

// Windows-1252 meanings of the C1 controls U+0080..U+009F (0: undefined, kept).
constexpr uint16_t kCp1252[32] = {0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
                                  0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017d, 0,
                                  0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
                                  0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178};

// What ftfy's remove_control_chars deletes.
bool is_removed_control(uint32_t cp) {
  return cp <= 0x08 || cp == 0x0b || (cp >= 0x0e && cp <= 0x1f) || cp == 0x7f ||
         (cp >= 0x206a && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffc) ||
         (cp >= 0x1d173 && cp <= 0x1d17a) || (cp >= 0xe0000 && cp <= 0xe007f);
}

}  // namespace

std::string ftfy_subset(const std::string& text) {
  // ftfy unescapes HTML itself only when the text has no '<' (it may be real HTML).
  const std::string unescaped = text.find('<') == std::string::npos ? html_unescape(text) : text;
  const std::u32string in = decode_utf8(unescaped);
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    uint32_t cp = in[i];
    if (cp == 0x1b && i + 1 < in.size() && in[i + 1] == '[') {  // terminal escape \e[...m
      size_t j = i + 2;
      while (j < in.size() && ((in[j] >= '0' && in[j] <= '9') || in[j] == ';')) ++j;
      if (j < in.size() && ((in[j] >= 'a' && in[j] <= 'z') || (in[j] >= 'A' && in[j] <= 'Z'))) {
        i = j;
        continue;
      }
    }
    if (cp >= 0x80 && cp <= 0x9f && kCp1252[cp - 0x80] != 0) cp = kCp1252[cp - 0x80];
    switch (cp) {  // Latin ligatures
      case 0xfb00:
        out += "ff";
        continue;
      case 0xfb01:
        out += "fi";
        continue;
      case 0xfb02:
        out += "fl";
        continue;
      case 0xfb03:
        out += "ffi";
        continue;
      case 0xfb04:
        out += "ffl";
        continue;
      case 0xfb05:
        out += "\xc5\xbft";
        continue;  // long s + t
      case 0xfb06:
        out += "st";
        continue;
      default:
        break;
    }
    if (cp == 0x02bc || (cp >= 0x2018 && cp <= 0x201b)) cp = '\'';  // uncurl quotes
    if (cp >= 0x201c && cp <= 0x201f) cp = '"';
    if (is_removed_control(cp)) continue;
    append_utf8(out, cp);
  }
  return out;
}

void check_utf8(const std::string& s, const char* what) {
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    size_t extra = 0;
    bool ok = true;
    if (c < 0x80) {
      extra = 0;
    } else if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
    } else if ((c >> 4) == 0xe) {
      extra = 2;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
    } else {
      ok = false;
    }
    ok = ok && i + extra < n;
    for (size_t k = 1; ok && k <= extra; ++k)
      ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 0x2;
    MOVA_CHECK(ok, ErrorKind::kInvalidArgument, what, " is not valid UTF-8 (byte offset ", i, ")");
    i += extra + 1;
  }
}

std::string html_unescape(const std::string& s) {
  static const std::map<std::string, uint32_t> named = {
      {"amp", '&'},       {"lt", '<'},       {"gt", '>'},       {"quot", '"'},
      {"apos", '\''},     {"nbsp", 0xa0},    {"copy", 0xa9},    {"reg", 0xae},
      {"hellip", 0x2026}, {"mdash", 0x2014}, {"ndash", 0x2013}, {"lsquo", 0x2018},
      {"rsquo", 0x2019},  {"ldquo", 0x201c}, {"rdquo", 0x201d}};
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '&') {
      const size_t semi = s.find(';', i + 1);
      if (semi != std::string::npos && semi - i <= 10) {
        const std::string ent = s.substr(i + 1, semi - i - 1);
        uint32_t cp = 0;
        bool ok = false;
        if (ent.size() > 1 && ent[0] == '#') {
          const bool hex = ent[1] == 'x' || ent[1] == 'X';
          const std::string digits = ent.substr(hex ? 2 : 1);
          ok = !digits.empty() && digits.find_first_not_of(hex ? "0123456789abcdefABCDEF"
                                                               : "0123456789") == std::string::npos;
          if (ok) {
            cp = static_cast<uint32_t>(std::stoul(digits, nullptr, hex ? 16 : 10));
            ok = cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
          }
        } else if (auto it = named.find(ent); it != named.end()) {
          cp = it->second;
          ok = true;
        }
        if (ok) {
          append_utf8(out, cp);
          i = semi + 1;
          continue;
        }
      }
    }
    out.push_back(s[i++]);
  }
  return out;
}

// Unicode whitespace as Python's str.isspace (what upstream's `\s+` regex matches).
bool is_unicode_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

std::string clean_prompt(const std::string& prompt) {
  check_utf8(prompt, "prompt");
  const std::string text = html_unescape(html_unescape(ftfy_subset(prompt)));
  std::string out;
  bool pending_space = false;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = text[i];
    const size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    uint32_t cp = len == 1 ? c : c & (0xff >> (len + 1));
    for (size_t k = 1; k < len && i + k < text.size(); ++k) cp = (cp << 6) | (text[i + k] & 0x3f);
    if (is_unicode_space(cp)) {
      pending_space = !out.empty();
    } else {
      if (pending_space) out.push_back(' ');
      pending_space = false;
      out.append(text, i, len);
    }
    i += len;
  }
  return out;
}

}  // namespace mova
