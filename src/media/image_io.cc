#include "media/image_io.h"

#include <png.h>
#include <setjmp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>

#include "io/atomic_file.h"
#include "runtime/error.h"

namespace mova {
namespace {

// Refuse absurd headers before allocating: 32768 pixels a side, 64 megapixels in all (an 8K
// frame is 33 MP).
constexpr int64_t kMaxSide = 1 << 15;
constexpr int64_t kMaxPixels = int64_t{1} << 26;

// The libpng and libjpeg error paths longjmp, so the decoders below keep only plain data
// between setjmp and the library calls, and report through these POD structs; the C++ wrapper
// turns a failure into a mova::Error.
struct RawImage {
  int width = 0;
  int height = 0;
  unsigned char* pixels = nullptr;  // malloc'd RGB
  char error[JMSG_LENGTH_MAX + 64] = {};
};

struct PngSource {
  const unsigned char* data;
  size_t size;
  size_t offset;
};

void png_read_memory(png_structp png, png_bytep out, png_size_t n) {
  auto* src = static_cast<PngSource*>(png_get_io_ptr(png));
  if (src->size - src->offset < n) png_error(png, "file is truncated");
  std::memcpy(out, src->data + src->offset, n);
  src->offset += n;
}

void png_on_error(png_structp png, png_const_charp message) {
  auto* raw = static_cast<RawImage*>(png_get_error_ptr(png));
  std::snprintf(raw->error, sizeof raw->error, "%s", message);
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}

bool decode_png_raw(const unsigned char* data, size_t size, RawImage* raw) {
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, raw, png_on_error, png_on_warning);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  png_bytep* volatile rows = nullptr;  // volatile: read after longjmp
  PngSource src{data, size, 0};
  if (setjmp(png_jmpbuf(png))) {
    std::free(rows);
    std::free(raw->pixels);
    raw->pixels = nullptr;
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  if (!info) png_error(png, "out of memory");
  png_set_read_fn(png, &src, png_read_memory);
  png_read_info(png, info);
  const png_uint_32 w = png_get_image_width(png, info);
  const png_uint_32 h = png_get_image_height(png, info);
  if (w == 0 || h == 0 || w > kMaxSide || h > kMaxSide || static_cast<int64_t>(w) * h > kMaxPixels)
    png_error(png, "unsupported image size");
  const int color = png_get_color_type(png, info);
  // PIL opens 16-bit grey as mode I;16, whose conversion to RGB saturates at 255 instead of
  // keeping the high byte; that case is read raw and converted below.
  const bool gray16 = color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) == 16;
  // PIL's convert("RGB"): palette and grey expand to RGB, alpha is dropped, other 16-bit data
  // keeps the high byte.
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  if (!gray16) {
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)
      png_set_gray_to_rgb(png);
    png_set_strip_16(png);
  }
  png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  const size_t row_bytes = static_cast<size_t>(w) * (gray16 ? 2 : 3);
  if (png_get_rowbytes(png, info) != row_bytes)
    png_error(png, "unexpected pixel layout after conversion to RGB");
  raw->width = static_cast<int>(w);
  raw->height = static_cast<int>(h);
  raw->pixels = static_cast<unsigned char*>(std::malloc(static_cast<size_t>(w) * h * 3));
  rows = static_cast<png_bytep*>(std::malloc(sizeof(png_bytep) * h));
  if (!raw->pixels || !rows) png_error(png, "out of memory");
  // 16-bit grey rows (2 bytes per pixel) fit in the RGB buffer; expanded in place below.
  for (png_uint_32 y = 0; y < h; ++y) rows[y] = raw->pixels + static_cast<size_t>(y) * w * 3;
  png_read_image(png, rows);
  if (gray16) {
    for (png_uint_32 y = 0; y < h; ++y) {
      unsigned char* row = rows[y];
      for (png_uint_32 x = w; x-- > 0;) {  // backwards: the output is wider than the input
        const unsigned v = (static_cast<unsigned>(row[2 * x]) << 8) | row[2 * x + 1];
        const unsigned char c = static_cast<unsigned char>(v > 255 ? 255 : v);
        row[3 * x] = row[3 * x + 1] = row[3 * x + 2] = c;
      }
    }
  }
  png_read_end(png, nullptr);
  std::free(rows);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

struct JpegError {
  jpeg_error_mgr mgr;
  jmp_buf jump;
  RawImage* raw;
};

void jpeg_on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  char message[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message)(cinfo, message);
  std::snprintf(err->raw->error, sizeof err->raw->error, "%s", message);
  longjmp(err->jump, 1);
}

