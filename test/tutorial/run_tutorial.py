#!/usr/bin/python3
"""Run the tutorial's server.py / client.py UNMODIFIED, on the machine they were written for.

    /usr/bin/python3 test/tutorial/run_tutorial.py server --video clip.avi [--host 127.0.0.1] [--port 8880] [--timeout 120]
    /usr/bin/python3 test/tutorial/run_tutorial.py client --port PORT --frames 20 [--host 127.0.0.1]
        [--resolution 320x240] [--fps 15] [--save-png last.png] [--save-jpeg last.jpg] [--timeout 30]

Use Debian's /usr/bin/python3 (python3-opencv); a pyenv python3 on PATH may not have cv2.

The tutorial's source is read and exec'd with __name__ != '__main__' (so its main block does not run),
after installing shims that emulate its machine and replace its hardware. Its protocol code is not touched:

  * struct: a wrapper module in sys.modules['struct'] while the tutorial is exec'd. Native formats
    (no byte-order prefix, or '@') get Windows' LLP64 sizes: 'l'/'L' are 4 bytes, so 'lhh' packs and
    unpacks as '<ihh' (8 bytes) instead of 64-bit Linux's 12. Everything else goes to the real struct.
    --native-struct leaves the real struct in place (the tutorial as it runs on 64-bit Linux).
  * cv2: a wrapper module in sys.modules['cv2'] while the tutorial is exec'd, delegating to the real cv2:
      - VideoCapture(0) reads --video instead of a camera, looping at end of file (the tutorial would
        crash resizing a None frame);
      - imshow records the image instead of opening a window; imshow(None) raises cv2.error as the real
        one does (the tutorial's client calls imshow on every partial buffer inside its recv loop, and
        its bare `except` swallows that);
      - imdecode is the real one, watched so the harness knows which bytes each image came from;
      - waitKey counts a frame when the image shown since the previous waitKey was decoded from a whole
        frame (the tutorial's own `buf_size` local is 0), and returns 27 (ESC, the tutorial's quit key)
        once --frames frames were counted, so the tutorial's client closes itself;
      - destroyAllWindows does nothing.
  * Then the harness does what the file's main block does, with the address from the command line.
    Server: Carame_Accept_Object((host, port)) instead of the default ("", 8880), prints one JSON line
    {"event": "listening", "host", "port"} (port 0 picks a free one), then the main block's accept loop
    (threads are daemons so the harness can exit). Client: sets addr_port (the main block's placeholder IP
    "服务端的ip"), optionally `resolution` and `src`/`img_fps` as a user would edit them, then
    Socket_Connect() and Get_Data(interval), and waits for the tutorial's thread. The client's last
    stdout line is JSON: {"frames", "width", "height", "channels", "jpeg_bytes", "thread_error"}
    (the tutorial itself prints "IP is ..." first). Exit 0 when --frames frames were shown, else 1.
  * Everything is bounded: after --timeout seconds the harness prints a message to stderr and exits 3.
"""
import argparse
import json
import os
import sys
import threading
import types

import cv2 as real_cv2
import struct as real_struct

HERE = os.path.dirname(os.path.abspath(__file__))
ESC = 27


# ── struct as on Windows (LLP64) ────────────────────────────────────────────────────────────────────

def _windows_format(fmt):
    """'lhh' → 'ihh': with native byte order and alignment, that is what Windows x64 packs."""
    is_bytes = isinstance(fmt, bytes)
    s = fmt.decode('ascii') if is_bytes else fmt
    if not s or s[0] not in '<>!=':
        s = s.replace('l', 'i').replace('L', 'I')
    return s.encode('ascii') if is_bytes else s


def make_windows_struct():
    m = types.ModuleType('struct', 'struct with Windows (LLP64) native sizes: l/L are 4 bytes')
    for name in dir(real_struct):
        if not name.startswith('__'):
            setattr(m, name, getattr(real_struct, name))
    m.pack = lambda fmt, *v: real_struct.pack(_windows_format(fmt), *v)
    m.pack_into = lambda fmt, buf, off, *v: real_struct.pack_into(_windows_format(fmt), buf, off, *v)
    m.unpack = lambda fmt, buf: real_struct.unpack(_windows_format(fmt), buf)
    m.unpack_from = lambda fmt, buf, offset=0: real_struct.unpack_from(_windows_format(fmt), buf, offset)
    m.iter_unpack = lambda fmt, buf: real_struct.iter_unpack(_windows_format(fmt), buf)
    m.calcsize = lambda fmt: real_struct.calcsize(_windows_format(fmt))
    m.Struct = lambda fmt: real_struct.Struct(_windows_format(fmt))
    m.__getattr__ = lambda name: getattr(real_struct, name)
    # The emulation the tests rely on, checked every run.
    assert m.calcsize('lhh') == 8, m.calcsize('lhh')
    assert m.pack('lhh', 903, 640, 480) == real_struct.pack('<ihh', 903, 640, 480)
    return m


