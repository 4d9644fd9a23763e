/*
 * The bench's default client load: N streaming clients in one process, a single-threaded epoll loop over
 * non-blocking sockets, reading everything each socket has as soon as it has it, and counting frames by
 * parsing each format (never by bytes). Built by the bench at run time (`cc -O2`); see bench/lib/native-reader.ts.
 *
 *   reader --mode fw|seed|mjpeg|multipart --port P [--host 127.0.0.1] [--clients N]
 *          [--warmup S] [--duration S] [--latency none|first|all] [--width W --height H --fps F --quality Q]
 *          [--path /stream.mjpg] [--boundary B] [--threshold 29.5] [--wait-start] [--max-seconds S]
 *          [--connect-timeout S] [--connect-concurrency K] [--window-seconds S] [--codec jpeg|h264]
 *
 * fw: framewire/1 (docs/protocol.md): HELLO, then an ACK for every FRAME (the acks of one read go out in one
 * write), a PONG for every PING. seed: the tutorial's format (8-byte hello, then 8-byte LE header + JPEG).
 * mjpeg: GET PATH over HTTP/1.1, then the multipart/x-mixed-replace body. multipart: the same parts straight
 * from a TCP socket (GStreamer's tcpserversink: no HTTP header; joined mid-stream, it resynchronises on the
 * boundary). Latency (fw: now − FRAME.captureUs; mjpeg/multipart: now − X-Timestamp-Us when present) is on
 * CLOCK_REALTIME, the server's clock when both run on one machine.
 *
 * --codec h264 (fw only): HELLO offers JPEG and H.264 (codecs byte 03, docs/protocol.md §4.1.1) and a client
 * granted anything but H.264 fails, so a server that fell back to JPEG cannot pass for an H.264 one. Its
 * FRAMEs are counted and acknowledged like JPEG ones, the payload unread; the result also counts, over the
 * measurement, FRAMEs with the keyframe flag, FRAMEs with the catch-up flag (decoded, not shown: counted as
 * frames all the same) and seqs skipped between consecutive FRAMEs.
 *
 * stdout, one JSON object per line, the same as bench/loadgen.ts: {"event":"ready",…}, {"event":"measure-start"},
 * {"event":"result",…}; with --window-seconds, {"event":"window",…} every S seconds of the measurement too.
 * With --wait-start the warm-up starts when "start" arrives on stdin. The process always ends by itself:
 * after the result, when stdin closes (the parent is gone), or after --max-seconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { M_FW, M_SEED, M_MJPEG, M_MULTIPART };
enum cstate { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_STREAMING, C_CLOSED };

#define HEAD_MAX 65536          /* an HTTP or part header larger than this is garbage: resynchronise */
#define CTRL_MAX 4096           /* framewire/1 control messages are ≤ 1056 bytes (§5.2) */
#define OUT_MAX 4096            /* pending acks/pongs per client; a server that reads none of them is failed */
#define MAX_CLIENTS 20000
#define LAT_MAX 2000000

struct client {
  int fd;
  enum cstate state;
  uint64_t frames, bytes, frames0, bytes0, framesW;
  uint64_t keyframes, catchup, skipped, keyframes0, catchup0, skipped0;
  uint32_t lastSeq;
  int haveSeq;
  const char *failed;
  char failbuf[160];
  /* framewire/1 */
  uint8_t env[8];
  unsigned envHave;
  uint32_t bodyLen, bodyHave;
  uint8_t type;
  uint8_t ctrl[CTRL_MAX];   /* control bodies, and the first 24 bytes of a FRAME body */
  /* tutorial format */
  uint32_t seedLen;
  /* multipart */
  char *head;
  uint32_t headLen;
  uint64_t partLeft;
  int inBody, httpDone;
  /* outgoing (hello, acks, pongs) */
  uint8_t out[OUT_MAX];
  unsigned outLen;
  int wantOut;
  int measured;
  int wasReady;
  double stampUs;
};