void jpeg_on_message(j_common_ptr, int) {}  // corrupt-data warnings: PIL decodes on as well

bool decode_jpeg_raw(const unsigned char* data, size_t size, RawImage* raw) {
  jpeg_decompress_struct cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_on_error;
  err.mgr.emit_message = jpeg_on_message;
  err.raw = raw;
  if (setjmp(err.jump)) {
    std::free(raw->pixels);
    raw->pixels = nullptr;
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    std::snprintf(raw->error, sizeof raw->error,
                  "CMYK JPEGs are not supported; convert the image to RGB first");
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  cinfo.out_color_space = JCS_RGB;
  // Check the size before start_decompress, which allocates (for progressive files) buffers
  // for the whole image.
  if (cinfo.image_width > kMaxSide || cinfo.image_height > kMaxSide ||
      static_cast<int64_t>(cinfo.image_width) * cinfo.image_height > kMaxPixels) {
    std::snprintf(raw->error, sizeof raw->error, "unsupported image size");
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_start_decompress(&cinfo);
  const JDIMENSION w = cinfo.output_width, h = cinfo.output_height;
  if (w == 0 || h == 0 || w > kMaxSide || h > kMaxSide ||
      static_cast<int64_t>(w) * h > kMaxPixels || cinfo.output_components != 3) {
    std::snprintf(raw->error, sizeof raw->error, "unsupported image size or channel count");
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  raw->width = static_cast<int>(w);
  raw->height = static_cast<int>(h);
  raw->pixels = static_cast<unsigned char*>(std::malloc(static_cast<size_t>(w) * h * 3));
  if (!raw->pixels) {
    std::snprintf(raw->error, sizeof raw->error, "out of memory");
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  while (cinfo.output_scanline < h) {
    JSAMPROW row = raw->pixels + static_cast<size_t>(cinfo.output_scanline) * w * 3;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

RgbImage take(RawImage& raw) {
  RgbImage img(raw.width, raw.height);
  std::memcpy(img.pixels.data(), raw.pixels, img.pixels.size());
  std::free(raw.pixels);
  raw.pixels = nullptr;
  return img;
}

void png_write_to_string(png_structp png, png_bytep data, png_size_t n) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<char*>(data), n);
}

void png_flush_nothing(png_structp) {}

bool encode_png_raw(const RgbImage& image, std::string* out, RawImage* status) {
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, status, png_on_error, png_on_warning);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  if (!info) png_error(png, "out of memory");
  png_set_write_fn(png, out, png_write_to_string, png_flush_nothing);
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width),
               static_cast<png_uint_32>(image.height), 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int64_t y = 0; y < image.height; ++y)
    png_write_row(png, const_cast<png_bytep>(image.row(y)));
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

RgbImage decode_image(const uint8_t* data, size_t size, const std::string& name) {
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  RawImage raw;
  if (size >= 8 && std::memcmp(data, kPng, 8) == 0) {
    MOVA_CHECK(decode_png_raw(data, size, &raw), ErrorKind::kFormat, name,
               ": cannot decode PNG: ", raw.error);
  } else if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) {
    MOVA_CHECK(decode_jpeg_raw(data, size, &raw), ErrorKind::kFormat, name,
               ": cannot decode JPEG: ", raw.error);
  } else {
    fail(ErrorKind::kFormat, name, ": not a PNG or JPEG file");
  }
  return take(raw);
}

RgbImage read_image(const std::string& path) {
  const std::string bytes = read_text_file(path);
  return decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

void write_png(const std::string& path, const RgbImage& image) {
  MOVA_CHECK(image.width > 0 && image.height > 0 &&
                 image.pixels.size() == static_cast<size_t>(image.width * image.height * 3),
             ErrorKind::kInvalidArgument, path, ": image to write is empty or inconsistent");
  std::string encoded;
  RawImage status;
  MOVA_CHECK(encode_png_raw(image, &encoded, &status), ErrorKind::kInternal, path,
             ": PNG encoding failed: ", status.error);
  AtomicFile file(path);
  file.write(encoded);
  file.commit();
}

}  // namespace mova
