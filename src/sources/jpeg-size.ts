/**
 * Read a JPEG's pixel size from its SOF marker without decoding it. Pure; walks the marker
 * segments from SOI up to the first SOFn (or SOS, after which no SOF can come first).
 */
export interface JpegSize {
  width: number;
  height: number;
}

/** SOF0-3, 5-7, 9-11, 13-15 (C4 = DHT, C8 = JPG extension, CC = DAC are not frame headers). */
function isSof(m: number): boolean {
  return m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
}

/** The width and height in a JPEG's frame header, or null if `buf` is not a JPEG with one. */
export function jpegSize(buf: Uint8Array): JpegSize | null {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return null;
  let i = 2;
  while (i + 1 < buf.length) {
    if (buf[i] !== 0xff) return null;
    let m = buf[i + 1]!;
    i += 2;
    while (m === 0xff && i < buf.length) m = buf[i++]!; // fill bytes
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) continue; // standalone markers
    if (m === 0xd9 || m === 0xda || i + 1 >= buf.length) return null;
    const len = (buf[i]! << 8) | buf[i + 1]!;
    if (len < 2) return null;
    if (isSof(m)) {
      if (i + 7 > buf.length || len < 7) return null;
      const height = (buf[i + 3]! << 8) | buf[i + 4]!;
      const width = (buf[i + 5]! << 8) | buf[i + 6]!;
      return width > 0 && height > 0 ? { width, height } : null;
    }
    i += len;
  }
  return null;
}
