/*
 * framewire_jpeg: RGB24 -> baseline JPEG (4:2:0), and RGB24 -> planar I420, through libjpeg-turbo's
 * TurboJPEG 2.x API.
 *
 *   encodeRgb(rgb: Buffer, width: number, height: number, quality: number,
 *             callback: (err: Error | null, jpeg?: Buffer) => void): void
 *   rgbToI420(rgb: Buffer, width: number, height: number, [out: Buffer,]
 *             callback: (err: Error | null, yuv?: Buffer) => void): void
 *
 * rgbToI420 is TurboJPEG's SIMD colour conversion and 2x2 chroma averaging (tjEncodeYUV3, TJSAMP_420, rows
 * unpadded), i.e. the first half of a JPEG encode: Y plane, then U, then V, each w/2 x h/2 for chroma;
 * even sizes only (TurboJPEG pads an odd one's Y plane). TurboJPEG yields JFIF's full-range BT.601 YCbCr; H.264 decoders are most reliable with limited
 * ("TV") range, so the planes are then squeezed to 16..235 (Y) and 16..240 (Cb, Cr) here, in two more
 * passes after the conversion (one over Y, one over the chroma planes). The result is BT.601 limited range with chroma sited at the centre
 * of each 2x2 block (libjpeg's averaging), what ffmpeg calls yuv420p with colorspace smpte170m.
 *
 * Arguments are checked on the calling thread (TypeError / RangeError thrown synchronously); the compression
 * runs as Node-API async work on libuv's thread pool. The input Buffer is kept alive by a reference until the
 * work completes. The JPEG is handed to JS without a copy: a Buffer over TurboJPEG's own output allocation,
 * released with tjFree when the Buffer is collected.
 *
 * TJFLAG_ACCURATEDCT: TurboJPEG 2.x otherwise picks the fast integer DCT below quality 96. With SIMD the
 * accurate one costs no measurable time here (see native/README.md), and it is what sharp/libvips uses.
 *
 * Each pool thread keeps one compressor handle (thread-local) so repeated encodes skip the compressor's
 * set-up; a handle is destroyed and dropped after any error so a bad state never carries over.
 */
#include <node_api.h>
#include <turbojpeg.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIM 65535
#define ERR_LEN 256

typedef struct {
  napi_async_work work;
  napi_ref input_ref;   /* keeps the input Buffer alive while the pool thread reads it */
  napi_ref callback_ref;
  const unsigned char *rgb;
  int width;
  int height;
  int quality;
  unsigned char *jpeg; /* encodeRgb: tjAlloc'd by TurboJPEG; ownership moves to the JS Buffer on success */
  unsigned char *yuv;  /* rgbToI420: the output Buffer's memory, made on the JS thread */
  size_t yuv_size;
  napi_ref output_ref; /* rgbToI420: the output Buffer, held until the callback */
  unsigned long jpeg_size;
  char error[ERR_LEN]; /* empty on success */
} EncodeJob;

#if defined(_MSC_VER)
#define THREAD_LOCAL __declspec(thread)
#else
#define THREAD_LOCAL _Thread_local
#endif

/* One compressor per libuv pool thread; pool threads live as long as the process. */
static THREAD_LOCAL tjhandle tls_compressor = NULL;

/* ---------------------------------------------------------------- helpers (JS thread) */

/* Throws `kind` ('T' TypeError, 'R' RangeError, else Error) unless an exception is already pending. */
static void throw_error(napi_env env, char kind, const char *msg) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  if (kind == 'T') napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  else if (kind == 'R') napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
  else napi_throw_error(env, NULL, msg);
}

#define NAPI_CALL(env, call, what)              \
  do {                                          \
    if ((call) != napi_ok) {                    \
      throw_error((env), 'E', "framewire_jpeg: " what " failed"); \
      goto fail;                                \
    }                                           \
  } while (0)

