/** `framewire devices [--json]`: the cameras ffmpeg can open, with their formats, sizes and rates. */
import { parseArgs } from 'node:util';
import { formatDeviceTable, listDevices } from './devices.js';

export async function runDevices(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } } });
  const devices = await listDevices();
  process.stdout.write(values.json ? JSON.stringify(devices, null, 2) + '\n' : formatDeviceTable(devices) + '\n');
  return 0;
}
