// Who may reach a volume: the per-volume access policy (address rules, deny-all, read-only, host TLS
// and the PSK identities allowed in) and the one decision the NBD side asks for each client. The
// policy is plain data so it can be stored with the volume's mapping and travel with a move.

import { FerryError } from '../../shared/errors.js';
import { type Cidr, cidrContains, formatIp, parseCidr, parseCidrList, parseIp, unmapIp } from './cidr.js';

export type HostTlsMode = 'off' | 'allow' | 'require';
export const HOST_TLS_MODES: readonly HostTlsMode[] = ['off', 'allow', 'require'];

// A type (not an interface) so a policy can be stored where a plain JSON object is expected.
export type AccessPolicy = {
  /** CIDRs (or single addresses) whose clients may connect. */
  allow: string[];
  /** Refuse every client, whatever `allow` says. */
  denyAll: boolean;
  /** Serve the volume read-only (NBD_FLAG_READ_ONLY; writes, trims and zeroes get EPERM). */
  readOnly: boolean;
  /** off: plaintext only is expected; allow: TLS or plaintext; require: TLS only (no downgrade). */
  hostTls: HostTlsMode;
  /** PSK identities allowed to open this volume over TLS (a TLS client with another identity is refused). */
  pskIdentities: string[];
};

/** The agent-wide default when `serve --hosts-allow` is not given: the box itself only. */
export const LOOPBACK_ONLY: readonly string[] = ['127.0.0.0/8', '::1/128'];

export interface AgentAccessDefaults {
  /** From `serve --hosts-allow CIDR,...`. */
  hostsAllow?: readonly string[];
  /** From `serve --host-tls off|allow|require`. */
  hostTls?: HostTlsMode;
}

export interface AccessClient {
  /** Remote address as Node reports it; 'unix' or 'stdio' for connections that are not TCP. */
  address: string;
  /** PSK identity when the connection negotiated TLS. */
  tlsIdentity?: string;
}

export interface AccessDecision {
  allowed: boolean;
  readOnly: boolean;
  /** Why the client was refused, in plain words (the caller adds client and volume names). */
  reason?: string;
  /** Refused only because the volume requires TLS and this connection is plaintext. */
  needTls?: boolean;
}

/** The policy a new volume gets: the agent's defaults, read-write, no PSK identities yet. */
export function defaultPolicy(defaults: AgentAccessDefaults = {}): AccessPolicy {
  return {
    allow: normalizeAllowList(defaults.hostsAllow ?? LOOPBACK_ONLY),
    denyAll: false,
    readOnly: false,
    hostTls: defaults.hostTls ?? 'off',
    pskIdentities: [],
  };
}

/** Parses the text after `--hosts-allow` or `--allow` into canonical CIDR strings. */
export function parseAllowOption(text: string): string[] {
  return dedupe(parseCidrList(text).map((c) => c.text));
}

export function parseHostTlsMode(text: string): HostTlsMode {
  if ((HOST_TLS_MODES as readonly string[]).includes(text)) return text as HostTlsMode;
  throw new FerryError(
    'ERR_INVALID_ARGUMENT',
    `invalid host TLS mode ${JSON.stringify(text)}: use one of ${HOST_TLS_MODES.join(', ')}`,
  );
}

const IDENTITY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** PSK identities travel in the TLS handshake and in file names of key files: keep them plain. */
export function validatePskIdentity(identity: string): string {
  if (!IDENTITY_PATTERN.test(identity)) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `invalid PSK identity ${JSON.stringify(identity)}: use 1-64 characters of A-Z, a-z, 0-9, '.', '_', '@' or '-', starting with a letter or digit`,
    );
  }
  return identity;
}

/**
 * Checks a policy read from durable state or received over RPC, and returns it in canonical form.
 * Throws ERR_INVALID_ARGUMENT naming the first field that is wrong.
 */
