// libjpeg-turbo (Debian libjpeg62-turbo-dev) plus a header-only decoding helper for Swift.
//
// libjpeg reports fatal errors through error_exit, whose default prints and calls exit().
// Swift cannot use setjmp/longjmp, so every libjpeg call is made from one of the static
// inline functions below, which set the jump point first; the error manager formats the
// message into the reader and longjmps back, and the function returns 1 instead of 0.
// jpeglib.h needs stdio.h first.
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

/// One decoding session over an in-memory JPEG. Create with st_jpeg_reader_create, then
/// st_jpeg_read_header, st_jpeg_read_pixels, and always st_jpeg_reader_destroy.
typedef struct st_jpeg_reader {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr err;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} st_jpeg_reader;

static void st_jpeg_fail(j_common_ptr cinfo) {
    st_jpeg_reader *reader = (st_jpeg_reader *)cinfo->client_data;
    cinfo->err->format_message(cinfo, reader->message);
    longjmp(reader->jump, 1);
}

// Warnings (level -1) are ignored, as PIL does, except running out of data: libjpeg would
// pad the rest of the image with grey, PIL reports a truncated file.
static void st_jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        st_jpeg_fail(cinfo);
    }
}

/// A zeroed reader, or NULL when out of memory.
static inline st_jpeg_reader *st_jpeg_reader_create(void) {
    return (st_jpeg_reader *)calloc(1, sizeof(st_jpeg_reader));
}

/// The message of the last failure.
static inline const char *st_jpeg_message(const st_jpeg_reader *reader) {
    return reader->message;
}

/// Reads the header of the `size` bytes at `data` (which must outlive the reader) and reports
/// the output size; components is 1 (grey), 3 (RGB, converted from YCbCr when needed) or 4
/// (CMYK, converted from YCCK when needed, Adobe-inverted as stored). Returns 0 on success.
static inline int st_jpeg_read_header(st_jpeg_reader *reader, const unsigned char *data, unsigned long size,
                                      int *width, int *height, int *components) {
    reader->cinfo.err = jpeg_std_error(&reader->err);
    reader->err.error_exit = st_jpeg_fail;
    reader->err.emit_message = st_jpeg_emit_message;
    reader->cinfo.client_data = reader;
    if (setjmp(reader->jump)) {
        return 1;
    }
    jpeg_create_decompress(&reader->cinfo);  // keeps err and client_data
    jpeg_mem_src(&reader->cinfo, data, size);
    jpeg_read_header(&reader->cinfo, TRUE);
    jpeg_calc_output_dimensions(&reader->cinfo);
    *width = (int)reader->cinfo.output_width;
    *height = (int)reader->cinfo.output_height;
    *components = reader->cinfo.output_components;
    return 0;
}

/// Decodes every scanline into `out` (height × width × components bytes). Returns 0 on success.
static inline int st_jpeg_read_pixels(st_jpeg_reader *reader, unsigned char *out) {
    if (setjmp(reader->jump)) {
        return 1;
    }
    jpeg_start_decompress(&reader->cinfo);
    size_t stride = (size_t)reader->cinfo.output_width * (size_t)reader->cinfo.output_components;
    while (reader->cinfo.output_scanline < reader->cinfo.output_height) {
        JSAMPROW row = out + (size_t)reader->cinfo.output_scanline * stride;
        jpeg_read_scanlines(&reader->cinfo, &row, 1);
    }
    return 0;
}

/// Releases the reader and everything libjpeg allocated for it.
static inline void st_jpeg_reader_destroy(st_jpeg_reader *reader) {
    jpeg_destroy_decompress(&reader->cinfo);
    free(reader);
}