static enum mode mode = M_FW;
static const char *host = "127.0.0.1";
static int port = 0, nClients = 1, reqW = 0, reqH = 0, reqFps = 0, reqQ = 0;
static double warmupS = 3, durationS = 10, threshold = 29.5, maxSeconds = 180, connectTimeoutS = 60, windowS = 0;
static int waitStart = 0, connectConcurrency = 64;
static int offerH264 = 0; /* --codec h264 */
static const char *latencyMode = "none", *path = "/stream.mjpg", *boundary = "frame";
static char marker[256];
static size_t markerLen;

static struct client *clients;
static int ep;
static int measuring = 0;
static double *lat, *latW;
static size_t latN, latWN;
static uint8_t rbuf[1 << 18];

static double nowMono(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
static double nowRealUs(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void emit(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  fputc('\n', stdout);
  fflush(stdout);
}

static void fatal(const char *msg) {
  fprintf(stderr, "reader: %s\n", msg);
  exit(2);
}

static void failc(struct client *c, const char *fmt, ...) {
  if (!c->failed) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->failbuf, sizeof c->failbuf, fmt, ap);
    va_end(ap);
    c->failed = c->failbuf;
  }
  if (c->fd >= 0) {
    close(c->fd);
    c->fd = -1;
  }
  c->state = C_CLOSED;
}

static void queueOut(struct client *c, const void *p, unsigned n) {
  if (c->outLen + n > OUT_MAX) {
    failc(c, "server reads none of the client's acks");
    return;
  }
  memcpy(c->out + c->outLen, p, n);
  c->outLen += n;
}

static void flushOut(struct client *c) {
  while (c->fd >= 0 && c->outLen > 0) {
    ssize_t w = write(c->fd, c->out, c->outLen);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      failc(c, "write: %s", strerror(errno));
      return;
    }
    memmove(c->out, c->out + w, c->outLen - (size_t)w);
    c->outLen -= (unsigned)w;
  }
  if (c->fd < 0) return;
  int want = c->outLen > 0;
  if (want != c->wantOut) {
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->wantOut = want;
  }
}

static void put16(uint8_t *p, unsigned v) { p[0] = v >> 8; p[1] = v; }
static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static void put64(uint8_t *p, uint64_t v) { put32(p, v >> 32); put32(p + 4, (uint32_t)v); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }
static unsigned get16(const uint8_t *p) { return p[0] << 8 | p[1]; }

static void recordLatency(struct client *c, double captureUs) {
  if (!c->measured || !measuring || captureUs <= 0) return;
  double ms = (nowRealUs() - captureUs) / 1000;
  if (latN < LAT_MAX) lat[latN++] = ms;
  if (windowS > 0 && latWN < LAT_MAX) latW[latWN++] = ms;
}

/* A client counts as streaming from its first whole frame: a connection a server has not accepted yet
 * (its listen backlog was full) looks connected from this side and gets nothing. */
static void frameDone(struct client *c) {
  c->frames++;
  if (c->state == C_HANDSHAKE) c->state = C_STREAMING, c->wasReady = 1;
}

/* ── framewire/1 ─────────────────────────────────────────────────────────────────────────────────── */

static void fwMessage(struct client *c) {
  const uint8_t *b = c->ctrl;
  switch (c->type) {
    case 0x02: /* ACCEPT: body offset 9 is the granted codec (§3.2) */
      if (offerH264 && (c->bodyLen < 10 || b[9] != 2)) failc(c, "granted codec %u, not H.264", c->bodyLen >= 10 ? b[9] : 0);
      break;
    case 0x03: case 0x7e: case 0x7f: { /* REJECT, ERROR, GOODBYE */
      unsigned code = c->bodyLen >= 2 ? get16(b) : 0;
      unsigned tl = c->bodyLen >= 4 ? get16(b + 2) : 0;
      if (tl > c->bodyLen - 4) tl = c->bodyLen - 4;
      const char *what = c->type == 0x03 ? "reject" : c->type == 0x7e ? "error" : "goodbye";
      failc(c, "%s %u: %.*s", what, code, (int)(tl > 100 ? 100 : tl), (const char *)b + 4);
      break;
    }
    case 0x20: { /* PING → PONG */
      if (c->bodyLen != 12) break;
      uint8_t m[36] = {0x21, 0, 0, 0};
      put32(m + 4, 28);
      memcpy(m + 8, b, 12);
      uint64_t t = (uint64_t)nowRealUs();
      put64(m + 20, t);
      put64(m + 28, t);
      queueOut(c, m, sizeof m);
      break;
    }
    default:
      break;
  }
}

