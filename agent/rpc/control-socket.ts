// The control socket's path: refuse to start when a live agent answers on it, remove a stale one
// (left by a killed agent), never delete something that is not a socket; listen with mode 0600
// (umask around listen() so there is no window where others may connect, then chmod).

import { chmod, lstat, rm } from 'node:fs/promises';
import { createConnection, type Server } from 'node:net';
import { FerryError } from '../../shared/errors.js';

/** sun_path is 108 bytes on Linux, including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

export async function prepareSocketPath(path: string): Promise<void> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new FerryError(
      'ERR_INVALID_ARGUMENT',
      `control socket path is ${Buffer.byteLength(path)} bytes, the limit is ${MAX_SOCKET_PATH_BYTES}: use a shorter path`,
    );
  }
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) {
    throw new FerryError('ERR_ALREADY_EXISTS', `${path} exists and is not a socket; refusing to replace it`);
  }
  if (await answers(path)) {
    throw new FerryError('ERR_ALREADY_EXISTS', `another agent is already listening on ${path}`, {
      control: path,
    });
  }
  await rm(path, { force: true });
}

export async function listenPrivate(server: Server, path: string): Promise<void> {
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.listen(path, () => {
        server.off('error', onError);
        resolve();
      });
    });
  } finally {
    process.umask(previous);
  }
  await chmod(path, 0o600);
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    const done = (alive: boolean) => {
      socket.destroy();
      resolve(alive);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(2000, () => done(false));
  });
}
