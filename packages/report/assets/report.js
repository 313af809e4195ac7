// The report page's script, inlined by renderReport after uPlot. It draws every chart from the JSON block
// #report-data on one shared time axis, shades the fault windows on each, lines the charts' plot area up under
// the timeline's (an SVG drawn on the server, whose geometry is on its data attributes), draws the charts'
// cursor on the timeline, and marks each chart with what it drew (data-drawn, data-points) for the browser
// checks. A failure is never silent: it is logged with console.error and shown in place of the chart.
(() => {
  'use strict';

  const root = document.documentElement;
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const CHART_HEIGHT = 240;
  /** Without a timeline to line up with: the y axis's width and the room right of the plot. */
  const Y_AXIS_SIZE = 120;
  const RIGHT_PAD = 28;
  const tickLabel = new Map(data.ticks.map((t) => [t.t, t.label]));
  const tickTimes = data.ticks.map((t) => t.t);

  const pad = (n, w = 2) => String(n).padStart(w, '0');
  const clock = (ms) => {
    const d = new Date(ms);
    const base = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    return d.getUTCMilliseconds() ? `${base}.${pad(d.getUTCMilliseconds(), 3)}` : base;
  };
  // The same wording as the page's server-side text (format.ts: formatDuration, formatOffset).
  const duration = (ms) => {
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1).replace(/\.?0+$/, '')} s`;
    const s = Math.round(ms / 1000);
    if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
    const min = Math.round(s / 60);
    return `${Math.floor(min / 60)} h ${pad(min % 60)} min`;
  };
  const offset = (ms) => {
    const delta = ms - data.runStart;
    return delta < 0 ? `T−${duration(-delta)}` : `T+${duration(delta)}`;
  };

  /** A compact number: 0.25, 12.5, 1.2k, 3.4M. */
  const compact = (v) => {
    const a = Math.abs(v);
    if (a >= 1e9) return `${+(v / 1e9).toFixed(2)}G`;
    if (a >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
    if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
    if (a >= 100) return `${Math.round(v)}`;
    if (a >= 1 || a === 0) return `${+v.toFixed(2)}`;
    return `${+v.toPrecision(2)}`;
  };
  const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  const bytes = (v) => {
    let i = 0;
    let x = Math.abs(v);
    while (x >= 1024 && i < BYTE_UNITS.length - 1) {
      x /= 1024;
      i++;
    }
    return `${v < 0 ? '-' : ''}${+x.toFixed(x < 10 && i > 0 ? 1 : 0)} ${BYTE_UNITS[i]}`;
  };
  const formatValue = (unit, v) => {
    if (v == null) return '—';
    if (unit === 'bytes') return bytes(v);
    return unit ? `${compact(v)} ${unit}` : compact(v);
  };
  const formatTick = (unit, v) => (unit === 'bytes' ? bytes(v) : compact(v));

  const shade = (hex, alpha) =>
    hex +
    Math.round(alpha * 255)
      .toString(16)
      .padStart(2, '0');

  /** Fault windows under the grid and the lines (drawClear runs before both). */
  function shadeFaults(u) {
    const { ctx } = u;
    const { top, height } = u.bbox;
    const px = uPlot.pxRatio;
    ctx.save();
    for (const f of data.faults) {
      const x0 = u.valToPos(f.start, 'x', true);
      const x1 = u.valToPos(f.end, 'x', true);
      ctx.fillStyle = shade(f.color, 0.13);
      ctx.fillRect(x0, top, Math.max(x1 - x0, 2 * px), height);
      ctx.fillStyle = shade(f.color, 0.8);
      ctx.fillRect(x0, top, px, height);
      ctx.font = `600 ${10 * px}px system-ui, sans-serif`;
      ctx.textBaseline = 'top';
      ctx.fillText(String(f.n), x0 + 3 * px, top + 3 * px);
    }
    ctx.restore();
  }

  const svg = document.querySelector('svg.timeline-svg');
  const cursorLine = svg && svg.querySelector('.tl-cursor');
  const geometry = svg && {
    x0: Number(svg.dataset.x0),
    x1: Number(svg.dataset.x1),
    width: Number(svg.dataset.width),
  };

  /**
   * Where a chart's plot area must start and end inside its element (CSS px) to sit under the timeline's
   * time axis; the defaults when there is no timeline or it is not laid out.
   */
  function insets(el) {
    if (!geometry || !(geometry.width > 0)) return { left: Y_AXIS_SIZE, right: RIGHT_PAD };
    const s = svg.getBoundingClientRect();
    const e = el.getBoundingClientRect();
    if (!(s.width > 0) || !(e.width > 0)) return { left: Y_AXIS_SIZE, right: RIGHT_PAD };
    const k = s.width / geometry.width;
    const left = s.left + geometry.x0 * k - e.left;
    const right = e.right - (s.left + geometry.x1 * k);
    return left >= 40 && right >= 0 ? { left, right } : { left: Y_AXIS_SIZE, right: RIGHT_PAD };
  }

  function followCursor(u) {
    if (!cursorLine) return;
    const left = u.cursor.left;
    if (left == null || left < 0) {
      cursorLine.setAttribute('visibility', 'hidden');
      return;
    }
    const t = u.posToVal(left, 'x');
    const x = geometry.x0 + ((t - data.start) / (data.end - data.start)) * (geometry.x1 - geometry.x0);
    cursorLine.setAttribute('x1', String(x));
    cursorLine.setAttribute('x2', String(x));
    cursorLine.setAttribute('visibility', 'visible');
  }

  function makeChart(spec, el) {
    const tables = spec.series.map((s) => [s.points.map((p) => p[0]), s.points.map((p) => p[1])]);
    // join leaves alignment gaps undefined (bridged) and keeps the producer's nulls (real gaps in the line).
    const aligned = uPlot.join(tables);
    const fit = { ...insets(el) };

    const opts = {
      width: el.clientWidth,
      height: CHART_HEIGHT,
      // The plot ends under the timeline's axis end, which leaves room for the last time label.
      padding: [12, () => fit.right, 0, 0],
      ms: 1,
      cursor: { sync: { key: 'run' }, drag: { x: false, y: false }, points: { size: 7 } },
      scales: {
        x: { time: true, auto: false, range: [data.start, data.end] },
        y: { range: (u, min, max) => uPlot.rangeNum(Math.min(0, min), Math.max(max, 0), 0.1, true) },
      },
      series: [
        { label: 'time (UTC)', value: (u, v) => (v == null ? '—' : `${clock(v)} · ${offset(v)}`) },
        ...spec.series.map((s) => ({
          label: s.name,
          stroke: s.color,
          width: 2,
          value: (u, v) => formatValue(spec.unit, v),
        })),
      ],
      axes: [
        {
          splits: () => tickTimes,
          values: (u, splits) => splits.map((t) => tickLabel.get(t) ?? clock(t)),
          grid: { stroke: '#e5e7eb', width: 1 },
          ticks: { stroke: '#d1d5db', width: 1 },
          stroke: '#4b5563',
        },
        {
          size: () => fit.left,
          values: (u, splits) => splits.map((v) => formatTick(spec.unit, v)),
          grid: { stroke: '#e5e7eb', width: 1 },
          ticks: { stroke: '#d1d5db', width: 1 },
          stroke: '#4b5563',
        },
      ],
      hooks: {
        drawClear: [shadeFaults],
        draw: [
          (u) => {
            el.dataset.drawn = 'true';
            el.dataset.points = String(spec.points);
            const b = u.bbox;
            el.dataset.plot = [b.left, b.top, b.width, b.height].map(Math.round).join(',');
          },
        ],
        setCursor: [followCursor],
      },
    };
    el.replaceChildren();
    root.style.setProperty('--plot-left', `${fit.left}px`);
    return { el, fit, plot: new uPlot(opts, aligned, el) };
  }

  const drawn = [];
  for (const spec of data.charts) {
    const el = document.querySelector(`.chart[data-chart-id="${CSS.escape(spec.id)}"]`);
    if (!el) {
      console.error(`report: no element for chart ${spec.id}`);
      continue;
    }
    try {
      drawn.push(makeChart(spec, el));
    } catch (err) {
      el.dataset.drawn = 'false';
      el.dataset.error = 'true';
      const msg = document.createElement('div');
      msg.className = 'not-drawn';
      msg.textContent = `Chart not drawn: ${err && err.message ? err.message : String(err)}`;
      el.replaceChildren(msg);
      console.error(`report: chart ${spec.id} failed`, err);
    }
  }

  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const c of drawn) {
        Object.assign(c.fit, insets(c.el));
        c.plot.setSize({ width: c.el.clientWidth, height: CHART_HEIGHT });
      }
      if (drawn[0]) root.style.setProperty('--plot-left', `${drawn[0].fit.left}px`);
    }, 100);
  });

  for (const button of document.querySelectorAll('button[data-copy]')) {
    button.addEventListener('click', () => {
      const source = document.getElementById(button.dataset.copy);
      const text = source ? source.textContent : '';
      const done = (label) => {
        button.textContent = label;
        setTimeout(() => (button.textContent = 'Copy'), 1500);
      };
      // file:// pages may be refused the clipboard; then the text is selected for Ctrl+C instead.
      const fallback = () => {
        const range = document.createRange();
        range.selectNodeContents(source);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        done('Selected');
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(() => done('Copied'), fallback);
      } else {
        fallback();
      }
    });
  }

  root.dataset.reportReady = 'true';
})();
