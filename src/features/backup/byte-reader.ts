/**
 * Reads exact byte counts from a stream of arbitrary chunks, holding only what a read asks for
 * plus the rest of the last chunk it pulled.
 */
export class ByteReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #isDone = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** Exactly `length` bytes, or fewer only when the stream ends first. */
  async read(length: number): Promise<Uint8Array> {
    await this.#fill(length);
    const size = Math.min(length, this.#buffered);
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= size) return this.#take(size);
    const out = new Uint8Array(size);
    for (let offset = 0; offset < size;) {
      const part = this.#take(Math.min(this.#chunks[0]!.length, size - offset));
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  /** True when no byte follows: pulls at most one more chunk to find out. */
  async isAtEnd(): Promise<boolean> {
    await this.#fill(1);
    return this.#buffered === 0;
  }

  async cancel(reason?: unknown): Promise<void> {
    this.#chunks = [];
    this.#buffered = 0;
    await this.#reader.cancel(reason);
  }

  release(): void {
    this.#reader.releaseLock();
  }

  async #fill(length: number): Promise<void> {
    while (this.#buffered < length && !this.#isDone) {
      const { done, value } = await this.#reader.read();
      if (done) {
        this.#isDone = true;
      } else if (value.length > 0) {
        this.#chunks.push(value);
        this.#buffered += value.length;
      }
    }
  }

  /** Takes `size` bytes from the front chunk, which must hold at least that many. */
  #take(size: number): Uint8Array {
    const first = this.#chunks[0]!;
    if (size === first.length) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(size);
    this.#buffered -= size;
    return first.subarray(0, size);
  }
}