/* An integer argument in [lo, hi]; throws and returns false otherwise. */
static bool get_int_arg(napi_env env, napi_value v, const char *name, int lo, int hi, int *out) {
  napi_valuetype t;
  char msg[160];
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
    snprintf(msg, sizeof msg, "%s must be a number", name);
    throw_error(env, 'T', msg);
    return false;
  }
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    throw_error(env, 'E', "framewire_jpeg: reading a number failed");
    return false;
  }
  /* NaN fails both comparisons; the cast is only done once d is known to be in range. */
  if (!(d >= lo && d <= hi) || d != (double)(int)d) {
    snprintf(msg, sizeof msg, "%s must be an integer in %d..%d (got %g)", name, lo, hi, d);
    throw_error(env, 'R', msg);
    return false;
  }
  *out = (int)d;
  return true;
}

static void free_jpeg(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  tjFree((unsigned char *)data);
}

/* Deletes the job's references and work item and frees it (JS thread). Safe on a partly built job. */
static void free_job(napi_env env, EncodeJob *job) {
  if (job == NULL) return;
  if (job->work != NULL) napi_delete_async_work(env, job->work);
  if (job->input_ref != NULL) napi_delete_reference(env, job->input_ref);
  if (job->callback_ref != NULL) napi_delete_reference(env, job->callback_ref);
  if (job->output_ref != NULL) napi_delete_reference(env, job->output_ref);
  if (job->jpeg != NULL) tjFree(job->jpeg);
  free(job);
}

/* ---------------------------------------------------------------- pool thread */

/* This pool thread's compressor, made on first use; NULL with job->error set when TurboJPEG cannot make one. */
static tjhandle thread_compressor(EncodeJob *job) {
  if (tls_compressor == NULL) {
    tls_compressor = tjInitCompress();
    if (tls_compressor == NULL) snprintf(job->error, ERR_LEN, "tjInitCompress: %s", tjGetErrorStr2(NULL));
  }
  return tls_compressor;
}

/* After a TurboJPEG failure: say what failed, and start this thread's next job from a fresh compressor. */
static void compressor_failed(EncodeJob *job, const char *what) {
  snprintf(job->error, ERR_LEN, "%s: %s", what, tjGetErrorStr2(tls_compressor));
  tjDestroy(tls_compressor);
  tls_compressor = NULL;
}

static void execute(napi_env env, void *data) {
  (void)env; /* must not touch JS here */
  EncodeJob *job = (EncodeJob *)data;

  tjhandle tj = thread_compressor(job);
  if (tj == NULL) return;

  unsigned char *out = NULL; /* TurboJPEG allocates and grows it */
  unsigned long size = 0;
  int rc = tjCompress2(tj, job->rgb, job->width, 0 /* pitch = width * 3 */, job->height, TJPF_RGB,
                       &out, &size, TJSAMP_420, job->quality, TJFLAG_ACCURATEDCT);
  if (rc != 0) {
    if (out != NULL) tjFree(out);
    compressor_failed(job, "tjCompress2");
    return;
  }
  if (out == NULL || size == 0) {
    snprintf(job->error, ERR_LEN, "tjCompress2 produced no output");
    if (out != NULL) tjFree(out);
    return;
  }
  job->jpeg = out;
  job->jpeg_size = size;
}

/*
 * Holds the input Buffer and the callback until completion and queues the work on libuv's pool; false (an
 * exception thrown, the caller frees the job) when N-API refuses any step.
 */
static bool queue_job(napi_env env, EncodeJob *job, napi_value input, napi_value callback, const char *name,
                      napi_async_execute_callback run, napi_async_complete_callback done) {
  napi_value resource_name;
  NAPI_CALL(env, napi_create_reference(env, input, 1, &job->input_ref), "napi_create_reference(rgb)");
  NAPI_CALL(env, napi_create_reference(env, callback, 1, &job->callback_ref), "napi_create_reference(callback)");
  NAPI_CALL(env, napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name), "napi_create_string_utf8");
  NAPI_CALL(env, napi_create_async_work(env, NULL, resource_name, run, done, job, &job->work), "napi_create_async_work");
  NAPI_CALL(env, napi_queue_async_work(env, job->work), "napi_queue_async_work");
  return true;
fail:
  return false;
}

