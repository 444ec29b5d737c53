/**
 * An incremental HTTP/1.1 response parser for the lean client (rawhttp.ts). It reads bytes where
 * they lie — in the socket's one reusable read buffer — without converting them to strings or
 * building header objects: the status, the body framing (content-length, chunked, or until close)
 * and `connection: close` are all it needs. Bytes a later read must see again (a header or chunk
 * line cut between two reads) are copied aside; everything else is consumed in place.
 */

/** Where the parser is in the response (small integers: the switch on them is the hot path). */
const State = {
  Head: 0,
  Length: 1,
  ChunkSize: 2,
  ChunkData: 3,
  ChunkEnd: 4,
  Trailer: 5,
  UntilClose: 6,
  Done: 7,
} as const;
type State = (typeof State)[keyof typeof State];

/** What `feed` found: more bytes needed, a complete response, or bytes that are not HTTP/1.x. */
export const Parsed = { More: 0, Complete: 1, Malformed: -1 } as const;
export type Parsed = (typeof Parsed)[keyof typeof Parsed];

const CR = 13;
const LF = 10;

/** Responses up to this size that arrive in one read are remembered (see ResponseParser.feed). */
const MEMO_BYTES = 512;

/** True when bytes [from, to) spell `lower` (lowercase ASCII letters, digits and '-') in any case. */
function nameIs(buf: Uint8Array, from: number, to: number, lower: string): boolean {
  if (to - from !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((buf[from + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/** True when `lower` occurs in bytes [from, to), compared case-insensitively. */
function contains(buf: Uint8Array, from: number, to: number, lower: string): boolean {
  const last = to - lower.length;
  outer: for (let i = from; i <= last; i++) {
    for (let j = 0; j < lower.length; j++) if ((buf[i + j]! | 0x20) !== lower.charCodeAt(j)) continue outer;
    return true;
  }
  return false;
}

/** Index of the next LF in [from, to), or -1. */
function lineEnd(buf: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) if (buf[i] === LF) return i;
  return -1;
}

export class ResponseParser {
  status = 0;
  /** Body bytes received (after chunked decoding). */
  bytes = 0;
  /** The server asked to close the connection after this response (or spoke HTTP/1.0). */
  closeAfter = false;
  /** Copies of the body's pieces, when the caller wants the body. */
  body?: Buffer[];
  private state: State = State.Head;
  private left = 0;
  private noBody = false;
  private carry?: Buffer;
  /**
   * The last response that came whole in one read (at most MEMO_BYTES) and what it parsed to.
   * A server answering the same request repeats itself byte for byte (a Date header changes once
   * a second): one memcmp then stands in for parsing the head — same bytes, same outcome.
   */
  private memo?: Buffer;
  private memoLength = -1;
  private memoStatus = 0;
  private memoBytes = 0;
  private memoCloseAfter = false;
  private memoNoBody = false;

  /** Starts a new response; `head`: the request was HEAD (a body is never sent). */
  reset(head: boolean, wantBody: boolean): void {
    this.status = 0;
    this.bytes = 0;
    this.closeAfter = false;
    this.body = wantBody ? [] : undefined;
    this.state = State.Head;
    this.left = 0;
    this.noBody = head;
    this.carry = undefined;
  }

  /** Nothing of the response has arrived yet. */
  get untouched(): boolean {
    return this.state === State.Head && this.carry === undefined;
  }

  /** The body runs until the server closes the connection (no length, not chunked). */
  get untilClose(): boolean {
    return this.state === State.UntilClose;
  }

  /**
   * Parses bytes [0, n) of `input` (which the caller may reuse afterwards). Bytes after the end
   * of the response are ignored: the client sends one request at a time, so none should come.
   */
  feed(input: Buffer, n: number): Parsed {
    // A whole response in this read, nothing of it kept: it may be the last one again.
    const whole = this.state === State.Head && this.carry === undefined && this.body === undefined;
    if (
      whole &&
      n === this.memoLength &&
      this.noBody === this.memoNoBody &&
      input.compare(this.memo!, 0, n, 0, n) === 0
    ) {
      this.status = this.memoStatus;
      this.bytes = this.memoBytes;
      this.closeAfter = this.memoCloseAfter;
      this.state = State.Done;
      return Parsed.Complete;
    }
    let buf = input;
    let end = n;
    if (this.carry) {
      buf = Buffer.concat([this.carry, input.subarray(0, n)]);
      end = buf.length;
      this.carry = undefined;
    }
    let pos = 0;
    for (;;) {
      switch (this.state) {
        case State.Head: {
          const r = this.head(buf, pos, end);
          if (r < 0) return r === -2 ? Parsed.Malformed : this.keep(buf, pos, end);
          pos = r;
          break;
        }
        case State.Length: {
          const take = Math.min(this.left, end - pos);
          this.take(buf, pos, take);
          pos += take;
          this.left -= take;
          if (this.left > 0) return Parsed.More;
          this.state = State.Done;
          break;
        }
        case State.UntilClose:
          this.take(buf, pos, end - pos);
          return Parsed.More;
        case State.ChunkSize: {
          const lf = lineEnd(buf, pos, end);
          if (lf < 0) return this.keep(buf, pos, end);
          let size = 0;
          let digits = 0;
          for (let i = pos; i < lf; i++) {
            const c = buf[i]! | 0x20;
            const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
            if (d < 0) break; // ';' starts chunk extensions, CR ends the line
            size = size * 16 + d;
            digits += 1;
          }
          if (digits === 0) return Parsed.Malformed;
          pos = lf + 1;
          this.left = size;
          this.state = size === 0 ? State.Trailer : State.ChunkData;
          break;
        }
        case State.ChunkData: {
          const take = Math.min(this.left, end - pos);
          this.take(buf, pos, take);
          pos += take;
          this.left -= take;
          if (this.left > 0) return Parsed.More;
          this.state = State.ChunkEnd;
          break;
        }
        case State.ChunkEnd: {
          // The CRLF after a chunk's data.
          const lf = lineEnd(buf, pos, end);
          if (lf < 0) return this.keep(buf, pos, end);
          pos = lf + 1;
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailer: {
          // Trailer fields (usually none), then an empty line.
          const lf = lineEnd(buf, pos, end);
          if (lf < 0) return this.keep(buf, pos, end);
          const empty = lf === pos || (lf === pos + 1 && buf[pos] === CR);
          pos = lf + 1;
          if (empty) this.state = State.Done;
          break;
        }
        case State.Done:
          if (whole && pos === n && n <= MEMO_BYTES) this.remember(input, n);
          return Parsed.Complete;
      }
    }
  }

  /**
   * The status line and header fields from `pos`: returns where the body starts, -1 when the
   * head is not complete yet, -2 when it is not an HTTP/1.x response.
   */
  private head(buf: Buffer, pos: number, end: number): number {
    // The status line: HTTP/1.x NNN
    const first = lineEnd(buf, pos, end);
    if (first < 0) return -1;
    if (first - pos < 12 || !nameIs(buf, pos, pos + 7, 'http/1.')) return -2;
    const s0 = buf[pos + 9]! - 48;
    const s1 = buf[pos + 10]! - 48;
    const s2 = buf[pos + 11]! - 48;
    if (s0 < 1 || s0 > 5 || s1 < 0 || s1 > 9 || s2 < 0 || s2 > 9) return -2;
    this.status = s0 * 100 + s1 * 10 + s2;
    if (buf[pos + 7] === 48) this.closeAfter = true; // HTTP/1.0
    let length = -1;
    let chunked = false;
    let line = first + 1;
    // Header fields, each byte looked at once: the name up to ':', then the value up to LF.
    for (;;) {
      let i = line;
      let c = 0;
      for (; i < end; i++) {
        c = buf[i]!;
        if (c === 58 || c === LF) break;
      }
      if (i >= end) return -1;
      if (c === LF) {
        if (i === line || (i === line + 1 && buf[line] === CR))
          return this.bodyStarts(i + 1, length, chunked);
        line = i + 1; // a line without a colon: not a field, ignored
        continue;
      }
      const colon = i;
      const lf = lineEnd(buf, colon + 1, end);
      if (lf < 0) return -1;
      const nameLength = colon - line;
      // Only the three fields that frame the body matter; most names differ in length already.
      if (nameLength === 14 || nameLength === 17 || nameLength === 10) {
        const stop = buf[lf - 1] === CR ? lf - 1 : lf;
        let v = colon + 1;
        while (v < stop && (buf[v] === 32 || buf[v] === 9)) v++;
        if (nameIs(buf, line, colon, 'content-length')) {
          let n = 0;
          let digits = 0;
          for (let d = v; d < stop; d++) {
            const x = buf[d]! - 48;
            if (x < 0 || x > 9) break;
            n = n * 10 + x;
            digits += 1;
          }
          if (digits === 0) return -2;
          length = n;
        } else if (nameIs(buf, line, colon, 'transfer-encoding')) {
          chunked = contains(buf, v, stop, 'chunked');
        } else if (nameIs(buf, line, colon, 'connection')) {
          if (contains(buf, v, stop, 'close')) this.closeAfter = true;
        }
      }
      line = lf + 1;
    }
  }

  /** The head ended (its empty line) just before `at`: how the body is framed. */
  private bodyStarts(at: number, length: number, chunked: boolean): number {
    const s = this.status;
    const noBody = this.noBody || s === 204 || s === 304 || (s >= 100 && s < 200);
    if (noBody) this.state = State.Done;
    else if (chunked) this.state = State.ChunkSize;
    else if (length >= 0) {
      this.left = length;
      this.state = length === 0 ? State.Done : State.Length;
    } else this.state = State.UntilClose;
    return at;
  }

  private remember(input: Buffer, n: number): void {
    this.memo ??= Buffer.allocUnsafe(MEMO_BYTES);
    input.copy(this.memo, 0, 0, n);
    this.memoLength = n;
    this.memoStatus = this.status;
    this.memoBytes = this.bytes;
    this.memoCloseAfter = this.closeAfter;
    this.memoNoBody = this.noBody;
  }

  private take(buf: Buffer, pos: number, n: number): void {
    if (n === 0) return;
    this.bytes += n;
    // A copy: the read buffer is reused for the next read.
    this.body?.push(Buffer.from(buf.subarray(pos, pos + n)));
  }

  private keep(buf: Buffer, pos: number, end: number): Parsed {
    if (end > pos) this.carry = Buffer.from(buf.subarray(pos, end));
    return Parsed.More;
  }
}
