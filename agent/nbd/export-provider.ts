// What the NBD server needs from the rest of the agent: which exports exist, whether a given client
// may open one, and the backend to serve it from. The server knows nothing of pools, volumes or moves.

import type { BlockBackend } from '../backend/block-backend.js';

export interface NbdClientInfo {
  /** Remote address as Node reports it ('127.0.0.1', '::1', or 'stdio'/'unix' for non-TCP). */
  address: string;
  port: number;
  /** PSK identity when the connection negotiated TLS, else undefined. */
  tlsIdentity?: string;
  /** Connection id, for log lines. */
  id: number;
}

export interface ExportListing {
  name: string;
  description?: string;
}

export interface OpenedExport {
  name: string;
  description?: string;
  backend: BlockBackend;
  /** Served read-only even if the backend could write. */
  readOnly: boolean;
  /** Called once when the connection that opened the export ends. */
  release(): void;
}

export type ExportRefusal =
  | { kind: 'unknown'; message: string }
  | { kind: 'policy'; message: string }
  | { kind: 'tls-required'; message: string }
  | { kind: 'shutdown'; message: string };

export interface ExportProvider {
  /** Exports this client may see (NBD_OPT_LIST). */
  list(client: NbdClientInfo): ExportListing[];
  /** Opens an export for a connection, or says why not. '' is the default export name. */
  open(name: string, client: NbdClientInfo): OpenedExport | ExportRefusal;
  /**
   * TLS-PSK: the key for an identity, or undefined if unknown. When no identity at all is
   * configured the server answers STARTTLS with ERR_POLICY.
   */
  pskKey?(identity: string): Buffer | undefined;
  /** True when this server must refuse everything but STARTTLS before TLS is up. */
  tlsRequired?(): boolean;
}