/* A zeroed job for rgb at width x height; NULL with an exception thrown when memory runs out. */
static EncodeJob *new_job(napi_env env, const unsigned char *rgb, int width, int height) {
  EncodeJob *job = (EncodeJob *)calloc(1, sizeof *job);
  if (job == NULL) {
    throw_error(env, 'E', "framewire_jpeg: out of memory");
    return NULL;
  }
  job->rgb = rgb;
  job->width = width;
  job->height = height;
  return job;
}

/* ---------------------------------------------------------------- back on the JS thread */

/*
 * The start of every completion: the callback (false when the environment is going away: the job is freed,
 * there is nobody to tell) and the error the work itself ended with, if any.
 */
static bool job_callback(napi_env env, napi_status status, EncodeJob *job, const char *what, napi_value *cb,
                         const char **errmsg) {
  if (napi_get_reference_value(env, job->callback_ref, cb) != napi_ok || *cb == NULL) {
    free_job(env, job);
    return false;
  }
  *errmsg = NULL;
  if (status == napi_cancelled) *errmsg = what;
  else if (status != napi_ok) *errmsg = "framewire_jpeg: async work failed";
  else if (job->error[0] != '\0') *errmsg = job->error;
  return true;
}

/*
 * The end of every completion: cb(error) when errmsg is set, else cb(null, value). The job is freed first:
 * the callback may throw (which Node reports as an uncaught exception), and value lives on this handle scope.
 */
static void call_back(napi_env env, EncodeJob *job, napi_value cb, const char *errmsg, napi_value value) {
  napi_value argv[2] = {NULL, value};
  size_t argc = 2;
  napi_value undefined;
  if (napi_get_undefined(env, &undefined) != napi_ok) {
    free_job(env, job);
    return;
  }
  if (errmsg != NULL) {
    napi_value msg;
    if (napi_create_string_utf8(env, errmsg, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
        napi_create_error(env, NULL, msg, &argv[0]) != napi_ok) {
      free_job(env, job);
      return;
    }
    argc = 1;
  } else {
    napi_get_null(env, &argv[0]);
  }
  free_job(env, job);
  napi_value result;
  napi_call_function(env, undefined, cb, argc, argv, &result);
}

static void complete(napi_env env, napi_status status, void *data) {
  EncodeJob *job = (EncodeJob *)data;
  napi_value cb;
  const char *errmsg;
  if (!job_callback(env, status, job, "framewire_jpeg: encode cancelled", &cb, &errmsg)) return;

  napi_value buf = NULL;
  if (errmsg == NULL) {
    /* Zero-copy: the Buffer takes ownership of TurboJPEG's allocation. */
    if (napi_create_external_buffer(env, job->jpeg_size, job->jpeg, free_jpeg, NULL, &buf) == napi_ok) {
      job->jpeg = NULL; /* owned by the Buffer now, freed by free_jpeg */
    } else {
      /* External buffers can be refused (e.g. runtimes with a V8 sandbox): fall back to one copy. */
      bool pending = false;
      if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
        napi_value ignored;
        napi_get_and_clear_last_exception(env, &ignored);
      }
      void *copy_data;
      if (napi_create_buffer_copy(env, job->jpeg_size, job->jpeg, &copy_data, &buf) != napi_ok) {
        errmsg = "framewire_jpeg: could not allocate the output Buffer";
      }
    }
  }
  call_back(env, job, cb, errmsg, buf);
}

/* ---------------------------------------------------------------- argument checks (JS thread) */

