// Uploads a file to an appliance so that the final path only ever holds a complete, verified copy:
// write to a temp name beside it, check its sha256 there, then rename. SFTP fastPut first (parallel
// requests); some SFTP servers choke on those, so a plain write stream is the fallback.
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { SFTPWrapper } from 'ssh2';
import { FerryError } from '../../../shared/errors.js';
import type { SshConnection } from '../ssh/connection.js';
import { shellQuote } from '../ssh/shell-quote.js';

export interface UploadOptions {
  mode?: number;
  /** Expected sha256 (hex) of the file; checked on the appliance before the rename. */
  sha256: string;
  /** Force the write-stream path (tests of the fallback). */
  forceStream?: boolean;
}

export interface UploadResult {
  method: 'fastPut' | 'stream';
  bytes: number;
  ms: number;
}

function fastPut(sftp: SFTPWrapper, local: string, remote: string, mode: number): Promise<void> {
  return new Promise((resolve, reject) => {
    sftp.fastPut(local, remote, { concurrency: 32, chunkSize: 32 * 1024, mode }, (err) =>
      err ? reject(err) : resolve(),
    );
  });
}

/**
 * The fallback: a write stream. Its buffer (1 MiB) lets ssh2 batch buffered chunks into concurrent
 * writes (_writev), a few at a time rather than fastPut's 32; with the default 16 KiB buffer every
 * 64 KiB chunk waits for the previous one's ack and a long link crawls.
 */
async function streamPut(sftp: SFTPWrapper, local: string, remote: string, mode: number): Promise<void> {
  await pipeline(
    createReadStream(local, { highWaterMark: 64 * 1024 }),
    sftp.createWriteStream(remote, { mode, highWaterMark: 1024 * 1024 }),
  );
}

export async function uploadVerified(
  ssh: SshConnection,
  localPath: string,
  remotePath: string,
  options: UploadOptions,
): Promise<UploadResult> {
  const mode = options.mode ?? 0o644;
  const temp = `${remotePath}.upload-${process.pid}-${Date.now()}.tmp`;
  const sftp = await ssh.sftp();
  const started = Date.now();
  let method: UploadResult['method'] = 'fastPut';
  try {
    if (options.forceStream) throw new Error('stream upload requested');
    await fastPut(sftp, localPath, temp, mode);
  } catch {
    method = 'stream';
    await ssh.exec(`rm -f ${shellQuote(temp)}`);
    try {
      await streamPut(await ssh.sftp(), localPath, temp, mode);
    } catch (err) {
      await ssh.exec(`rm -f ${shellQuote(temp)}`).catch(() => undefined);
      throw new FerryError(
        'ERR_IO',
        `upload of ${localPath} to ${ssh.target.host}:${remotePath} failed: ${(err as Error).message}`,
      );
    }
  }
  const ms = Date.now() - started;
  // Verify and publish in one round trip: the final name only ever holds a verified copy.
  const q = shellQuote(temp);
  const check = await ssh.exec(
    [
      `sum=$(sha256sum ${q} | cut -d' ' -f1)`,
      `if [ "$sum" != ${shellQuote(options.sha256)} ]; then rm -f ${q}; echo "mismatch $sum"; exit 0; fi`,
      `chmod ${mode.toString(8)} ${q} && mv -f ${q} ${shellQuote(remotePath)} && echo "ok $(wc -c < ${shellQuote(remotePath)})"`,
    ].join('\n'),
  );
  const [verdict, value] = check.stdout.trim().split(/\s+/);
  if (verdict !== 'ok') {
    await ssh.exec(`rm -f ${q}`).catch(() => undefined);
    throw new FerryError(
      'ERR_IO',
      `the copy of ${localPath} on ${ssh.target.host} does not match (sha256 ${value ?? '?'} != ${options.sha256}): ` +
        `${check.stderr.trim() || 'retry the deploy'}`,
    );
  }
  return { method, bytes: Number(value), ms };
}
