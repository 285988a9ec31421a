// validateRequest: the one place a request is judged. Errno per "Error values" of the spec.

import { describe, expect, it } from 'vitest';
import { type ExportShape, type Rejection, validateRequest } from '../../agent/nbd/transmission-validate.js';
import { Cmd, CmdFlag, MAX_PAYLOAD, NbdErrno, type RequestHeader, TxFlag } from '../../agent/nbd/wire.js';

const SIZE = 1024 * 1024;
const writable: ExportShape = {
  size: SIZE,
  flags:
    TxFlag.HAS_FLAGS |
    TxFlag.SEND_FLUSH |
    TxFlag.SEND_FUA |
    TxFlag.SEND_TRIM |
    TxFlag.SEND_WRITE_ZEROES |
    TxFlag.SEND_FAST_ZERO |
    TxFlag.SEND_DF |
    TxFlag.SEND_CACHE,
  hasMetaContext: true,
};
const readOnly: ExportShape = { ...writable, flags: TxFlag.HAS_FLAGS | TxFlag.READ_ONLY | TxFlag.SEND_FLUSH };

function check(h: Partial<RequestHeader>, shape = writable): { errno: number; cause: string } {
  const why: Rejection = { cause: '' };
  const errno = validateRequest(
    { type: Cmd.READ, flags: 0, cookie: 1n, offset: 0, length: 512, ...h },
    shape,
    why,
  );
  return { errno, cause: why.cause };
}

describe('validateRequest', () => {
  it('accepts requests that fit', () => {
    expect(check({}).errno).toBe(0);
    expect(check({ type: Cmd.WRITE, offset: SIZE - 512, flags: CmdFlag.FUA }).errno).toBe(0);
    expect(check({ type: Cmd.WRITE_ZEROES, flags: CmdFlag.NO_HOLE | CmdFlag.FAST_ZERO }).errno).toBe(0);
    expect(check({ type: Cmd.BLOCK_STATUS, flags: CmdFlag.REQ_ONE }).errno).toBe(0);
    expect(check({ type: Cmd.READ, flags: CmdFlag.DF }).errno).toBe(0);
    expect(check({ type: Cmd.FLUSH, length: 0 }).errno).toBe(0);
    expect(check({ length: 0 }).errno).toBe(0);
    expect(
      check({ type: Cmd.READ, length: MAX_PAYLOAD, offset: 0 }, { ...writable, size: MAX_PAYLOAD }).errno,
    ).toBe(0);
  });

  it('refuses unknown commands and flags with EINVAL', () => {
    expect(check({ type: 42 })).toEqual({ errno: NbdErrno.EINVAL, cause: 'unknown command 42' });
    expect(check({ type: Cmd.RESIZE }).errno).toBe(NbdErrno.EINVAL);
    expect(check({ flags: CmdFlag.REQ_ONE }).errno).toBe(NbdErrno.EINVAL);
    expect(check({ type: Cmd.WRITE, flags: CmdFlag.NO_HOLE }).errno).toBe(NbdErrno.EINVAL);
    expect(check({ flags: 0x8000 }).errno).toBe(NbdErrno.EINVAL);
  });

  it('refuses what was not advertised', () => {
    const plain = { ...writable, flags: TxFlag.HAS_FLAGS };
    expect(check({ flags: CmdFlag.FUA }, plain).errno).toBe(NbdErrno.EINVAL);
    expect(check({ flags: CmdFlag.DF }, plain).errno).toBe(NbdErrno.EINVAL);
    expect(check({ type: Cmd.TRIM }, plain).errno).toBe(NbdErrno.EINVAL);
    expect(check({ type: Cmd.WRITE_ZEROES, flags: CmdFlag.FAST_ZERO }, plain).errno).toBe(NbdErrno.EINVAL);
    expect(check({ type: Cmd.BLOCK_STATUS }, { ...writable, hasMetaContext: false }).errno).toBe(
      NbdErrno.EINVAL,
    );
  });

  it('refuses writes on a read-only export with EPERM', () => {
    for (const type of [Cmd.WRITE, Cmd.TRIM, Cmd.WRITE_ZEROES])
      expect(check({ type }, readOnly).errno).toBe(NbdErrno.EPERM);
    expect(check({ type: Cmd.READ }, readOnly).errno).toBe(0);
  });

  it('refuses payloads over 32 MiB with EOVERFLOW', () => {
    const big = { ...writable, size: 2 ** 40 };
    expect(check({ type: Cmd.WRITE, length: MAX_PAYLOAD + 1 }, big).errno).toBe(NbdErrno.EOVERFLOW);
    expect(check({ type: Cmd.READ, length: 0xffffffff }, big).errno).toBe(NbdErrno.EOVERFLOW);
    // Commands without payload may be larger.
    expect(check({ type: Cmd.WRITE_ZEROES, length: 0xffffffff }, big).errno).toBe(0);
  });

  it('refuses ranges past the end: ENOSPC for writes, EINVAL for the rest, even when offset + length wraps', () => {
    expect(check({ type: Cmd.WRITE, offset: SIZE - 511 }).errno).toBe(NbdErrno.ENOSPC);
    expect(check({ type: Cmd.WRITE_ZEROES, offset: SIZE }).errno).toBe(NbdErrno.ENOSPC);
    for (const type of [Cmd.READ, Cmd.TRIM, Cmd.BLOCK_STATUS, Cmd.CACHE]) {
      expect(check({ type, offset: SIZE - 1 }).errno).toBe(NbdErrno.EINVAL);
    }
    // 2^64 - 1 as decoded from the wire (past 2^53 the number rounds, but stays past any size).
    expect(check({ offset: 2 ** 64 - 1, length: 4096 }).errno).toBe(NbdErrno.EINVAL);
    expect(check({ type: Cmd.WRITE, offset: 2 ** 64 - 4096, length: 8192 }).errno).toBe(NbdErrno.ENOSPC);
  });

  it('refuses FLUSH with an offset and BLOCK_STATUS of length 0', () => {
    expect(check({ type: Cmd.FLUSH, offset: 1, length: 0 }).errno).toBe(NbdErrno.EINVAL);
    expect(check({ type: Cmd.BLOCK_STATUS, length: 0 }).errno).toBe(NbdErrno.EINVAL);
  });
});