/* argv[0..2] = rgb Buffer, width, height; throws and returns false unless rgb is width*height*3 bytes. */
static bool get_rgb_args(napi_env env, napi_value *argv, const unsigned char **rgb, int *width, int *height) {
  bool is_buffer = false;
  if (napi_is_buffer(env, argv[0], &is_buffer) != napi_ok || !is_buffer) {
    throw_error(env, 'T', "rgb must be a Buffer of width*height*3 bytes (RGB24)");
    return false;
  }
  if (!get_int_arg(env, argv[1], "width", 1, MAX_DIM, width)) return false;
  if (!get_int_arg(env, argv[2], "height", 1, MAX_DIM, height)) return false;
  void *data = NULL;
  size_t length = 0;
  if (napi_get_buffer_info(env, argv[0], &data, &length) != napi_ok) {
    throw_error(env, 'E', "framewire_jpeg: reading the rgb Buffer failed");
    return false;
  }
  size_t expected = (size_t)*width * (size_t)*height * 3u; /* <= 65535^2*3, fits a 64-bit size_t */
  if (length != expected) {
    char msg[200];
    snprintf(msg, sizeof msg, "rgb Buffer is %zu bytes but %dx%d RGB24 needs %zu (width*height*3)", length, *width,
             *height, expected);
    throw_error(env, 'R', msg);
    return false;
  }
  *rgb = (const unsigned char *)data;
  return true;
}

static bool get_callback(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_function) {
    throw_error(env, 'T', "callback must be a function");
    return false;
  }
  return true;
}

/* ---------------------------------------------------------------- encodeRgb */

static napi_value encode_rgb(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  EncodeJob *job = NULL;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    throw_error(env, 'E', "framewire_jpeg: reading arguments failed");
    return NULL;
  }
  if (argc < 5) {
    throw_error(env, 'T', "encodeRgb(rgb, width, height, quality, callback) needs 5 arguments");
    return NULL;
  }

  int width, height, quality;
  const unsigned char *rgb;
  if (!get_rgb_args(env, argv, &rgb, &width, &height)) return NULL;
  if (!get_int_arg(env, argv[3], "quality", 1, 100, &quality)) return NULL;
  if (!get_callback(env, argv[4])) return NULL;
  /* tjBufSize's worst case must be representable; also rejects sizes TurboJPEG itself would refuse. */
  if (tjBufSize(width, height, TJSAMP_420) == (unsigned long)-1) {
    throw_error(env, 'R', "width x height is too large for TurboJPEG");
    return NULL;
  }

  job = new_job(env, rgb, width, height);
  if (job == NULL) return NULL;
  job->quality = quality;

  if (!queue_job(env, job, argv[0], argv[4], "framewire:jpeg", execute, complete)) goto fail;
  return NULL;

fail:
  free_job(env, job);
  return NULL;
}

/* ---------------------------------------------------------------- rgbToI420 */

/* round(x / 255), exact for 0 <= x <= 65000; a shift instead of a division, so the loop vectorises. */
static inline unsigned div255_round(unsigned x) {
  x += 128;
  return (x + (x >> 8)) >> 8;
}

/*
 * Full range (JFIF) to limited range, in place: Y' = 16 + Y*219/255, C' = 128 + (C-128)*224/255,
 * rounded. Written as (v*k + offset*255) / 255 so every intermediate fits 16 bits.
 */
static void full_to_limited(unsigned char *p, size_t n, unsigned k, unsigned offset255) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)div255_round((unsigned)p[i] * k + offset255);
}

static void execute_i420(napi_env env, void *data) {
  (void)env; /* must not touch JS here */
  EncodeJob *job = (EncodeJob *)data;

  tjhandle tj = thread_compressor(job);
  if (tj == NULL) return;
  if (tjEncodeYUV3(tj, job->rgb, job->width, 0 /* pitch = width * 3 */, job->height, TJPF_RGB, job->yuv,
                   1 /* rows unpadded */, TJSAMP_420, 0) != 0) {
    compressor_failed(job, "tjEncodeYUV3");
    return;
  }
  size_t luma = (size_t)job->width * (size_t)job->height;
  full_to_limited(job->yuv, luma, 219, 16 * 255);
  full_to_limited(job->yuv + luma, job->yuv_size - luma, 224, 128 * 255 - 128 * 224);
}

static void complete_i420(napi_env env, napi_status status, void *data) {
  EncodeJob *job = (EncodeJob *)data;
  napi_value cb;
  const char *errmsg;
  if (!job_callback(env, status, job, "framewire_jpeg: conversion cancelled", &cb, &errmsg)) return;

  napi_value out = NULL;
  if (errmsg == NULL && (napi_get_reference_value(env, job->output_ref, &out) != napi_ok || out == NULL)) {
    errmsg = "framewire_jpeg: output Buffer lost";
  }
  call_back(env, job, cb, errmsg, out);
}

