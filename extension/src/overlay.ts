// The transparent 2-D canvas above the renderer: view titles, labels (drawn by `labels`, see
// labels.ts), hover rings, brush outline.
import type { Shape } from "./input";
import type { Rect } from "./scale";
import type { Theme } from "./theme";

export interface OverlayItem {
  rect: Rect;
  title: string;
  hover?: [number, number] | null;
  /** A short note centred in the view (e.g. why it is empty); drawn when not "". */
  note?: string;
}

export function drawOverlay(
  c: HTMLCanvasElement,
  dpr: number,
  theme: Theme,
  items: OverlayItem[],
  shape: Shape | null,
  note: string,
  labels?: (ctx: CanvasRenderingContext2D) => void,
): void {
  const ctx = c.getContext("2d");
  if (!ctx) return;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, c.width, c.height);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const px = parseFloat(theme.fontSize) || 13;
  ctx.font = `${Math.round(px * 0.9)}px ${theme.font}`;
  ctx.textBaseline = "top";
  for (const it of items) {
    const r = it.rect;
    ctx.strokeStyle = theme.border;
    ctx.lineWidth = 1;
    ctx.strokeRect(r.x + 0.5, r.y + 0.5, r.w - 1, r.h - 1);
    ctx.fillStyle = theme.fg2;
    ctx.fillText(it.title, r.x + 5, r.y + 4, r.w - 10);
    if (it.note && it !== items[0]) {
      ctx.textAlign = "center";
      const lines = wrapWords(it.note, r.w - 8, (t) => ctx.measureText(t).width);
      const lh = Math.round(px * 1.1);
      lines.forEach((line, k) => {
        ctx.fillText(line, r.x + r.w / 2, r.y + r.h / 2 + (k - lines.length / 2) * lh, r.w - 8);
      });
      ctx.textAlign = "start";
    }
  }
  labels?.(ctx);
  for (const it of items) {
    if (it.hover) {
      ctx.strokeStyle = theme.fg0;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(it.hover[0], it.hover[1], 6, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }
  if (note) {
    ctx.fillStyle = theme.fg2;
    ctx.textAlign = "center";
    const m = items[0]?.rect;
    if (m) ctx.fillText(note, m.x + m.w / 2, m.y + m.h / 2);
    ctx.textAlign = "start";
  }
  if (!shape) return;
  ctx.strokeStyle = theme.brand;
  ctx.fillStyle = theme.brand;
  ctx.lineWidth = 1.5;
  ctx.setLineDash([5, 3]);
  ctx.beginPath();
  if (shape.kind === "box") {
    ctx.rect(Math.min(shape.x0, shape.x1), Math.min(shape.y0, shape.y1), Math.abs(shape.x1 - shape.x0), Math.abs(shape.y1 - shape.y0));
  } else {
    const p = shape.poly;
    ctx.moveTo(p[0], p[1]);
    for (let k = 2; k < p.length; k += 2) ctx.lineTo(p[k], p[k + 1]);
    ctx.closePath();
  }
  ctx.stroke();
  ctx.globalAlpha = 0.08;
  ctx.fill();
  ctx.globalAlpha = 1;
  ctx.setLineDash([]);
}

/** The area a view's title takes (labels keep off it). */
export function titleBox(rect: Rect, title: string, theme: Theme): Rect {
  const px = parseFloat(theme.fontSize) || 13;
  return { x: rect.x, y: rect.y, w: Math.min(rect.w, 12 + title.length * px * 0.6), h: px + 8 };
}

/** `text` broken at spaces into lines no wider than `width` (a word wider than that stays whole). */
export function wrapWords(text: string, width: number, measure: (t: string) => number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const next = line ? `${line} ${word}` : word;
    if (line && measure(next) > width) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}
