// Names and sizes as admins type them; one validator so the agent, the console and the UI agree.

import { FerryError } from './errors.js';

export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function validateName(kind: string, name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw new FerryError(
      'ERR_INVALID_NAME',
      `invalid ${kind} name ${JSON.stringify(name)}: use 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return name;
}

const UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
  P: 1024 ** 5,
};

/** Parses '512M', '1G', '1.5T', '4096' (binary units; 'KiB'/'GB' spellings accepted as binary too). */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:i?B)?\s*$/i.exec(String(text));
  if (!m) {
    throw new FerryError(
      'ERR_INVALID_SIZE',
      `invalid size ${JSON.stringify(text)}: use bytes or a number with K, M, G, T (e.g. 512M, 1G, 1.5T)`,
    );
  }
  const bytes = Number(m[1]) * UNITS[m[2].toUpperCase()];
  if (!Number.isSafeInteger(Math.round(bytes)) || bytes <= 0) {
    throw new FerryError(
      'ERR_INVALID_SIZE',
      `invalid size ${JSON.stringify(text)}: must be positive and below 8 PiB`,
    );
  }
  return Math.round(bytes);
}

/** A rate in bytes per second: '50M', '1.5G', '100M/s'; '0' or 'none' for no limit (0). */
export function parseRate(text: string): number {
  if (text === '0' || text === 'none') return 0;
  return parseSize(text.replace(/\/s$/i, ''));
}

export function formatSize(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1 && Number.isInteger(value / 1024)) {
    value /= 1024;
    i++;
  }
  if (i === 0 && bytes >= 1024) return formatSizeApprox(bytes);
  return `${value}${units[i]}`;
}

/** Human size with one decimal, for tables and progress (1.5G, 730.2M). */
export function formatSizeApprox(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P'];
  let value = bytes;
  let i = 0;
  while (Math.abs(value) >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return i === 0 ? `${value}B` : `${value.toFixed(1)}${units[i]}`;
}