export function validatePolicy(input: unknown): AccessPolicy {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FerryError('ERR_INVALID_ARGUMENT', 'invalid access policy: expected an object');
  }
  const o = input as Record<string, unknown>;
  const field = (name: string, why: string) =>
    new FerryError('ERR_INVALID_ARGUMENT', `invalid access policy: ${name} ${why}`);
  if (!Array.isArray(o.allow) || !o.allow.every((a) => typeof a === 'string')) {
    throw field('allow', 'must be a list of CIDR strings');
  }
  if (typeof o.denyAll !== 'boolean') throw field('denyAll', 'must be true or false');
  if (typeof o.readOnly !== 'boolean') throw field('readOnly', 'must be true or false');
  if (typeof o.hostTls !== 'string') throw field('hostTls', `must be one of ${HOST_TLS_MODES.join(', ')}`);
  if (!Array.isArray(o.pskIdentities) || !o.pskIdentities.every((a) => typeof a === 'string')) {
    throw field('pskIdentities', 'must be a list of identity strings');
  }
  return {
    allow: normalizeAllowList(o.allow as string[]),
    denyAll: o.denyAll,
    readOnly: o.readOnly,
    hostTls: parseHostTlsMode(o.hostTls),
    pskIdentities: dedupe((o.pskIdentities as string[]).map(validatePskIdentity)),
  };
}

/** Decides whether a client may open a volume under this policy, and how. */
export function decide(policy: AccessPolicy, client: AccessClient): AccessDecision {
  const refuse = (reason: string, needTls?: boolean): AccessDecision => ({
    allowed: false,
    readOnly: policy.readOnly,
    reason,
    ...(needTls ? { needTls } : {}),
  });
  if (policy.denyAll) return refuse('the volume denies all hosts (--deny-all)');

  const local = client.address === 'unix' || client.address === 'stdio';
  if (!local) {
    const addr = parseIp(stripZone(client.address));
    if (typeof addr === 'string') return refuse(`the client address is not understood (${addr})`);
    if (!compiled(policy.allow).some((c) => cidrContains(c, addr))) {
      const rules = policy.allow.length > 0 ? policy.allow.join(', ') : 'nothing';
      return refuse(`${formatIp(unmapIp(addr))} is not in the volume's allow list (${rules})`);
    }
  }
  // UNIX-socket and stdio connections are local by construction (the socket's mode decides who
  // reaches them), so only deny-all and the TLS rules apply to them.

  if (client.tlsIdentity === undefined) {
    if (policy.hostTls === 'require') return refuse('the volume requires TLS (--host-tls require)', true);
  } else if (!policy.pskIdentities.includes(client.tlsIdentity)) {
    // An identity is a credential for the volumes that list it, never for others (removing the last
    // identity of a volume must not open it to every key the agent holds).
    return refuse(`PSK identity ${JSON.stringify(client.tlsIdentity)} is not allowed to open the volume`);
  }
  return { allowed: true, readOnly: policy.readOnly };
}

/** One line for logs, `serve` start-up and `ctl volume access` output. */
export function describePolicy(policy: AccessPolicy): string {
  const who = policy.denyAll ? 'deny all hosts' : `allow ${policy.allow.join(', ') || 'nothing'}`;
  const identities =
    policy.pskIdentities.length > 0 ? ` (identities: ${policy.pskIdentities.join(', ')})` : '';
  return `${who}; ${policy.readOnly ? 'read-only' : 'read-write'}; host TLS ${policy.hostTls}${identities}`;
}

function normalizeAllowList(list: readonly string[]): string[] {
  return dedupe(list.map((entry) => parseCidr(entry).text));
}

function dedupe(list: string[]): string[] {
  return [...new Set(list)];
}

function stripZone(address: string): string {
  const pct = address.indexOf('%');
  return pct < 0 ? address : address.slice(0, pct);
}

/** Parses the allow list; an entry that no longer parses matches nothing (fail closed). */
function compiled(allow: readonly string[]): Cidr[] {
  const cidrs: Cidr[] = [];
  for (const entry of allow) {
    try {
      cidrs.push(parseCidr(entry));
    } catch {
      // validatePolicy() keeps bad entries out of stored policies; never widen access on one.
    }
  }
  return cidrs;
}