# ── cv2 without camera or windows ───────────────────────────────────────────────────────────────────

class Viewer:
    """What the tutorial's client shows, counted."""

    def __init__(self, target):
        self.target = target
        self.frames = 0
        self.shape = None
        self.last_image = None
        self.last_jpeg = b''
        self.decoding = None   # bytes handed to the latest imdecode
        self.shown = None      # (image, bytes) shown since the latest imdecode / waitKey
        self.lock = threading.Lock()

    def imdecode(self, buf, flags):
        with self.lock:
            self.decoding = buf
            self.shown = None
        return real_cv2.imdecode(buf, flags)

    def imshow(self, winname, mat):
        if mat is None or getattr(mat, 'size', 0) == 0:
            # The real imshow raises here too (empty image); the tutorial's bare except swallows it.
            raise real_cv2.error('imshow: empty image (partial or undecodable buffer)')
        with self.lock:
            self.shown = (mat, self.decoding)

    def waitKey(self, delay=0):
        # Count only an image decoded from a whole frame: the tutorial's recv loop has read it all
        # when its own `buf_size` local is 0 (it shows every partial buffer on the way).
        caller = sys._getframe(1).f_locals
        whole = caller.get('buf_size', 0) == 0
        with self.lock:
            if self.shown is not None and whole:
                img, buf = self.shown
                self.frames += 1
                self.shape = tuple(int(x) for x in img.shape)
                self.last_image = img
                self.last_jpeg = bytes(buf) if buf is not None else b''
            self.shown = None
            return ESC if self.frames >= self.target else -1

    def destroyAllWindows(self):
        pass


class FileCapture:
    """cv2.VideoCapture(0) → frames of a video file, looping at its end."""
    opened = 0
    lock = threading.Lock()

    def __init__(self, path):
        self.path = path
        self.cap = real_cv2.VideoCapture(path)
        if not self.cap.isOpened():
            fail(f'cannot open video {path}')
        with FileCapture.lock:
            FileCapture.opened += 1
            n = FileCapture.opened
        log(f'capture opened ({n} so far; the tutorial opens one per client)')

    def isOpened(self):
        return self.cap.isOpened()

    def read(self):
        ok, frame = self.cap.read()
        if not ok:
            self.cap.release()
            self.cap = real_cv2.VideoCapture(self.path)
            ok, frame = self.cap.read()
        return ok, frame

    def release(self):
        self.cap.release()

    def set(self, *a):
        return self.cap.set(*a)

    def get(self, *a):
        return self.cap.get(*a)


def make_cv2(video=None, viewer=None):
    m = types.ModuleType('cv2', 'cv2 with a video file for the camera and no windows')
    m.__getattr__ = lambda name: getattr(real_cv2, name)

    def video_capture(index, *a):
        if video is None:
            fail('the tutorial opened a camera but no --video was given')
        return FileCapture(video)

    m.VideoCapture = video_capture
    if viewer is not None:
        m.imdecode = viewer.imdecode
        m.imshow = viewer.imshow
        m.waitKey = viewer.waitKey
        m.destroyAllWindows = viewer.destroyAllWindows
    return m


# ── loading the tutorial's file ─────────────────────────────────────────────────────────────────────

def load_tutorial(filename, shims):
    path = os.path.join(HERE, filename)
    with open(path, encoding='utf-8') as f:
        source = f.read()
    name = 'tutorial_' + os.path.splitext(filename)[0]
    module = types.ModuleType(name)
    module.__file__ = path
    saved = {k: sys.modules.get(k) for k in shims}
    sys.modules.update(shims)
    try:
        exec(compile(source, path, 'exec'), module.__dict__)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return module


# ── plumbing ────────────────────────────────────────────────────────────────────────────────────────

def log(msg):
    sys.stderr.write(f'run_tutorial: {msg}\n')
    sys.stderr.flush()


def fail(msg, code=2):
    log(msg)
    sys.stdout.flush()
    os._exit(code)


