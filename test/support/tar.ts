// Reading tar archives (image layers, Helm charts) in memory, to check what a client packed.
// Handles ustar, GNU long names ('L') and pax headers ('x': path, size); enough for layers and charts.
import { gunzipSync } from 'node:zlib';

export interface TarEntry {
  /** The path as stored, without a leading "./" or "/". */
  name: string;
  /** '0' file, '5' directory, '2' symlink, '1' hard link… ('\0' is normalised to '0'). */
  type: string;
  mode: number;
  data: Buffer;
}

const BLOCK = 512;

/** The entries of a tar, gunzipping it first when it starts with the gzip magic. */
export function readTar(archive: Buffer): TarEntry[] {
  const tar = archive.length > 2 && archive[0] === 0x1f && archive[1] === 0x8b ? gunzipSync(archive) : archive;
  const entries: TarEntry[] = [];
  let longName: string | undefined;
  let pax: Record<string, string> = {};
  for (let offset = 0; offset + BLOCK <= tar.length; ) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break; // end of archive
    verifyChecksum(header, offset);
    const type = String.fromCharCode(header[156]!) === '\0' ? '0' : String.fromCharCode(header[156]!);
    const size = pax.size !== undefined ? Number(pax.size) : parseNumber(header.subarray(124, 136));
    const data = tar.subarray(offset + BLOCK, offset + BLOCK + size);
    if (data.length !== size) throw new Error(`tar truncated in the entry at ${offset}`);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = cString(data);
      continue;
    }
    if (type === 'x') {
      pax = { ...pax, ...parsePax(data) };
      continue;
    }
    if (type === 'g') continue; // global pax header: nothing this reader needs
    const prefix = cString(header.subarray(345, 500));
    const name = pax.path ?? longName ?? (prefix ? `${prefix}/${cString(header.subarray(0, 100))}` : cString(header.subarray(0, 100)));
    entries.push({
      name: name.replace(/^(\.\/|\/)+/, ''),
      type,
      mode: parseNumber(header.subarray(100, 108)),
      data: Buffer.from(data),
    });
    longName = undefined;
    pax = {};
  }
  return entries;
}

/** The regular file at `name` (leading "./" or "/" ignored); throws when absent. */
export function tarFile(entries: TarEntry[], name: string): Buffer {
  const wanted = name.replace(/^(\.\/|\/)+/, '');
  const entry = entries.find((e) => e.name === wanted && e.type === '0');
  if (!entry) throw new Error(`no file ${wanted} in the tar; it holds: ${entries.map((e) => `${e.name} (${e.type})`).join(', ')}`);
  return entry.data;
}

function verifyChecksum(header: Buffer, offset: number): void {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  const stored = parseNumber(header.subarray(148, 156));
  if (stored !== sum) throw new Error(`bad tar header checksum at ${offset}: stored ${stored}, computed ${sum}`);
}

/** Octal, NUL/space terminated; or GNU base-256 when the high bit of the first byte is set. */
function parseNumber(field: Buffer): number {
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const text = cString(field).trim();
  return text ? parseInt(text, 8) : 0;
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end === -1 ? bytes.length : end).toString('utf8');
}

/** Pax records: "<length> <key>=<value>\n", length counting the whole record. */
function parsePax(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  for (let offset = 0; offset < data.length; ) {
    const space = data.indexOf(0x20, offset);
    if (space === -1) break;
    const length = Number(data.subarray(offset, space).toString('utf8'));
    if (!Number.isInteger(length) || length <= 0) break;
    const record = data.subarray(space + 1, offset + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq !== -1) records[record.slice(0, eq)] = record.slice(eq + 1);
    offset += length;
  }
  return records;
}
