// Newline framing with a size cap: feed() chunks, get whole lines back. A line longer than the cap
// is reported once as an overflow and its bytes are skipped up to the next newline, so a client that
// sends garbage costs bounded memory and the connection can go on.

export type LineEvent = { kind: 'line'; line: string } | { kind: 'overflow' };

export class LineSplitter {
  private parts: Buffer[] = [];
  private buffered = 0;
  private skipping = false;

  constructor(private readonly maxLineBytes: number) {}

  feed(chunk: Buffer): LineEvent[] {
    const out: LineEvent[] = [];
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!this.skipping) {
        const piece = chunk.subarray(start, end);
        if (this.buffered + piece.length > this.maxLineBytes) {
          this.parts = [];
          this.buffered = 0;
          this.skipping = true;
          out.push({ kind: 'overflow' });
        } else {
          this.parts.push(piece);
          this.buffered += piece.length;
        }
      }
      if (nl === -1) break;
      if (!this.skipping) {
        const line = Buffer.concat(this.parts).toString('utf8').replace(/\r$/, '');
        if (line.trim() !== '') out.push({ kind: 'line', line });
      }
      this.parts = [];
      this.buffered = 0;
      this.skipping = false;
      start = nl + 1;
    }
    return out;
  }
}
