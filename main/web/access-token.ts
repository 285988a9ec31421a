// The browser shell's door: a random 32-byte token, given once in the URL that `ferry web` prints.
// A page loaded with it gets a cookie (HttpOnly, SameSite=Strict, named after the port because cookies
// do not separate ports), so its scripts, styles and WebSocket need not carry the token themselves.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export function newAccessToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenCookieName(port: number): string {
  return `ferry_token_${port}`;
}

function sameToken(expected: string, given: string | undefined | null): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export type TokenSource = 'query' | 'cookie' | null;

/** Where the request carried the right token, or null when it did not. */
export function tokenSource(req: IncomingMessage, url: URL, token: string, port: number): TokenSource {
  if (sameToken(token, url.searchParams.get('token'))) return 'query';
  if (sameToken(token, cookieValue(req.headers.cookie, tokenCookieName(port)))) return 'cookie';
  return null;
}

export function tokenCookie(token: string, port: number): string {
  return `${tokenCookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}
