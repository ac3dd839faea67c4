// The only surface the views use: anywidget's model API (also implemented by the standalone
// HTML export's shim) and a Disposer that undoes everything `render` set up.

export type Handler = (...args: unknown[]) => void;

export interface Model {
  get(name: string): unknown;
  set(name: string, value: unknown): void;
  on(event: string, cb: Handler): void;
  off(event?: string | null, cb?: Handler | null): void;
  save_changes(): void;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): void;
}

export interface RenderProps {
  model: Model;
  el: HTMLElement;
}

/** Collects cleanup callbacks; `dispose` runs them in reverse order, each at most once. */
export class Disposer {
  private fns: Array<() => void> = [];
  disposed = false;

  add(fn: () => void): void {
    if (this.disposed) fn();
    else this.fns.push(fn);
  }

  listen<K extends keyof HTMLElementEventMap>(
    t: HTMLElement | Window | Document,
    type: K | string,
    fn: (e: HTMLElementEventMap[K]) => void,
    opts?: AddEventListenerOptions,
  ): void {
    const f = fn as EventListener;
    t.addEventListener(type, f, opts);
    this.add(() => t.removeEventListener(type, f, opts));
  }

  onModel(model: Model, event: string, cb: Handler): void {
    model.on(event, cb);
    this.add(() => model.off(event, cb));
  }

  timeout(fn: () => void, ms: number): number {
    const id = window.setTimeout(fn, ms);
    this.add(() => window.clearTimeout(id));
    return id;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const fns = this.fns.reverse();
    this.fns = [];
    for (const fn of fns) {
      try {
        fn();
      } catch {
        /* keep freeing the rest */
      }
    }
  }
}

/** A rAF-coalesced redraw: many `request()` calls in one frame -> one `draw()`. */
export class FrameLoop {
  private id = 0;
  constructor(
    private draw: () => void,
    d: Disposer,
  ) {
    d.add(() => {
      if (this.id) cancelAnimationFrame(this.id);
      this.id = 0;
    });
  }
  request(): void {
    if (this.id) return;
    this.id = requestAnimationFrame(() => {
      this.id = 0;
      this.draw();
    });
  }
}

/** Set a traitlet and sync it to the kernel, unless it already has that value. */
export function setTrait(model: Model, name: string, v: unknown): void {
  if (model.get(name) === v) return;
  model.set(name, v);
  model.save_changes();
}

export function num(v: unknown, dflt = 0): number {
  return typeof v === "number" && Number.isFinite(v) ? v : dflt;
}

export function str(v: unknown, dflt = ""): string {
  return typeof v === "string" ? v : dflt;
}

export function bytesOf(b: unknown): Uint8Array {
  if (b instanceof Uint8Array) return b;
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  throw new Error("expected a binary buffer");
}

/** A typed view of a buffer, copying when the offset is not aligned for the element size. */
export function typedOf<T extends Float32Array | Uint32Array>(
  b: unknown,
  ctor: { new (a: ArrayBuffer, o: number, l: number): T; new (l: number): T; BYTES_PER_ELEMENT: number },
): T {
  const u8 = bytesOf(b);
  const k = ctor.BYTES_PER_ELEMENT;
  if (u8.byteLength % k !== 0) throw new Error(`buffer of ${u8.byteLength} bytes is not a multiple of ${k}`);
  if (u8.byteOffset % k === 0) return new ctor(u8.buffer as ArrayBuffer, u8.byteOffset, u8.byteLength / k);
  const copy = new Uint8Array(u8);
  return new ctor(copy.buffer, 0, u8.byteLength / k);
}
