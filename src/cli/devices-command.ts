/** `framewire devices [--json]`: the cameras ffmpeg can open, with their formats, sizes and rates. */
import { parseFlags, type FlagTable } from './args.js';
import { formatDeviceTable, listDevices } from './devices.js';

export const DEVICES_USAGE = `framewire devices [options]
  --json               one JSON document instead of the table
  -h, --help           this text`;

export const DEVICES_FLAGS = { json: { type: 'boolean', default: false } } as const satisfies FlagTable;

export async function runDevices(argv: string[]): Promise<number> {
  const { values, help } = parseFlags('devices', argv, DEVICES_FLAGS);
  if (help) {
    process.stdout.write(DEVICES_USAGE + '\n');
    return 0;
  }
  const devices = await listDevices();
  process.stdout.write(values.json === true ? JSON.stringify(devices, null, 2) + '\n' : formatDeviceTable(devices) + '\n');
  return 0;
}