static void fwPush(struct client *c, const uint8_t *p, size_t n) {
  while (n > 0 && c->fd >= 0) {
    if (c->envHave < 8) {
      size_t k = 8 - c->envHave;
      if (k > n) k = n;
      memcpy(c->env + c->envHave, p, k);
      c->envHave += k;
      p += k;
      n -= k;
      if (c->envHave < 8) return;
      c->type = c->env[0];
      c->bodyLen = get32(c->env + 4);
      c->bodyHave = 0;
      if (c->env[1] || c->env[2] || c->env[3]) return failc(c, "malformed envelope");
      if (c->type == 0x10 ? c->bodyLen < 24 || c->bodyLen > (64u << 20) : c->bodyLen > CTRL_MAX)
        return failc(c, "message type 0x%02x with body %u bytes", c->type, c->bodyLen);
    }
    /* FRAME: keep its first 24 bytes (seq, captureUs), skip the payload. Others: keep the whole body. */
    uint32_t keep = c->type == 0x10 ? 24 : c->bodyLen;
    size_t k = c->bodyLen - c->bodyHave;
    if (k > n) k = n;
    if (c->bodyHave < keep) {
      size_t kk = keep - c->bodyHave;
      if (kk > k) kk = k;
      memcpy(c->ctrl + c->bodyHave, p, kk);
    }
    c->bodyHave += k;
    p += k;
    n -= k;
    if (c->bodyHave < c->bodyLen) return;
    c->envHave = 0;
    if (c->type == 0x10) {
      /* FRAME body: seq at 0, flags at 17 (bit 0 keyframe, bit 1 catch-up). */
      uint32_t seq = get32(c->ctrl);
      if (c->haveSeq && seq - c->lastSeq > 1 && seq - c->lastSeq < 0x80000000u) c->skipped += seq - c->lastSeq - 1;
      c->lastSeq = seq;
      c->haveSeq = 1;
      if (c->ctrl[17] & 1) c->keyframes++;
      if (c->ctrl[17] & 2) c->catchup++;
      frameDone(c);
      recordLatency(c, (double)get64(c->ctrl + 4));
      uint8_t ack[12] = {0x11, 0, 0, 0, 0, 0, 0, 4};
      memcpy(ack + 8, c->ctrl, 4);
      queueOut(c, ack, sizeof ack);
    } else {
      fwMessage(c);
    }
  }
}

/* ── tutorial format ─────────────────────────────────────────────────────────────────────────────── */

static void seedPush(struct client *c, const uint8_t *p, size_t n) {
  while (n > 0 && c->fd >= 0) {
    if (c->envHave < 8) {
      size_t k = 8 - c->envHave;
      if (k > n) k = n;
      memcpy(c->env + c->envHave, p, k);
      c->envHave += k;
      p += k;
      n -= k;
      if (c->envHave < 8) return;
      int32_t len = (int32_t)((uint32_t)c->env[0] | (uint32_t)c->env[1] << 8 | (uint32_t)c->env[2] << 16 | (uint32_t)c->env[3] << 24);
      if (len <= 0 || len > (64 << 20)) return failc(c, "tutorial frame length %d", len);
      c->seedLen = (uint32_t)len;
    }
    size_t k = c->seedLen;
    if (k > n) k = n;
    c->seedLen -= k;
    p += k;
    n -= k;
    if (c->seedLen == 0) {
      c->envHave = 0;
      frameDone(c);
    }
  }
}

/* ── multipart (MJPEG over HTTP, and GStreamer's raw multipart) ──────────────────────────────────── */

static const char *findMem(const char *h, size_t hn, const char *needle, size_t nn) {
  return nn <= hn ? memmem(h, hn, needle, nn) : NULL;
}

