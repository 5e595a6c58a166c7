// libpng 1.6 (Debian libpng-dev) plus header-only read/write helpers for Swift.
//
// libpng reports fatal errors with png_error, which longjmps to png_jmpbuf (or aborts when
// none is set). Swift cannot use setjmp/longjmp, so every libpng call is made from one of
// the static inline functions below, which set the jump point first; the error handler
// copies the message and longjmps back, and the function returns 1 instead of 0.
// The full (not the simplified png_image) API is used: the simplified API treats 16-bit
// samples as linear light and gamma-encodes them when reducing to 8 bits, PIL does not.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>
#include <unistd.h>

/// Size of the message buffers used below.
#define ST_PNG_MESSAGE_SIZE 256

static void st_png_fail(png_structp png, png_const_charp message) {
    snprintf((char *)png_get_error_ptr(png), ST_PNG_MESSAGE_SIZE, "%s", message);
    png_longjmp(png, 1);
}

static void st_png_ignore_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

/// One decoding session over an in-memory PNG. Create with st_png_reader_create, then
/// st_png_read_header, st_png_read_pixels, and always st_png_reader_destroy.
typedef struct st_png_reader {
    png_structp png;
    png_infop info;
    const unsigned char *data;
    size_t size;
    size_t offset;
    png_bytepp rows;
    char message[ST_PNG_MESSAGE_SIZE];
} st_png_reader;

static void st_png_read_memory(png_structp png, png_bytep out, size_t count) {
    st_png_reader *reader = (st_png_reader *)png_get_io_ptr(png);
    if (reader->size - reader->offset < count) {
        png_error(png, "unexpected end of data");
    }
    memcpy(out, reader->data + reader->offset, count);
    reader->offset += count;
}

/// Releases the reader and everything libpng allocated for it.
static inline void st_png_reader_destroy(st_png_reader *reader) {
    png_destroy_read_struct(&reader->png, &reader->info, NULL);
    free(reader->rows);
    free(reader);
}

/// A reader over the `size` bytes at `data` (which must outlive it), or NULL when out of memory.
static inline st_png_reader *st_png_reader_create(const unsigned char *data, size_t size) {
    st_png_reader *reader = (st_png_reader *)calloc(1, sizeof(st_png_reader));
    if (reader == NULL) {
        return NULL;
    }
    reader->data = data;
    reader->size = size;
    reader->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, reader->message, st_png_fail,
                                         st_png_ignore_warning);
    if (reader->png != NULL) {
        reader->info = png_create_info_struct(reader->png);
    }
    if (reader->png == NULL || reader->info == NULL) {
        st_png_reader_destroy(reader);
        return NULL;
    }
    png_set_read_fn(reader->png, reader, st_png_read_memory);
    return reader;
}

/// The message of the last failure.
static inline const char *st_png_message(const st_png_reader *reader) {
    return reader->message;
}

/// Reads the header and sets up the conversion to 8 bits per sample: palette to RGB, grey
/// below 8 bits scaled to 8, tRNS to an alpha channel, 16 bits to their high byte (as PIL),
/// interlacing undone; ancillary chunks (gamma, colour profiles) are ignored, as PIL's
/// convert does. Reports the output size; channels is 1 (grey), 2 (grey + alpha), 3 (RGB)
/// or 4 (RGBA). Returns 0 on success.
static inline int st_png_read_header(st_png_reader *reader, int *width, int *height, int *channels) {
    if (setjmp(png_jmpbuf(reader->png))) {
        return 1;
    }
    png_read_info(reader->png, reader->info);
    png_set_expand(reader->png);
    png_set_strip_16(reader->png);
    png_set_interlace_handling(reader->png);
    png_read_update_info(reader->png, reader->info);
    *width = (int)png_get_image_width(reader->png, reader->info);
    *height = (int)png_get_image_height(reader->png, reader->info);
    *channels = png_get_channels(reader->png, reader->info);
    return 0;
}

/// Decodes the image into `out` (height × width × channels bytes). Returns 0 on success.
static inline int st_png_read_pixels(st_png_reader *reader, unsigned char *out) {
    if (setjmp(png_jmpbuf(reader->png))) {
        return 1;
    }
    png_uint_32 height = png_get_image_height(reader->png, reader->info);
    size_t stride = png_get_rowbytes(reader->png, reader->info);
    reader->rows = (png_bytepp)malloc((size_t)height * sizeof(png_bytep));
    if (reader->rows == NULL) {
        png_error(reader->png, "out of memory");
    }
    for (png_uint_32 y = 0; y < height; y++) {
        reader->rows[y] = out + (size_t)y * stride;
    }
    png_read_image(reader->png, reader->rows);
    return 0;
}

