// FFmpeg 5.1 (Debian libavformat-dev, libavcodec-dev, libswscale-dev, libavutil-dev) for the video reader, plus
// the few things Swift cannot import: function-like macros (AVERROR, the NOPTS sentinel) and a C interrupt
// callback that gives every blocking FFmpeg I/O call a deadline.
#include <errno.h>
#include <stdint.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/time.h>
#include <libswscale/swscale.h>

/// AVERROR(EAGAIN): the decoder wants another packet before it can return a frame.
static const int ST_AVERROR_EAGAIN = AVERROR(EAGAIN);
/// AVERROR_EOF: end of the file (demuxer) or of the drained stream (decoder).
static const int ST_AVERROR_EOF = AVERROR_EOF;
/// AVERROR_EXIT: an interrupt callback stopped a blocking call.
static const int ST_AVERROR_EXIT = AVERROR_EXIT;
/// AV_NOPTS_VALUE: "no timestamp".
static const int64_t ST_AV_NOPTS_VALUE = AV_NOPTS_VALUE;

static int st_ffmpeg_deadline_passed(void *deadline) {
    return av_gettime_relative() >= *(const int64_t *)deadline;
}

/// Makes every blocking I/O call of `context` (open, probe, read, seek) fail with AVERROR_EXIT once
/// av_gettime_relative() reaches `*deadline` (microseconds). `deadline` must outlive `context`; the caller moves
/// the deadline before each call it wants bounded.
static inline void st_ffmpeg_set_deadline(AVFormatContext *context, int64_t *deadline) {
    context->interrupt_callback.callback = st_ffmpeg_deadline_passed;
    context->interrupt_callback.opaque = deadline;
}