static int headerValue(const char *head, size_t n, const char *name, char *out, size_t outMax) {
  size_t nl = strlen(name);
  for (size_t i = 0; i + nl < n; i++) {
    if ((i == 0 || head[i - 1] == '\n') && strncasecmp(head + i, name, nl) == 0 && head[i + nl] == ':') {
      size_t j = i + nl + 1, o = 0;
      while (j < n && (head[j] == ' ' || head[j] == '\t')) j++;
      while (j < n && head[j] != '\r' && head[j] != '\n' && o + 1 < outMax) out[o++] = head[j++];
      out[o] = 0;
      return 1;
    }
  }
  return 0;
}

static void mpPush(struct client *c, const uint8_t *p, size_t n) {
  while (n > 0 && c->fd >= 0) {
    if (c->inBody) {
      size_t k = c->partLeft < n ? (size_t)c->partLeft : n;
      c->partLeft -= k;
      p += k;
      n -= k;
      if (c->partLeft == 0) {
        c->inBody = 0;
        frameDone(c);
        recordLatency(c, c->stampUs);
      }
      continue;
    }
    /* Accumulate a header, at most HEAD_MAX bytes, until its blank line. */
    size_t k = HEAD_MAX - c->headLen;
    if (k > n) k = n;
    memcpy(c->head + c->headLen, p, k);
    size_t before = c->headLen;
    c->headLen += k;
    size_t from = before >= 3 ? before - 3 : 0;
    const char *end = findMem(c->head + from, c->headLen - from, "\r\n\r\n", 4);
    if (!end) {
      p += k;
      n -= k;
      if (c->headLen == HEAD_MAX) {
        memmove(c->head, c->head + HEAD_MAX - 256, 256); /* resync: keep the tail only */
        c->headLen = 256;
      }
      continue;
    }
    size_t hl = (size_t)(end - c->head) + 4;
    size_t used = hl - before; /* bytes of this chunk that belong to the header */
    p += used;
    n -= used;
    c->headLen = 0;
    if (!c->httpDone) {
      if (hl < 12 || strncmp(c->head, "HTTP/1.", 7) != 0 || strncmp(c->head + 9, "200", 3) != 0) {
        return failc(c, "HTTP %.3s", hl >= 12 ? c->head + 9 : "?");
      }
      const char *b = findMem(c->head, hl, "boundary=", 9);
      if (b) {
        b += 9;
        if (*b == '"') b++;
        size_t m = 0;
        char tmp[200];
        while (b + m < c->head + hl && b[m] != '"' && b[m] != ';' && b[m] != '\r' && m < sizeof tmp - 1) tmp[m] = b[m], m++;
        tmp[m] = 0;
        snprintf(marker, sizeof marker, "--%s", tmp);
        markerLen = strlen(marker);
      }
      c->httpDone = 1;
      continue;
    }
    if (!findMem(c->head, hl, marker, markerLen)) {
      /* Joined mid-stream: skip to the next boundary in what follows. */
      const char *again = findMem((const char *)p, n, marker, markerLen);
      if (!again) return;
      n -= (size_t)((const uint8_t *)again - p);
      p = (const uint8_t *)again;
      continue;
    }
    char v[64];
    if (!headerValue(c->head, hl, "content-length", v, sizeof v)) return failc(c, "multipart part without Content-Length");
    c->partLeft = strtoull(v, NULL, 10);
    c->stampUs = headerValue(c->head, hl, "x-timestamp-us", v, sizeof v) ? strtod(v, NULL) : 0;
    c->inBody = 1;
    if (c->partLeft == 0) {
      c->inBody = 0;
      frameDone(c);
    }
  }
}

/* ── connections ─────────────────────────────────────────────────────────────────────────────────── */

