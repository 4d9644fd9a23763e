/**
 * Draws a JPEG in a terminal with truecolor half-block characters: each character cell shows two pixels,
 * the upper one as foreground of "▀" and the lower one as background. Pure apart from sharp's decode.
 */
import sharp from 'sharp';

export interface CellSize {
  cols: number;
  rows: number;
}

/** Largest picture (in cells) that fits cols×rows cells keeping the aspect ratio (a cell is 1 px wide, 2 px tall). */
export function fitCells(width: number, height: number, room: CellSize): CellSize {
  const maxW = Math.max(1, room.cols);
  const maxH = Math.max(1, room.rows) * 2;
  const scale = Math.min(maxW / width, maxH / height);
  const w = Math.max(1, Math.floor(width * scale));
  const h = Math.max(2, Math.floor((height * scale) / 2) * 2);
  return { cols: w, rows: h / 2 };
}

/** RGB pixels (cols × rows*2) to ANSI text, one line per cell row, cursor moves not included. */
export function halfBlocks(rgb: Uint8Array, cols: number, rows: number): string[] {
  const lines: string[] = [];
  let prevFg = '';
  let prevBg = '';
  for (let r = 0; r < rows; r++) {
    let line = '';
    prevFg = prevBg = '';
    for (let c = 0; c < cols; c++) {
      const top = (2 * r * cols + c) * 3;
      const bot = ((2 * r + 1) * cols + c) * 3;
      const fg = `${rgb[top]};${rgb[top + 1]};${rgb[top + 2]}`;
      const bg = `${rgb[bot]};${rgb[bot + 1]};${rgb[bot + 2]}`;
      // Repeat colour codes only when they change: a large share of the output on smooth images.
      if (fg !== prevFg) line += `\x1b[38;2;${fg}m`;
      if (bg !== prevBg) line += `\x1b[48;2;${bg}m`;
      prevFg = fg;
      prevBg = bg;
      line += '▀';
    }
    lines.push(line + '\x1b[0m');
  }
  return lines;
}

/** Decode and scale a JPEG to fit the room; resolves with the lines to print. Rejects if the JPEG is bad. */
export async function renderJpeg(jpeg: Uint8Array, width: number, height: number, room: CellSize): Promise<string[]> {
  const fit = fitCells(width, height, room);
  const { data } = await sharp(jpeg, { failOn: 'error' })
    .resize(fit.cols, fit.rows * 2, { fit: 'fill', kernel: 'nearest', fastShrinkOnLoad: true })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return halfBlocks(data, fit.cols, fit.rows);
}
