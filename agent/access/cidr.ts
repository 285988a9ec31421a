// IP addresses and CIDR ranges for the per-volume access rules (`--allow ADDR|CIDR[,...]`), IPv4 and
// IPv6. Strict on input (an admin's typo must not widen access) and explicit about IPv4-mapped IPv6:
// a client seen as ::ffff:127.0.0.1 on a dual-stack socket matches IPv4 rules as 127.0.0.1.

import { FerryError } from '../../shared/errors.js';

export type IpFamily = 4 | 6;

export interface IpAddress {
  family: IpFamily;
  /** The address as an unsigned integer of 32 (IPv4) or 128 (IPv6) bits. */
  value: bigint;
}

export interface Cidr {
  family: IpFamily;
  /** Network address (host bits zero). */
  network: bigint;
  prefix: number;
  /** Canonical text, e.g. '10.0.0.0/8', '2001:db8::/32'. */
  text: string;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };
const MAPPED_PREFIX = 0xffffn << 32n; // ::ffff:0:0/96

/** Parses one address, or returns a sentence saying what is wrong with it. */
export function parseIp(text: string): IpAddress | string {
  if (text.includes('%')) return `${quote(text)} has a zone id (%...); write the address without it`;
  if (text.includes(':')) return parseIpv6(text);
  if (/^[0-9.]+$/.test(text)) return parseIpv4(text);
  return `${quote(text)} is not an IPv4 or IPv6 address`;
}

function parseIpv4(text: string): IpAddress | string {
  const parts = text.split('.');
  if (parts.length !== 4)
    return `${quote(text)} is not an IPv4 address: it needs 4 numbers separated by dots`;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return `${quote(text)} is not an IPv4 address: ${quote(part)} is not 0-255`;
    // '010' could mean 8 (inet_aton reads octal) or 10: refuse rather than guess.
    if (part.length > 1 && part.startsWith('0')) {
      return `${quote(text)} has a number with a leading zero (${part}); write it without, e.g. ${Number(part)}`;
    }
    const n = Number(part);
    if (n > 255) return `${quote(text)} is not an IPv4 address: ${part} is above 255`;
    value = (value << 8n) | BigInt(n);
  }
  return { family: 4, value };
}

function parseIpv6(text: string): IpAddress | string {
  const bad = (why: string) => `${quote(text)} is not an IPv6 address: ${why}`;
  const halves = text.split('::');
  if (halves.length > 2) return bad("'::' may appear only once");
  const groupsOf = (half: string): string[] => (half === '' ? [] : half.split(':'));
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  const all = [...head, ...tail];
  // A dotted IPv4 tail (::ffff:1.2.3.4) stands for the last two groups.
  let v4Tail: bigint | undefined;
  const last = all[all.length - 1];
  if (last?.includes('.')) {
    if (halves.length === 2 && tail.length === 0) return bad("an IPv4 part must come last, not before '::'");
    const v4 = parseIpv4(last);
    if (typeof v4 === 'string') return bad(`its IPv4 part ${quote(last)} is invalid`);
    v4Tail = v4.value;
    (tail.length > 0 ? tail : head).pop();
  }
  const groups = [...head, ...tail];
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return bad(`${quote(g)} is not a group of 1-4 hex digits`);
  }
  const wanted = v4Tail === undefined ? 8 : 6;
  if (halves.length === 1 && groups.length !== wanted)
    return bad(`it has ${groups.length} groups, not ${wanted}`);
  if (halves.length === 2 && groups.length > wanted - 1) return bad("too many groups around '::'");
  const zeros = wanted - head.length - tail.length;
  const expanded = [...head, ...Array<string>(zeros).fill('0'), ...tail];
  let value = 0n;
  for (const g of expanded) value = (value << 16n) | BigInt(Number.parseInt(g, 16));
  if (v4Tail !== undefined) value = (value << 32n) | v4Tail;
  return { family: 6, value };
}

/** Parses 'ADDR' (a single host) or 'ADDR/PREFIX'; throws ERR_INVALID_ARGUMENT saying what is wrong. */
export function parseCidr(text: string): Cidr {
  const trimmed = text.trim();
  if (trimmed === '')
    throw invalid('an empty entry in the address list (two commas in a row, or a trailing comma?)');
  const slash = trimmed.indexOf('/');
  const addrText = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const addr = parseIp(addrText);
  if (typeof addr === 'string') throw invalid(addr);
  const bits = BITS[addr.family];
  let prefix = bits;
  if (slash >= 0) {
    const prefixText = trimmed.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
      throw invalid(
        `${quote(trimmed)} has prefix length ${quote(prefixText)}: use 0-${bits} for IPv${addr.family}`,
      );
    }
    prefix = Number(prefixText);
  }
  const network = addr.value & maskOf(addr.family, prefix);
  if (network !== addr.value) {
    // Host bits set is usually a typo (10.1.2.3/8 for 10.1.2.3/32?): refuse rather than widen access.
    const suggestion = `${formatIp({ family: addr.family, value: network })}/${prefix}`;
    throw invalid(
      `${quote(trimmed)} has host bits set past /${prefix}; did you mean ${suggestion} or ${addrText}?`,
    );
  }
  return { family: addr.family, network, prefix, text: `${formatIp(addr)}/${prefix}` };
}

/** Parses 'ADDR|CIDR[,ADDR|CIDR...]' as typed after --allow or --hosts-allow. */
export function parseCidrList(text: string): Cidr[] {
  if (text.trim() === '')
    throw invalid('the address list is empty; give ADDR or CIDR entries separated by commas');
  return text.split(',').map((entry) => parseCidr(entry));
}

/** True when the client address lies in the range. IPv4 clients (and IPv4-mapped IPv6 ones) match
 * IPv4 rules by their IPv4 value and IPv6 rules by their ::ffff:a.b.c.d form. */
export function cidrContains(cidr: Cidr, client: IpAddress): boolean {
  for (const form of formsOf(client)) {
    if (form.family === cidr.family && (form.value & maskOf(cidr.family, cidr.prefix)) === cidr.network)
      return true;
  }
  return false;
}

/** The IPv4 address behind an IPv4-mapped IPv6 one, or the address unchanged. */
export function unmapIp(addr: IpAddress): IpAddress {
  if (addr.family === 6 && addr.value >> 32n === 0xffffn)
    return { family: 4, value: addr.value & 0xffffffffn };
  return addr;
}

function formsOf(addr: IpAddress): IpAddress[] {
  const v4 = unmapIp(addr);
  if (v4.family === 4) return [v4, { family: 6, value: MAPPED_PREFIX | v4.value }];
  return [addr];
}

function maskOf(family: IpFamily, prefix: number): bigint {
  const bits = BigInt(BITS[family]);
  const all = (1n << bits) - 1n;
  return (all << (bits - BigInt(prefix))) & all;
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as '::'). */
export function formatIp(addr: IpAddress): string {
  if (addr.family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((addr.value >> shift) & 0xffn)).join('.');
  }
  const v4 = unmapIp(addr);
  if (v4.family === 4) return `::ffff:${formatIp(v4)}`; // RFC 5952 section 5
  const groups = Array.from({ length: 8 }, (_, i) => Number((addr.value >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1; // RFC 5952: a single zero group is not shortened
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function quote(text: string): string {
  return JSON.stringify(text);
}

function invalid(message: string): FerryError {
  return new FerryError('ERR_INVALID_ARGUMENT', `invalid address rule: ${message}`);
}
