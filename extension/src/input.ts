// Pointer/keyboard handling on the stage: brush (box or lasso), pan/rotate, wheel zoom, hover,
// click and Escape. Coordinates are CSS px relative to the stage.
import type { Disposer } from "./model";

export type Shape = { kind: "box"; x0: number; y0: number; x1: number; y1: number } | { kind: "lasso"; poly: number[] };

export interface InputHost {
  viewAt(x: number, y: number): number; // -1 = none, 0 = main, 1.. = others
  dragKind(view: number, e: PointerEvent, spaceHeld: boolean): "brush" | "lasso" | "pan" | "rotate" | "none";
  pan(dx: number, dy: number): void;
  rotate(dx: number, dy: number): void;
  zoom(f: number, x: number, y: number): void;
  brushChanged(): void;
  brushEnd(view: number, s: Shape): void;
  click(view: number, x: number, y: number, e: PointerEvent): void;
  dblclick(view: number, x: number, y: number): void;
  hover(x: number, y: number): void;
  leave(): void;
  escape(): void;
  interacting(active: boolean): void;
}

type Wrap = <A extends unknown[]>(f: (...a: A) => void) => (...a: A) => void;

export class StageInput {
  brushView = -1;
  shape: Shape | null = null;
  private drag: { kind: string; view: number; x: number; y: number; sx: number; sy: number; moved: boolean } | null = null;
  private spaceHeld = false;
  private hoverTimer = 0;
  private lastHover: [number, number] = [0, 0];

  constructor(
    stage: HTMLElement,
    private host: InputHost,
    d: Disposer,
    private wrap: Wrap,
  ) {
    const pos = (e: MouseEvent): [number, number] => {
      const r = stage.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    };
    d.listen(
      stage,
      "pointerdown",
      wrap((e: PointerEvent) => {
        const [x, y] = pos(e);
        const view = host.viewAt(x, y);
        if (view < 0) return;
        stage.focus({ preventScroll: true });
        const kind = host.dragKind(view, e, this.spaceHeld);
        if (kind === "none") return;
        e.preventDefault();
        // keep the drag when the pointer leaves the stage (not possible for synthetic events)
        try {
          stage.setPointerCapture(e.pointerId);
        } catch {
          /* no active pointer of that id */
        }
        this.drag = { kind, view, x, y, sx: x, sy: y, moved: false };
        if (kind === "brush") this.shape = { kind: "box", x0: x, y0: y, x1: x, y1: y };
        if (kind === "lasso") this.shape = { kind: "lasso", poly: [x, y] };
        this.brushView = view;
        host.interacting(true);
      }),
    );
    d.listen(
      stage,
      "pointermove",
      wrap((e: PointerEvent) => {
        const [x, y] = pos(e);
        const g = this.drag;
        if (!g) {
          this.queueHover(x, y);
          return;
        }
        if (Math.abs(x - g.sx) + Math.abs(y - g.sy) > 3) g.moved = true;
        const dx = x - g.x,
          dy = y - g.y;
        g.x = x;
        g.y = y;
        if (g.kind === "pan") host.pan(dx, dy);
        else if (g.kind === "rotate") host.rotate(dx, dy);
        else if (this.shape?.kind === "box") {
          this.shape.x1 = x;
          this.shape.y1 = y;
          host.brushChanged();
        } else if (this.shape?.kind === "lasso") {
          this.shape.poly.push(x, y);
          host.brushChanged();
        }
      }),
    );
    const end = wrap((e: PointerEvent) => {
      const g = this.drag;
      if (!g) return;
      this.drag = null;
      if (stage.hasPointerCapture(e.pointerId)) stage.releasePointerCapture(e.pointerId);
      const s = this.shape;
      this.shape = null;
      host.interacting(false);
      if (e.type === "pointercancel") {
        host.brushChanged();
        return;
      }
      if (!g.moved) {
        host.brushChanged();
        host.click(g.view, g.sx, g.sy, e);
      } else if (s) {
        host.brushEnd(g.view, s);
      }
    });
    d.listen(stage, "pointerup", end);
    d.listen(stage, "pointercancel", end);
    d.listen(
      stage,
      "pointerleave",
      wrap(() => {
        if (!this.drag) host.leave();
      }),
    );
    d.listen(
      stage,
      "dblclick",
      wrap((e: MouseEvent) => {
        const [x, y] = pos(e);
        host.dblclick(host.viewAt(x, y), x, y);
      }),
    );
    d.listen(
      stage,
      "wheel",
      wrap((e: WheelEvent) => {
        const [x, y] = pos(e);
        if (host.viewAt(x, y) !== 0) return;
        e.preventDefault();
        const scale = e.deltaMode === 1 ? 40 : e.deltaMode === 2 ? 400 : 1;
        host.zoom(Math.exp((-e.deltaY * scale) / 500), x, y);
      }),
      { passive: false },
    );
    d.listen(
      stage,
      "keydown",
      wrap((e: KeyboardEvent) => {
        if (e.key === "Escape") host.escape();
        else if (e.key === " ") {
          this.spaceHeld = true;
          e.preventDefault();
        }
      }),
    );
    d.listen(
      stage,
      "keyup",
      wrap((e: KeyboardEvent) => {
        if (e.key === " ") this.spaceHeld = false;
      }),
    );
    d.add(() => window.clearTimeout(this.hoverTimer));
  }

  /** Hover is throttled: at most one nearest-point scan per 60 ms. */
  private queueHover(x: number, y: number): void {
    this.lastHover = [x, y];
    if (this.hoverTimer) return;
    this.hoverTimer = window.setTimeout(
      this.wrap(() => {
        this.hoverTimer = 0;
        this.host.hover(this.lastHover[0], this.lastHover[1]);
      }),
      60,
    );
  }
}