static void sendHello(struct client *c) {
  if (mode == M_FW) {
    uint8_t m[24] = {0x01, 0, 0, 0};
    put32(m + 4, 16);
    memcpy(m + 8, "FWIR", 4);
    put16(m + 12, 1);
    put16(m + 14, reqW);
    put16(m + 16, reqH);
    put16(m + 18, reqFps);
    m[20] = reqQ;
    m[21] = offerH264 ? 0x03 : 0; /* codecs (§4.1.1): JPEG and H.264 */
    queueOut(c, m, sizeof m);
  } else if (mode == M_SEED) {
    int fps = reqFps ? reqFps : 15, w = reqW ? reqW : 640, h = reqH ? reqH : 480;
    uint8_t m[8];
    uint32_t chk = 888 + fps;
    m[0] = chk, m[1] = chk >> 8, m[2] = chk >> 16, m[3] = chk >> 24;
    m[4] = w, m[5] = w >> 8, m[6] = h, m[7] = h >> 8;
    queueOut(c, m, sizeof m);
  } else if (mode == M_MJPEG) {
    char q[160] = "", req[512];
    int qn = 0;
    if (reqW) qn += snprintf(q + qn, sizeof q - qn, "%swidth=%d", qn ? "&" : "", reqW);
    if (reqH) qn += snprintf(q + qn, sizeof q - qn, "%sheight=%d", qn ? "&" : "", reqH);
    if (reqFps) qn += snprintf(q + qn, sizeof q - qn, "%sfps=%d", qn ? "&" : "", reqFps);
    if (reqQ) qn += snprintf(q + qn, sizeof q - qn, "%squality=%d", qn ? "&" : "", reqQ);
    int rn = snprintf(req, sizeof req, "GET %s%s%s HTTP/1.1\r\nHost: %s:%d\r\nAccept: multipart/x-mixed-replace\r\n\r\n", path, qn ? "?" : "", q, host, port);
    queueOut(c, req, (unsigned)rn);
  } else {
    c->httpDone = 1;
  }
  flushOut(c);
}

static int startConnect(struct client *c, const struct sockaddr_in *sa) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    failc(c, "socket: %s", strerror(errno));
    return -1;
  }
  int one = 1;
  /* framewire/1 §1: clients SHOULD set TCP_NODELAY (the acks must not wait for Nagle). */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->fd = fd;
  c->state = C_CONNECTING;
  if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) < 0 && errno != EINPROGRESS) {
    failc(c, "connect: %s", strerror(errno));
    return -1;
  }
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
  c->wantOut = 1;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  return 0;
}

static void onEvent(struct client *c, uint32_t events) {
  if (c->fd < 0) return;
  if (c->state == C_CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return failc(c, "connect: %s", strerror(err));
    c->state = C_HANDSHAKE;
    sendHello(c);
    if (c->fd < 0) return;
  } else if (events & EPOLLOUT) {
    flushOut(c);
    if (c->fd < 0) return;
  }
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
  for (;;) {
    ssize_t r = read(c->fd, rbuf, sizeof rbuf);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return failc(c, "read: %s", strerror(errno));
    }
    if (r == 0) return failc(c, "closed by the server");
    c->bytes += (uint64_t)r;
    if (mode == M_FW) fwPush(c, rbuf, (size_t)r);
    else if (mode == M_SEED) seedPush(c, rbuf, (size_t)r);
    else mpPush(c, rbuf, (size_t)r);
    if (c->fd < 0) return;
    /* A short read emptied the socket: back to epoll (level-triggered) rather than a read that says EAGAIN. */
    if ((size_t)r < sizeof rbuf) break;
  }
  if (c->outLen) flushOut(c);
}

/* ── results ─────────────────────────────────────────────────────────────────────────────────────── */

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static double pct(const double *s, size_t n, double p) {
  if (n == 0) return 0;
  long i = (long)((p / 100) * n + 0.999999999) - 1;
  if (i < 0) i = 0;
  if ((size_t)i >= n) i = (long)n - 1;
  return s[i];
}

static void latencyJson(char *out, size_t max, double *xs, size_t n) {
  if (n == 0) {
    snprintf(out, max, "null");
    return;
  }
  qsort(xs, n, sizeof *xs, cmpd);
  snprintf(out, max, "{\"n\":%zu,\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f}", n, pct(xs, n, 50), pct(xs, n, 99), xs[n - 1]);
}