def start_watchdog(seconds, what):
    def expire():
        fail(f'timed out after {seconds} s ({what()})', 3)
    t = threading.Timer(seconds, expire)
    t.daemon = True
    t.start()


def parse_size(s):
    try:
        w, h = s.lower().split('x')
        return [int(w), int(h)]
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected WxH, got {s!r}')


def run_server(args):
    start_watchdog(args.timeout, lambda: 'server still running')
    if not os.path.exists(args.video):
        fail(f'no such video: {args.video}')
    shims = {'cv2': make_cv2(video=args.video)}
    if not args.native_struct:
        shims['struct'] = make_windows_struct()
    tutorial = load_tutorial('server.py', shims)
    # The main block, with a bindable address instead of ("", 8880):
    camera = tutorial.Carame_Accept_Object((args.host, args.port))
    host, port = camera.server.getsockname()[:2]
    print(json.dumps({'event': 'listening', 'host': host, 'port': port}), flush=True)
    while True:
        client, D_addr = camera.server.accept()
        log(f'client {D_addr[0]}:{D_addr[1]} connected')
        clientThread = threading.Thread(None, target=tutorial.RT_Image, args=(camera, client, D_addr,))
        clientThread.daemon = True
        clientThread.start()


def run_client(args):
    viewer = Viewer(args.frames)
    start_watchdog(args.timeout, lambda: f'{viewer.frames}/{args.frames} frames shown')
    thread_errors = []

    def excepthook(a):
        thread_errors.append(f'{a.exc_type.__name__}: {a.exc_value}')
        threading.__excepthook__(a)

    threading.excepthook = excepthook
    shims = {'cv2': make_cv2(viewer=viewer)}
    if not args.native_struct:
        shims['struct'] = make_windows_struct()
    tutorial = load_tutorial('client.py', shims)
    # The main block, with the server's address instead of the placeholder "服务端的ip":
    before = set(threading.enumerate())
    camera = tutorial.Camera_Connect_Object()
    if args.resolution:
        camera.resolution = args.resolution
    if args.fps:
        camera.src = 888 + args.fps
        camera.img_fps = args.fps
    camera.addr_port = list(camera.addr_port)
    camera.addr_port[0] = args.host
    camera.addr_port[1] = args.port
    camera.addr_port = tuple(camera.addr_port)
    camera.Socket_Connect()
    camera.Get_Data(camera.interval)
    for t in set(threading.enumerate()) - before:
        if not t.daemon:
            t.join()
    if args.save_png and viewer.last_image is not None:
        real_cv2.imwrite(args.save_png, viewer.last_image)
    if args.save_jpeg and viewer.last_jpeg:
        with open(args.save_jpeg, 'wb') as f:
            f.write(viewer.last_jpeg)
    shape = viewer.shape or (None, None, None)
    print(json.dumps({
        'frames': viewer.frames,
        'width': shape[1],
        'height': shape[0],
        'channels': shape[2] if len(shape) > 2 else 1,
        'jpeg_bytes': len(viewer.last_jpeg),
        'thread_error': thread_errors[0] if thread_errors else None,
    }), flush=True)
    sys.exit(0 if viewer.frames >= args.frames else 1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='role', required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--host', default='127.0.0.1')
    common.add_argument('--native-struct', action='store_true',
                        help="don't emulate Windows: 'lhh' is 12 bytes here (64-bit Linux)")
    s = sub.add_parser('server', parents=[common])
    s.add_argument('--video', required=True, help='video file read in place of camera 0 (looped)')
    s.add_argument('--port', type=int, default=8880, help='0 picks a free port (printed)')
    s.add_argument('--timeout', type=float, default=120)
    c = sub.add_parser('client', parents=[common])
    c.add_argument('--port', type=int, default=8880)
    c.add_argument('--frames', type=int, default=20, help='press ESC after this many frames were shown')
    c.add_argument('--resolution', type=parse_size, help="set the client's resolution, e.g. 320x240")
    c.add_argument('--fps', type=int, help="set the client's frame rate (its src = 888 + fps)")
    c.add_argument('--save-png', help='write the last frame shown here')
    c.add_argument('--save-jpeg', help='write the JPEG bytes of the last frame shown here')
    c.add_argument('--timeout', type=float, default=30)
    args = p.parse_args()
    if args.role == 'server':
        run_server(args)
    else:
        run_client(args)


if __name__ == '__main__':
    main()
