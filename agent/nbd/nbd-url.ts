// NBD URLs as the NBD project's doc/uri.md defines them, for the two forms Ferry uses:
// `nbd://HOST[:PORT]/EXPORT` (plaintext) and `nbds://[IDENTITY@]HOST[:PORT]/EXPORT` (TLS, where the
// user part is the TLS-PSK identity). IPv6 literals go in brackets. The export name is the path
// without its leading '/', percent-decoded. Every rejection says what was wrong and what to write.

import { FerryError } from '../../shared/errors.js';

export const DEFAULT_NBD_PORT = 10809;
const MAX_EXPORT_NAME = 4096;

export interface NbdUrl {
  /** nbds:// — TLS is mandatory. */
  tls: boolean;
  /** Host name or IP address; IPv6 without brackets. */
  host: string;
  port: number;
  exportName: string;
  /** TLS-PSK identity (the user part of an nbds:// URL). */
  pskIdentity?: string;
  /** `?tls-psk-file=` as libnbd and qemu accept it (the file holds `identity:hexkey` lines). */
  pskFile?: string;
}

const URL_SHAPE =
  /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(?:([^@/?#]*)@)?(\[[^\]/?#]*\]|[^:/?#]*)(?::([^/?#]*))?([^?#]*)(?:\?([^#]*))?$/;
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/;
const EXAMPLE = 'nbds://IDENTITY@HOST:PORT/EXPORT (or nbd://HOST:PORT/EXPORT)';

function invalid(text: string, why: string): FerryError {
  return new FerryError('ERR_INVALID_ARGUMENT', `invalid NBD URL '${text}': ${why}; expected ${EXAMPLE}`, {
    url: text,
  });
}

function decode(text: string, part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw invalid(text, `bad percent-encoding in the ${what}`);
  }
}

export function parseNbdUrl(text: string): NbdUrl {
  if (typeof text !== 'string' || text.length === 0) throw invalid(String(text), 'it is empty');
  if (text.includes('#')) throw invalid(text, "a fragment ('#...') has no meaning here");
  if (/\s/.test(text)) throw invalid(text, 'it contains white space');
  const m = URL_SHAPE.exec(text);
  if (!m) throw invalid(text, 'it is not of the form SCHEME://HOST...');
  const [, scheme, user, rawHost, rawPort, rawPath, rawQuery] = m;
  const lowerScheme = scheme.toLowerCase();
  if (lowerScheme === 'nbd+unix' || lowerScheme === 'nbds+unix') {
    throw invalid(text, 'UNIX-socket NBD URLs are not supported; use a TCP address');
  }
  if (lowerScheme !== 'nbd' && lowerScheme !== 'nbds') {
    throw invalid(text, `unknown scheme '${scheme}'`);
  }
  const tls = lowerScheme === 'nbds';

  let pskIdentity: string | undefined;
  if (user !== undefined) {
    if (!tls) throw invalid(text, 'an identity (ID@) only makes sense with nbds://');
    if (user.includes(':'))
      throw invalid(text, 'passwords do not belong in the URL; give the PSK key separately');
    pskIdentity = decode(text, user, 'identity');
    if (pskIdentity.length === 0) throw invalid(text, "the identity before '@' is empty");
  }

  const host = parseHost(text, rawHost);
  const port = parsePort(text, rawPort);

  let exportName = '';
  if (rawPath) {
    if (!rawPath.startsWith('/')) throw invalid(text, "the export name must follow a '/'");
    exportName = decode(text, rawPath.slice(1), 'export name');
    if (Buffer.byteLength(exportName, 'utf8') > MAX_EXPORT_NAME) {
      throw invalid(text, `the export name is longer than ${MAX_EXPORT_NAME} bytes`);
    }
    if (exportName.includes('\0')) throw invalid(text, 'the export name contains a NUL byte');
  }

  const url: NbdUrl = { tls, host, port, exportName };
  if (pskIdentity !== undefined) url.pskIdentity = pskIdentity;
  if (rawQuery) {
    for (const pair of rawQuery.split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      const key = decode(text, eq < 0 ? pair : pair.slice(0, eq), 'query');
      const value = eq < 0 ? '' : decode(text, pair.slice(eq + 1), 'query');
      if (key === 'tls-psk-file') {
        if (!tls) throw invalid(text, 'tls-psk-file only makes sense with nbds://');
        if (!value) throw invalid(text, 'tls-psk-file is empty');
        url.pskFile = value;
      } else {
        throw invalid(text, `unsupported query parameter '${key}' (only tls-psk-file is understood)`);
      }
    }
  }
  return url;
}

function parseHost(text: string, raw: string): string {
  if (!raw) throw invalid(text, 'the host is missing');
  if (raw.startsWith('[')) {
    const inner = decode(text, raw.slice(1, -1), 'host');
    if (!inner.includes(':') || !IPV6.test(inner)) throw invalid(text, `'${raw}' is not an IPv6 address`);
    return inner;
  }
  const host = decode(text, raw, 'host');
  if (/^[0-9.]+$/.test(host)) {
    const parts = host.split('.');
    if (
      parts.length !== 4 ||
      parts.some((p) => p === '' || Number(p) > 255 || (p.length > 1 && p.startsWith('0')))
    ) {
      throw invalid(text, `'${host}' is not an IPv4 address`);
    }
    return host;
  }
  if (!HOSTNAME.test(host)) throw invalid(text, `'${host}' is not a valid host name (IPv6 goes in brackets)`);
  return host;
}

function parsePort(text: string, raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_NBD_PORT;
  if (!/^[0-9]{1,5}$/.test(raw)) throw invalid(text, `port '${raw}' is not a number`);
  const port = Number(raw);
  if (port < 1 || port > 65535) throw invalid(text, `port ${port} is not in 1..65535`);
  return port;
}

/** The canonical text of a URL (identity and export percent-encoded, IPv6 bracketed). */
export function formatNbdUrl(url: NbdUrl): string {
  const host = url.host.includes(':') ? `[${url.host}]` : url.host;
  const user = url.tls && url.pskIdentity ? `${encodeURIComponent(url.pskIdentity)}@` : '';
  const exportPath = url.exportName.split('/').map(encodeURIComponent).join('/');
  const query = url.pskFile ? `?tls-psk-file=${encodeURIComponent(url.pskFile)}` : '';
  return `${url.tls ? 'nbds' : 'nbd'}://${user}${host}:${url.port}/${exportPath}${query}`;
}

/** The URL without its identity or query: safe for log lines and error messages. */
export function describeNbdUrl(url: NbdUrl): string {
  return formatNbdUrl({ tls: url.tls, host: url.host, port: url.port, exportName: url.exportName });
}
