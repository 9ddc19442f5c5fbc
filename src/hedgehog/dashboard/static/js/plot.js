/* hedgehog observer — a small time-series plot on <canvas> (no library).
 *
 * drawPlot(canvas, {
 *   lines: [{pts: [[t, v], ...], color, width, dash, label}],   t in ms, v a number
 *   ranges: [{pts: [[t0, t1, low, high], ...], color, label}],  a box per bar: its interval
 *                                                                and its low-high range
 *   marks: [{t, v, color, shape: "up" | "down", label}],
 *   hlines: [{v, color, label}],
 *   zero: true,                 // emphasise y = 0
 *   fmt: (v) => string,         // y labels and the hover box
 *   empty: "text when there is nothing to draw",
 * })
 * The canvas keeps its options, so hovering redraws with a crosshair and the nearest values.
 * An ES module: symbols.js imports drawPlot.
 */

const PLOT_FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400]
  .map((s) => s * 1000);

function niceStep(range, count) {
  const raw = range / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

function decimalsFor(step) {
  return Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9)));
}

function clock(ms, withSeconds) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, "0");
  return p(d.getHours()) + ":" + p(d.getMinutes()) + (withSeconds ? ":" + p(d.getSeconds()) : "");
}

export function drawPlot(canvas, opts) {
  canvas._plot = opts;
  if (!canvas._hooked) {
    canvas._hooked = true;
    canvas.addEventListener("mousemove", (e) => {
      const r = canvas.getBoundingClientRect();
      canvas._hover = e.clientX - r.left;
      drawPlot(canvas, canvas._plot);
    });
    canvas.addEventListener("mouseleave", () => {
      canvas._hover = null;
      drawPlot(canvas, canvas._plot);
    });
  }
  const dpr = window.devicePixelRatio || 1;
  const W = canvas.clientWidth, H = canvas.clientHeight;
  if (!W || !H) return;
  if (canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(H * dpr)) {
    canvas.width = Math.round(W * dpr);
    canvas.height = Math.round(H * dpr);
  }
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, W, H);
  g.font = PLOT_FONT;
  const fmt = opts.fmt || ((v) => String(v));
  const lines = (opts.lines || []).filter((l) => l.pts && l.pts.length);
  const ranges = (opts.ranges || []).filter((r) => r.pts && r.pts.length);
  if (!lines.length && !ranges.length) {
    g.fillStyle = "#8a94a3";
    g.textAlign = "center";
    g.fillText(opts.empty || "no data yet", W / 2, H / 2);
    return;
  }
  let t0 = Infinity, t1 = -Infinity, v0 = Infinity, v1 = -Infinity;
  for (const l of lines) {
    t0 = Math.min(t0, l.pts[0][0]);
    t1 = Math.max(t1, l.pts[l.pts.length - 1][0]);
    for (const p of l.pts) { if (p[1] < v0) v0 = p[1]; if (p[1] > v1) v1 = p[1]; }
  }
  for (const r of ranges) {
    t0 = Math.min(t0, r.pts[0][0]);
    t1 = Math.max(t1, r.pts[r.pts.length - 1][1]);
    for (const p of r.pts) { if (p[2] < v0) v0 = p[2]; if (p[3] > v1) v1 = p[3]; }
  }
  const marks = (opts.marks || []).filter((m) => m.t >= t0 && m.t <= t1);
  for (const m of marks) { v0 = Math.min(v0, m.v); v1 = Math.max(v1, m.v); }
  for (const h of opts.hlines || []) { v0 = Math.min(v0, h.v); v1 = Math.max(v1, h.v); }
  if (opts.zero) { v0 = Math.min(v0, 0); v1 = Math.max(v1, 0); }
  if (t1 <= t0) { t0 -= 30000; t1 += 1000; }
  if (v1 <= v0) { const d = Math.abs(v0) * 0.001 || 1; v0 -= d; v1 += d; }
  const pad = (v1 - v0) * 0.08;
  v0 -= pad; v1 += pad;

  const ystep = niceStep(v1 - v0, Math.max(3, Math.floor(H / 55)));
  const ydec = decimalsFor(ystep);
  const yticks = [];
  for (let v = Math.ceil(v0 / ystep) * ystep; v <= v1 + 1e-12; v += ystep) yticks.push(v);
  const ylabels = yticks.map((v) => (opts.fmtTick ? opts.fmtTick(v, ydec) : v.toFixed(ydec)));
  const left = 10, right = Math.max(...ylabels.map((s) => g.measureText(s).width)) + 18;
  const top = 10, bottom = 22;
  const pw = W - left - right, ph = H - top - bottom;
  const X = (t) => left + ((t - t0) / (t1 - t0)) * pw;
  const Y = (v) => top + (1 - (v - v0) / (v1 - v0)) * ph;

  // grid and labels
  g.strokeStyle = "#eef0f3";
  g.lineWidth = 1;
  g.fillStyle = "#7b8594";
  g.textAlign = "left";
  g.textBaseline = "middle";
  yticks.forEach((v, i) => {
    const y = Math.round(Y(v)) + 0.5;
    g.beginPath(); g.moveTo(left, y); g.lineTo(left + pw, y); g.stroke();
    g.fillText(ylabels[i], left + pw + 8, y);
  });
  const want = Math.max(2, Math.floor(pw / 95));
  const tstep = TIME_STEPS.find((s) => (t1 - t0) / s <= want) || TIME_STEPS[TIME_STEPS.length - 1];
  g.textAlign = "center";
  g.textBaseline = "top";
  for (let t = Math.ceil(t0 / tstep) * tstep; t <= t1; t += tstep) {
    const x = Math.round(X(t)) + 0.5;
    g.beginPath(); g.moveTo(x, top); g.lineTo(x, top + ph); g.stroke();
    g.fillText(clock(t, tstep < 60000), x, top + ph + 6);
  }
  if (opts.zero && v0 < 0 && v1 > 0) {
    g.strokeStyle = "#9aa3af";
    g.beginPath(); g.moveTo(left, Math.round(Y(0)) + 0.5); g.lineTo(left + pw, Math.round(Y(0)) + 0.5); g.stroke();
  }
  g.save();
  g.beginPath(); g.rect(left, top, pw, ph); g.clip();

  // open orders (a label only where it does not overlap the previous one)
  const labelled = [];
  for (const h of (opts.hlines || []).slice().sort((a, b) => b.v - a.v)) {
    const y = Math.round(Y(h.v)) + 0.5;
    g.strokeStyle = h.color; g.lineWidth = 1; g.setLineDash([5, 4]);
    g.beginPath(); g.moveTo(left, y); g.lineTo(left + pw, y); g.stroke();
    g.setLineDash([]);
    if (h.label && labelled.every((ly) => Math.abs(ly - y) >= 15)) {
      labelled.push(y);
      g.fillStyle = h.color; g.textAlign = "left"; g.textBaseline = "bottom";
      g.fillText(h.label, left + 4, y - 2);
    }
  }
  // bars: a box over each interval (a tenth left free each side), from low to high, 1 px at least
  for (const r of ranges) {
    g.fillStyle = r.color;
    for (const p of r.pts) {
      const x0 = X(p[0]), x1 = X(p[1]), gap = (x1 - x0) * 0.1, yh = Y(p[3]), yl = Y(p[2]);
      g.fillRect(x0 + gap, yh, Math.max(1, x1 - x0 - 2 * gap), Math.max(1, yl - yh));
    }
  }
  // lines
  for (const l of lines) {
    g.strokeStyle = l.color; g.lineWidth = l.width || 1.6; g.lineJoin = "round";
    g.setLineDash(l.dash || []);
    g.beginPath();
    l.pts.forEach((p, i) => (i ? g.lineTo(X(p[0]), Y(p[1])) : g.moveTo(X(p[0]), Y(p[1]))));
    g.stroke();
    if (l.pts.length === 1) {
      g.fillStyle = l.color;
      g.beginPath(); g.arc(X(l.pts[0][0]), Y(l.pts[0][1]), 3, 0, Math.PI * 2); g.fill();
    }
  }
  g.setLineDash([]);
  // fills
  for (const m of marks) {
    const x = X(m.t), y = Y(m.v), s = 5.5;
    g.beginPath();
    if (m.shape === "down") { g.moveTo(x - s, y - s); g.lineTo(x + s, y - s); g.lineTo(x, y + s * 0.6); }
    else { g.moveTo(x - s, y + s); g.lineTo(x + s, y + s); g.lineTo(x, y - s * 0.6); }
    g.closePath();
    g.fillStyle = m.color; g.fill();
    g.strokeStyle = "#fff"; g.lineWidth = 1; g.stroke();
  }
  g.restore();

  // hover: crosshair and the nearest point of each line
  const hx = canvas._hover;
  if (hx != null && hx >= left && hx <= left + pw) {
    const t = t0 + ((hx - left) / pw) * (t1 - t0);
    g.strokeStyle = "#9aa3af"; g.lineWidth = 1;
    g.beginPath(); g.moveTo(Math.round(hx) + 0.5, top); g.lineTo(Math.round(hx) + 0.5, top + ph); g.stroke();
    const rows = [clock(t, true)];
    for (const r of ranges) {
      const p = r.pts.find((q) => q[0] <= t && t < q[1]);
      if (p) rows.push((r.label || "") + " " + fmt(p[2]) + " – " + fmt(p[3]));
    }
    for (const l of lines) {
      let lo = 0, hi = l.pts.length - 1;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (l.pts[mid][0] < t) lo = mid + 1; else hi = mid; }
      const p = l.pts[lo];
      rows.push((l.label || "") + " " + fmt(p[1]));
      g.fillStyle = l.color;
      g.beginPath(); g.arc(X(p[0]), Y(p[1]), 3, 0, Math.PI * 2); g.fill();
    }
    const near = marks.filter((m) => Math.abs(X(m.t) - hx) < 6);
    for (const m of near.slice(0, 3)) rows.push(m.label || "");
    const bw = Math.max(...rows.map((r) => g.measureText(r).width)) + 14, bh = rows.length * 15 + 8;
    const bx = hx + bw + 12 > left + pw ? hx - bw - 8 : hx + 8;
    g.fillStyle = "rgba(23, 32, 44, .9)";
    g.fillRect(bx, top + 4, bw, bh);
    g.fillStyle = "#fff"; g.textAlign = "left"; g.textBaseline = "top";
    rows.forEach((r, i) => g.fillText(r, bx + 7, top + 8 + i * 15));
  }
}
