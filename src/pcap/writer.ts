import { writeSync } from 'node:fs';
import { OutputError, TempFile } from '../pipeline/ndjson.js';
import { LinkType } from './linktype.js';
import { MAX_CAPLEN } from './reader.js';

export interface PcapWriterOptions {
  /** Nanosecond timestamps (magic a1b23c4d) instead of microseconds. */
  nanos?: boolean;
  snaplen?: number;
  linkType?: number;
}

/** Where written bytes go: a file (written atomically through a temporary name) or memory. */
interface ByteSink {
  write(bytes: Buffer, length: number): void;
  close(): void;
}

const FLUSH_AT = 1024 * 1024;

/**
 * The snaplen to write, checked: the reader refuses records over MAX_CAPLEN, and
 * the staging buffer has room for one record of at most MAX_CAPLEN past FLUSH_AT
 * (a longer one would be cut by `copy` while its header claimed the full length).
 */
function checkedSnaplen(opts: PcapWriterOptions): number {
  const snaplen = opts.snaplen ?? MAX_CAPLEN;
  if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > MAX_CAPLEN) {
    throw new RangeError(`Expected \`snaplen\` to be an integer from 1 to ${MAX_CAPLEN}, got \`${snaplen}\``);
  }
  return snaplen;
}

/**
 * Classic pcap writer (little-endian, version 2.4). Bytes are staged in a 1 MiB
 * buffer; a file is written under a temporary name and renamed into place on
 * {@link close}, so a reader never sees half a capture.
 */
export class PcapWriter {
  /** Packets written. */
  packets = 0;
  private readonly stage = Buffer.allocUnsafe(FLUSH_AT + MAX_CAPLEN + 16);
  private used = 0;
  private readonly nanos: boolean;
  private readonly snaplen: number;

  private constructor(private readonly sink: ByteSink, opts: PcapWriterOptions) {
    this.nanos = opts.nanos ?? false;
    this.snaplen = checkedSnaplen(opts);
    const h = this.stage;
    h.writeUInt32LE(this.nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8);
    h.writeUInt32LE(0, 12);
    h.writeUInt32LE(this.snaplen, 16);
    h.writeUInt32LE(opts.linkType ?? LinkType.ETHERNET, 20);
    this.used = 24;
  }

  static toFile(path: string, opts: PcapWriterOptions = {}): PcapWriter {
    checkedSnaplen(opts); // before the temporary file exists, so a bad option leaves nothing behind
    // written aside and renamed into place (a device or a symlink's target written through, never replaced);
    // a failed write leaves nothing and names the user's path
    const file = new TempFile(path);
    return new PcapWriter(
      {
        write: (bytes, length) => {
          try {
            let off = 0;
            while (off < length) off += writeSync(file.fd, bytes, off, length - off);
          } catch (e) {
            file.discard();
            throw new OutputError(path, (e as NodeJS.ErrnoException).code ?? (e as Error).message);
          }
        },
        close: () => file.commit(),
      },
      opts,
    );
  }

  /** A writer that keeps the capture in memory; {@link bytes} returns it after {@link close}. */
  static inMemory(opts: PcapWriterOptions = {}): PcapWriter & { bytes(): Buffer } {
    const chunks: Buffer[] = [];
    const w = new PcapWriter(
      {
        write: (bytes, length) => chunks.push(Buffer.from(bytes.subarray(0, length))),
        close: () => {},
      },
      opts,
    );
    return Object.assign(w, { bytes: () => Buffer.concat(chunks) });
  }

  /** Appends one packet. `data[offset..offset+length)` is copied. */
  write(tsSec: number, tsNsec: number, data: Buffer, offset = 0, length = data.length - offset, origLen = length): void {
    if (length > this.snaplen) throw new RangeError(`packet of ${length} bytes exceeds snaplen ${this.snaplen}`);
    // `copy` would silently copy less than the record header claims
    if (offset < 0 || offset + length > data.length) {
      throw new RangeError(`packet slice [${offset}, ${offset + length}) runs past the end of its ${data.length}-byte buffer`);
    }
    const h = this.stage;
    let p = this.used;
    h.writeUInt32LE(tsSec >>> 0, p);
    h.writeUInt32LE(this.nanos ? tsNsec : Math.floor(tsNsec / 1000), p + 4);
    h.writeUInt32LE(length, p + 8);
    h.writeUInt32LE(origLen, p + 12);
    p += 16;
    data.copy(h, p, offset, offset + length);
    this.used = p + length;
    this.packets++;
    if (this.used >= FLUSH_AT) this.flush();
  }

  private flush(): void {
    if (this.used > 0) this.sink.write(this.stage, this.used);
    this.used = 0;
  }

  close(): void {
    this.flush();
    this.sink.close();
  }
}