static double cpuSelfS(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void emitWindow(double fromS, double toS, double sinceStartS) {
  uint64_t frames = 0;
  for (int i = 0; i < nClients; i++) {
    frames += clients[i].frames - clients[i].framesW;
    clients[i].framesW = clients[i].frames;
  }
  char l[200];
  latencyJson(l, sizeof l, latW, latWN);
  latWN = 0;
  int open = 0;
  for (int i = 0; i < nClients; i++) open += clients[i].state == C_STREAMING;
  emit("{\"event\":\"window\",\"t\":%.1f,\"windowS\":%.3f,\"open\":%d,\"fpsMean\":%.3f,\"latencyMs\":%s}", sinceStartS, toS - fromS, open,
       (double)frames / (toS - fromS) / (nClients ? nClients : 1), l);
}

static void emitResult(double windowSeconds) {
  double *fps = malloc(sizeof(double) * (size_t)nClients);
  uint64_t frames = 0, bytes = 0, keyframes = 0, catchup = 0, skipped = 0;
  int open = 0, failedN = 0, atLeast = 0, connected = 0;
  const char *first = NULL;
  for (int i = 0; i < nClients; i++) {
    struct client *c = &clients[i];
    fps[i] = (double)(c->frames - c->frames0) / windowSeconds;
    frames += c->frames - c->frames0;
    bytes += c->bytes - c->bytes0;
    keyframes += c->keyframes - c->keyframes0;
    catchup += c->catchup - c->catchup0;
    skipped += c->skipped - c->skipped0;
    open += c->state == C_STREAMING;
    connected += c->wasReady;
    if (c->failed) {
      failedN++;
      if (!first) first = c->failed;
    }
    if (fps[i] >= threshold) atLeast++;
  }
  qsort(fps, (size_t)nClients, sizeof *fps, cmpd);
  char h264[160] = "null";
  if (offerH264)
    snprintf(h264, sizeof h264, "{\"keyframes\":%llu,\"catchup\":%llu,\"skipped\":%llu}", (unsigned long long)keyframes, (unsigned long long)catchup,
             (unsigned long long)skipped);
  char l[200];
  latencyJson(l, sizeof l, lat, latN);
  char firstJson[400] = "null";
  if (first) {
    size_t o = 0;
    firstJson[o++] = '"';
    for (const char *s = first; *s && o < sizeof firstJson - 3; s++) {
      if (*s == '"' || *s == '\\') firstJson[o++] = '\\';
      firstJson[o++] = (*s >= 32 && *s < 127) ? *s : '?';
    }
    firstJson[o++] = '"';
    firstJson[o] = 0;
  }
  printf("{\"event\":\"result\",\"reader\":\"native\",\"clients\":%d,\"connected\":%d,\"openAtEnd\":%d,\"failedAtEnd\":%d,\"firstFailure\":%s,"
         "\"windowS\":%.4f,\"fps\":{\"min\":%.3f,\"p5\":%.3f,\"median\":%.3f,\"mean\":%.3f},\"atLeast\":%d,\"threshold\":%g,\"frames\":%llu,\"bytes\":%llu,"
         "\"latencyMs\":%s,\"loadgenCpuS\":%.3f,\"h264\":%s,\"perClientFps\":[",
         nClients, connected, open, failedN, firstJson, windowSeconds, fps[0], pct(fps, (size_t)nClients, 5), pct(fps, (size_t)nClients, 50),
         (double)frames / windowSeconds / nClients, atLeast, threshold, (unsigned long long)frames, (unsigned long long)bytes, l, cpuSelfS(), h264);
  for (int i = 0; i < nClients; i++) printf("%s%.3f", i ? "," : "", fps[i]);
  printf("]}\n");
  fflush(stdout);
  free(fps);
}

/* ── main ────────────────────────────────────────────────────────────────────────────────────────── */

static const char *arg(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) fatal("missing value after an option");
  return argv[++*i];
}