/// Writes `height` rows of `width` 8-bit pixels of `channels` bytes as a PNG of `color_type` (PNG_COLOR_TYPE_RGB,
/// _RGB_ALPHA or _PALETTE; a palette image also gets the `entries`-colour `palette`, entries × 3 bytes RGB,
/// 1 ≤ entries ≤ 256) to the open file descriptor `fd` (a duplicate is closed here; `fd` stays open for the caller,
/// which flushes it to disk and renames the file into place). On failure returns 1 with the reason in `message`
/// (ST_PNG_MESSAGE_SIZE bytes).
static inline int st_png_write_rows(int fd, const unsigned char *pixels, int width, int height, int channels,
                                    int color_type, const unsigned char *palette, int entries, char *message) {
    int copy = dup(fd);
    FILE *file = copy >= 0 ? fdopen(copy, "wb") : NULL;
    if (file == NULL) {
        snprintf(message, ST_PNG_MESSAGE_SIZE, "%s", strerror(errno));
        return 1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, message, st_png_fail,
                                              st_png_ignore_warning);
    png_infop info = png != NULL ? png_create_info_struct(png) : NULL;
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        fclose(file);
        snprintf(message, ST_PNG_MESSAGE_SIZE, "out of memory");
        return 1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(file);
        return 1;
    }
    png_init_io(png, file);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color colors[256];
        for (int i = 0; i < entries && i < 256; i++) {
            colors[i].red = palette[3 * i];
            colors[i].green = palette[3 * i + 1];
            colors[i].blue = palette[3 * i + 2];
        }
        png_set_PLTE(png, info, colors, entries);
    }
    png_write_info(png, info);
    for (int y = 0; y < height; y++) {
        png_write_row(png, pixels + (size_t)y * (size_t)width * (size_t)channels);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(file) != 0) {
        snprintf(message, ST_PNG_MESSAGE_SIZE, "%s", strerror(errno));
        return 1;
    }
    return 0;
}

/// Writes 8-bit RGB (channels 3) or RGBA (channels 4) pixels (see st_png_write_rows).
static inline int st_png_write(int fd, const unsigned char *pixels, int width, int height,
                               int channels, char *message) {
    return st_png_write_rows(fd, pixels, width, height, channels,
                             channels == 4 ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB, NULL, 0, message);
}

/// Label-mask variant of st_png_read_header: keeps sample VALUES instead of converting colours. Palette images
/// give their palette INDEX (1/2/4-bit indices unpacked to one byte each, tRNS ignored), grey images their grey
/// value (1/2/4-bit unpacked without scaling), 16-bit grey two big-endian bytes per sample (bit_depth reports 16),
/// alpha stripped. Reports the colour type (PNG_COLOR_TYPE_*) so the caller can reject RGB masks; channels is
/// the number of bytes per pixel after these transformations. Returns 0 on success.
static inline int st_png_read_header_indices(st_png_reader *reader, int *width, int *height, int *channels,
                                             int *color_type, int *bit_depth) {
    if (setjmp(png_jmpbuf(reader->png))) {
        return 1;
    }
    png_read_info(reader->png, reader->info);
    int type = png_get_color_type(reader->png, reader->info);
    int depth = png_get_bit_depth(reader->png, reader->info);
    if (depth < 8) {
        png_set_packing(reader->png);
    }
    if (type & PNG_COLOR_MASK_ALPHA) {
        png_set_strip_alpha(reader->png);
    }
    png_set_interlace_handling(reader->png);
    png_read_update_info(reader->png, reader->info);
    *width = (int)png_get_image_width(reader->png, reader->info);
    *height = (int)png_get_image_height(reader->png, reader->info);
    *channels = (int)png_get_rowbytes(reader->png, reader->info) / (*width > 0 ? *width : 1);
    *color_type = type;
    *bit_depth = depth;
    return 0;
}

/// Writes `height` rows of `width` 8-bit palette indices as an indexed-colour PNG with the `entries`-colour palette
/// `palette` (see st_png_write_rows).
static inline int st_png_write_palette(int fd, const unsigned char *indices, int width, int height,
                                       const unsigned char *palette, int entries, char *message) {
    return st_png_write_rows(fd, indices, width, height, 1, PNG_COLOR_TYPE_PALETTE, palette, entries, message);
}
