/** Minimal leveled logger to stderr; one line per event, with the error code first when there is one. */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function stderrLogger(quiet = false): Logger {
  const line = (level: string, msg: string): void => {
    process.stderr.write(`${new Date().toISOString()} ${level} ${msg}\n`);
  };
  return {
    info: (m) => {
      if (!quiet) line('info ', m);
    },
    warn: (m) => line('warn ', m),
    error: (m) => line('error', m),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
