/** Debian's Chromium, launched headless the one way every browser test here needs it (root, no GPU, no network chatter). */
export const CHROMIUM = '/usr/bin/chromium';

export const LAUNCH = {
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
};