/* rgbToI420(rgb, width, height, [out,] callback): out, when given, is written instead of a new Buffer. */
static napi_value rgb_to_i420(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  EncodeJob *job = NULL;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    throw_error(env, 'E', "framewire_jpeg: reading arguments failed");
    return NULL;
  }
  if (argc < 4) {
    throw_error(env, 'T', "rgbToI420(rgb, width, height, [out,] callback) needs 4 or 5 arguments");
    return NULL;
  }
  int width, height;
  const unsigned char *rgb;
  if (!get_rgb_args(env, argv, &rgb, &width, &height)) return NULL;
  napi_value out_arg = argc >= 5 ? argv[3] : NULL;
  napi_value callback = argc >= 5 ? argv[4] : argv[3];
  if (!get_callback(env, callback)) return NULL;
  /* TurboJPEG pads the Y plane of an odd size to even (tjPlaneWidth/Height): no longer plain I420. */
  if (width % 2 != 0 || height % 2 != 0) {
    char msg[120];
    snprintf(msg, sizeof msg, "I420 needs an even width and height (got %dx%d)", width, height);
    throw_error(env, 'R', msg);
    return NULL;
  }
  unsigned long size = tjBufSizeYUV2(width, 1, height, TJSAMP_420);
  if (size == (unsigned long)-1) {
    throw_error(env, 'R', "width x height is too large for TurboJPEG");
    return NULL;
  }

  job = new_job(env, rgb, width, height);
  if (job == NULL) return NULL;
  job->yuv_size = (size_t)size;

  napi_value output = out_arg;
  void *out = NULL;
  if (output != NULL) {
    /*
     * The caller's Buffer: reusing one per frame in flight spares V8 the external-memory pressure of a new
     * 1.4 MB Buffer per 720p frame, which on a large heap costs more in major GCs than the conversion.
     */
    bool is_buffer = false;
    size_t out_len = 0;
    if (napi_is_buffer(env, output, &is_buffer) != napi_ok || !is_buffer) {
      throw_error(env, 'T', "out must be a Buffer of width*height*3/2 bytes (I420)");
      goto fail;
    }
    NAPI_CALL(env, napi_get_buffer_info(env, output, &out, &out_len), "napi_get_buffer_info(out)");
    if (out_len != job->yuv_size) {
      char msg[160];
      snprintf(msg, sizeof msg, "out Buffer is %zu bytes but %dx%d I420 needs %zu (width*height*3/2)", out_len, width,
               height, job->yuv_size);
      throw_error(env, 'R', msg);
      goto fail;
    }
    if ((const unsigned char *)out < rgb + (size_t)width * height * 3 && rgb < (const unsigned char *)out + out_len) {
      throw_error(env, 'R', "out must not overlap rgb");
      goto fail;
    }
  } else {
    /* Made here, filled on the pool thread: an ordinary Buffer, nothing to free by hand. */
    NAPI_CALL(env, napi_create_buffer(env, job->yuv_size, &out, &output), "napi_create_buffer");
  }
  job->yuv = (unsigned char *)out;
  NAPI_CALL(env, napi_create_reference(env, output, 1, &job->output_ref), "napi_create_reference(output)");
  if (!queue_job(env, job, argv[0], callback, "framewire:i420", execute_i420, complete_i420)) goto fail;
  return NULL;

fail:
  free_job(env, job);
  return NULL;
}

/* ---------------------------------------------------------------- module */

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "encodeRgb", NAPI_AUTO_LENGTH, encode_rgb, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "encodeRgb", fn) != napi_ok ||
      napi_create_function(env, "rgbToI420", NAPI_AUTO_LENGTH, rgb_to_i420, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "rgbToI420", fn) != napi_ok) {
    throw_error(env, 'E', "framewire_jpeg: could not export its functions");
    return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
