// Decoding of option payloads (NBD_OPT_INFO/GO and the META_CONTEXT options). Every length read
// from the client is checked against what is left of the option before it is used, so no length
// can make the server read past the option or allocate on the client's word.

import { MAX_STRING } from './wire.js';

export type Parsed<T> = ({ ok: true } & T) | { ok: false; error: string };

export interface InfoRequest {
  name: string;
  /** NBD_INFO_* types the client asked for. */
  requests: number[];
}

export interface MetaContextRequest {
  exportName: string;
  queries: string[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A protocol string ("Conventions"): valid UTF-8, no NUL, at most 4096 bytes. */
export function decodeNbdString(bytes: Buffer, what: string): Parsed<{ value: string }> {
  if (bytes.length > MAX_STRING) return { ok: false, error: `${what} is longer than ${MAX_STRING} bytes` };
  if (bytes.includes(0)) return { ok: false, error: `${what} contains a NUL byte` };
  try {
    return { ok: true, value: utf8.decode(bytes) };
  } catch {
    return { ok: false, error: `${what} is not valid UTF-8` };
  }
}

/** NBD_OPT_INFO / NBD_OPT_GO: u32 name length, name, u16 count, count x u16 info requests. */
export function parseInfoRequest(data: Buffer): Parsed<InfoRequest> {
  if (data.length < 6) return { ok: false, error: `option data of ${data.length} bytes is shorter than 6` };
  const nameLength = data.readUInt32BE(0);
  if (nameLength > data.length - 6) {
    return { ok: false, error: `export name length ${nameLength} exceeds the option's ${data.length} bytes` };
  }
  const name = decodeNbdString(data.subarray(4, 4 + nameLength), 'export name');
  if (!name.ok) return name;
  const count = data.readUInt16BE(4 + nameLength);
  const expected = 4 + nameLength + 2 + 2 * count;
  if (data.length !== expected) {
    return { ok: false, error: `option length ${data.length} does not match ${count} info requests` };
  }
  const requests: number[] = [];
  for (let i = 0; i < count; i++) requests.push(data.readUInt16BE(4 + nameLength + 2 + 2 * i));
  return { ok: true, name: name.value, requests };
}

/** NBD_OPT_LIST/SET_META_CONTEXT: u32 name length, name, u32 count, count x (u32 length, query). */
export function parseMetaContextRequest(data: Buffer): Parsed<MetaContextRequest> {
  if (data.length < 8) return { ok: false, error: `option data of ${data.length} bytes is shorter than 8` };
  const nameLength = data.readUInt32BE(0);
  if (nameLength > data.length - 8) {
    return { ok: false, error: `export name length ${nameLength} exceeds the option's ${data.length} bytes` };
  }
  const name = decodeNbdString(data.subarray(4, 4 + nameLength), 'export name');
  if (!name.ok) return name;
  let at = 4 + nameLength;
  const count = data.readUInt32BE(at);
  at += 4;
  const queries: string[] = [];
  for (let i = 0; i < count; i++) {
    if (data.length - at < 4) return { ok: false, error: `query ${i + 1} of ${count} is missing` };
    const queryLength = data.readUInt32BE(at);
    at += 4;
    if (queryLength > data.length - at) {
      return { ok: false, error: `query length ${queryLength} exceeds the rest of the option` };
    }
    const query = decodeNbdString(data.subarray(at, at + queryLength), 'metadata context query');
    if (!query.ok) return query;
    queries.push(query.value);
    at += queryLength;
  }
  if (at !== data.length)
    return { ok: false, error: `${data.length - at} unexpected bytes after the queries` };
  return { ok: true, exportName: name.value, queries };
}