static int codecFlag(const char *k) {
  if (strcmp(k, "jpeg") && strcmp(k, "h264")) fatal("--codec is jpeg or h264");
  return !strcmp(k, "h264");
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--mode")) {
      const char *m = arg(argc, argv, &i);
      if (!strcmp(m, "fw")) mode = M_FW;
      else if (!strcmp(m, "seed")) mode = M_SEED;
      else if (!strcmp(m, "mjpeg")) mode = M_MJPEG;
      else if (!strcmp(m, "multipart") || !strcmp(m, "gst-multipart")) mode = M_MULTIPART;
      else fatal("--mode is fw, seed, mjpeg or multipart");
    } else if (!strcmp(a, "--host")) host = arg(argc, argv, &i);
    else if (!strcmp(a, "--port")) port = atoi(arg(argc, argv, &i));
    else if (!strcmp(a, "--clients")) nClients = atoi(arg(argc, argv, &i));
    else if (!strcmp(a, "--warmup")) warmupS = atof(arg(argc, argv, &i));
    else if (!strcmp(a, "--duration")) durationS = atof(arg(argc, argv, &i));
    else if (!strcmp(a, "--latency")) latencyMode = arg(argc, argv, &i);
    else if (!strcmp(a, "--width")) reqW = atoi(arg(argc, argv, &i));
    else if (!strcmp(a, "--height")) reqH = atoi(arg(argc, argv, &i));
    else if (!strcmp(a, "--fps")) reqFps = atoi(arg(argc, argv, &i));
    else if (!strcmp(a, "--quality")) reqQ = atoi(arg(argc, argv, &i));
    else if (!strcmp(a, "--path")) path = arg(argc, argv, &i);
    else if (!strcmp(a, "--boundary")) boundary = arg(argc, argv, &i);
    else if (!strcmp(a, "--threshold")) threshold = atof(arg(argc, argv, &i));
    else if (!strcmp(a, "--wait-start")) waitStart = 1;
    else if (!strcmp(a, "--codec")) offerH264 = codecFlag(arg(argc, argv, &i));
    else if (!strcmp(a, "--max-seconds")) maxSeconds = atof(arg(argc, argv, &i));
    else if (!strcmp(a, "--connect-timeout")) connectTimeoutS = atof(arg(argc, argv, &i));
    else if (!strcmp(a, "--connect-concurrency")) connectConcurrency = atoi(arg(argc, argv, &i));
    else if (!strcmp(a, "--window-seconds")) windowS = atof(arg(argc, argv, &i));
    else {
      fprintf(stderr, "reader: unknown option %s\n", a);
      return 2;
    }
  }
  if (port <= 0 || port > 65535) fatal("--port is required");
  if (nClients < 1 || nClients > MAX_CLIENTS) fatal("--clients is 1..20000");
  if (!(durationS > 0) || warmupS < 0 || !(maxSeconds > 0)) fatal("bad --duration, --warmup or --max-seconds");
  if (connectConcurrency < 1) connectConcurrency = 1;
  if (offerH264 && mode != M_FW) fatal("--codec h264 needs --mode fw");
  snprintf(marker, sizeof marker, "--%s", boundary);
  markerLen = strlen(marker);
  int latAll = !strcmp(latencyMode, "all");
  int latFirst = latAll || !strcmp(latencyMode, "first") || !strcmp(latencyMode, "raw");

  /* One descriptor per client plus a few: raise the soft limit to the hard one. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nClients + 64) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  clients = calloc((size_t)nClients, sizeof *clients);
  lat = malloc(sizeof(double) * LAT_MAX);
  latW = windowS > 0 ? malloc(sizeof(double) * LAT_MAX) : NULL;
  if (!clients || !lat || (windowS > 0 && !latW)) fatal("out of memory");
  for (int i = 0; i < nClients; i++) {
    clients[i].fd = -1;
    clients[i].measured = latAll || (latFirst && i == 0);
    if (mode == M_MJPEG || mode == M_MULTIPART) {
      clients[i].head = malloc(HEAD_MAX);
      if (!clients[i].head) fatal("out of memory");
    }
  }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) fatal("--host must be an IPv4 address");

  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) fatal("epoll_create1");
  if (waitStart) fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  struct epoll_event sev = {.events = EPOLLIN, .data.ptr = NULL};
  /* With --wait-start the parent holds stdin: its end means the parent is gone, and so is the reason to run. */
  if (waitStart && epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev) != 0) fatal("--wait-start needs stdin to be a pipe");

  const double t0 = nowMono();
  const double deadline = t0 + maxSeconds;
  const double connectDeadline = t0 + connectTimeoutS;
  /* phases: 0 connecting, 1 waiting for "start", 2 warm-up, 3 measuring */
  int phase = 0, next = 0;
  double phaseEnd = 0, measureStart = 0, winStart = 0;
  char stdinBuf[64] = "";
  size_t stdinLen = 0;
  struct epoll_event evs[256];

  for (;;) {
    double now = nowMono();
    if (now >= deadline) {
      fprintf(stderr, "reader: --max-seconds %g reached; exiting\n", maxSeconds);
      return 3;
    }
    if (phase == 0) {
      int inFlight = 0;
      for (int i = 0; i < next; i++) inFlight += clients[i].state == C_CONNECTING || clients[i].state == C_HANDSHAKE;
      while (next < nClients && inFlight < connectConcurrency && now < connectDeadline) {
        if (startConnect(&clients[next++], &sa) == 0) inFlight++;
      }
      if ((next == nClients && inFlight == 0) || now >= connectDeadline) {
        int ready = 0, failedN = 0;
        const char *first = NULL;
        for (int i = 0; i < nClients; i++) {
          if (clients[i].state == C_STREAMING) ready++;
          else if (clients[i].failed) {
            failedN++;
            if (!first) first = clients[i].failed;
          } else if (i >= next || clients[i].state != C_STREAMING) {
            failc(&clients[i], "not streaming within %g s", connectTimeoutS);
            failedN++;
          }
        }
        emit("{\"event\":\"ready\",\"reader\":\"native\",\"connected\":%d,\"failed\":%d,\"connectS\":%.3f}", ready, failedN, now - t0);
        /* "start" may have arrived while connecting. */
        phase = waitStart && !strstr(stdinBuf, "start") ? 1 : 2;
        phaseEnd = now + warmupS;
      }
    }
    if (phase == 2 && now >= phaseEnd) {
      for (int i = 0; i < nClients; i++) {
        clients[i].frames0 = clients[i].framesW = clients[i].frames;
        clients[i].bytes0 = clients[i].bytes;
        clients[i].keyframes0 = clients[i].keyframes;
        clients[i].catchup0 = clients[i].catchup;
        clients[i].skipped0 = clients[i].skipped;
      }
      measuring = 1;
      measureStart = winStart = now;
      phase = 3;
      phaseEnd = now + durationS;
      emit("{\"event\":\"measure-start\"}");
    }
    if (phase == 3 && windowS > 0 && now >= winStart + windowS) {
      emitWindow(winStart, now, now - measureStart);
      winStart = now;
    }
    if (phase == 3 && now >= phaseEnd) {
      measuring = 0;
      if (windowS > 0 && now - winStart > 0.5) emitWindow(winStart, now, now - measureStart);
      emitResult(now - measureStart);
      for (int i = 0; i < nClients; i++)
        if (clients[i].fd >= 0) close(clients[i].fd);
      return 0;
    }
    double until = deadline;
    if (phase == 0) until = now + 0.05;
    if ((phase == 2 || phase == 3) && phaseEnd < until) until = phaseEnd;
    if (phase == 3 && windowS > 0 && winStart + windowS < until) until = winStart + windowS;
    int timeoutMs = (int)((until - now) * 1000) + 1;
    if (timeoutMs < 0) timeoutMs = 0;
    int n = epoll_wait(ep, evs, 256, timeoutMs);
    if (n < 0) {
      if (errno == EINTR) continue;
      fatal("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == NULL) {
        ssize_t r = read(0, stdinBuf + stdinLen, sizeof stdinBuf - 1 - stdinLen);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) return 4; /* the parent is gone */
        if (r > 0) {
          stdinLen += (size_t)r;
          stdinBuf[stdinLen] = 0;
          if (phase == 1 && strstr(stdinBuf, "start")) {
            phase = 2;
            phaseEnd = nowMono() + warmupS;
          }
          if (stdinLen >= sizeof stdinBuf - 8) stdinLen = 0;
        }
        continue;
      }
      onEvent(evs[i].data.ptr, evs[i].events);
    }
  }
}
