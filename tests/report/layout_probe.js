// Measures a report page as Chromium lays it out. layout_check.py puts this
// script into a copy of the page (the pages themselves carry no script);
// it writes what it found as JSON into <pre id="layout-probe">, which
// Chromium's --dump-dom hands back.
//
// Problems it reports:
//  (a) an SVG path that draws nothing: its d has no segment after its
//      moveto (one point; a line through a single point is invisible);
//  (b) a legend label whose box lies outside its SVG's viewBox, a legend
//      swatch that is not just left of its own label, legend entries that
//      overlap, and any other chart text that is outside its chart;
//  (c) a table wider than the column of the section (or main) holding it.
(function () {
  'use strict';
  const problems = [];
  const counts = { paths: 0, legend_labels: 0, texts: 0, tables: 0 };
  const SLACK = 0.5; // pixels of rounding allowed

  function where(el) {
    const section = el.closest('section');
    const svg = el.closest('svg');
    const title = svg && svg.querySelector('title');
    let s = section && section.id ? 'section #' + section.id : 'the page';
    if (title) s += ', chart "' + title.textContent + '"';
    return s;
  }

  // Whether a path's d draws a segment: a command other than moveto, or a
  // moveto followed by more than one coordinate pair (implicit lineto).
  function drawsSegment(d) {
    const commands = d.match(/[a-df-z][^a-df-z]*/gi) || [];
    for (const c of commands) {
      const letter = c[0];
      if (letter !== 'M' && letter !== 'm') return true;
      const numbers = c.slice(1).match(/[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?/gi) || [];
      if (numbers.length > 2) return true;
    }
    return false;
  }

  for (const path of document.querySelectorAll('svg path')) {
    counts.paths++;
    const d = path.getAttribute('d') || '';
    if (!drawsSegment(d))
      problems.push('(a) path with a single point, d="' + d.slice(0, 60) + '" in ' + where(path));
  }

  function outside(b, x0, y0, x1, y1) {
    return b.x < x0 - SLACK || b.y < y0 - SLACK || b.x + b.width > x1 + SLACK ||
      b.y + b.height > y1 + SLACK;
  }

  function describe(b) {
    return 'x ' + b.x.toFixed(1) + '..' + (b.x + b.width).toFixed(1) + ', y ' + b.y.toFixed(1) +
      '..' + (b.y + b.height).toFixed(1);
  }

  function checkLegend(svg) {
    const vb = svg.viewBox.baseVal;
    const boxes = [];
    for (const entry of svg.querySelectorAll('.legend-entry')) {
      const label = entry.querySelector('text');
      if (!label) continue;
      counts.legend_labels++;
      const b = label.getBBox();
      if (outside(b, vb.x, vb.y, vb.x + vb.width, vb.y + vb.height))
        problems.push('(b) legend label "' + label.textContent + '" at ' + describe(b) +
          ' is outside the viewBox 0..' + vb.width + ' x 0..' + vb.height + ' in ' + where(svg));
      let swatchRight = -Infinity, swatchMid = NaN;
      for (const child of entry.children) {
        if (child === label) continue;
        const s = child.getBBox();
        swatchRight = Math.max(swatchRight, s.x + s.width);
        swatchMid = s.y + s.height / 2;
      }
      const gap = b.x - swatchRight;
      if (!(gap >= 0 && gap <= 12) || !(swatchMid >= b.y && swatchMid <= b.y + b.height))
        problems.push('(b) the swatch of legend label "' + label.textContent +
          '" is not just left of it (gap ' + gap.toFixed(1) + ' px) in ' + where(svg));
      for (const other of boxes)
        if (b.x < other.b.x + other.b.width && other.b.x < b.x + b.width &&
            b.y < other.b.y + other.b.height && other.b.y < b.y + b.height)
          problems.push('(b) legend labels "' + other.name + '" and "' + label.textContent +
            '" overlap in ' + where(svg));
      boxes.push({ b: b, name: label.textContent });
    }
  }

  // Any other text: its box on the screen within the chart's box.
  function checkTexts(svg) {
    const frame = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll('text')) {
      counts.texts++;
      const r = t.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < frame.left - 1 || r.right > frame.right + 1 || r.top < frame.top - 1 ||
          r.bottom > frame.bottom + 1)
        problems.push('(b) chart text "' + t.textContent.slice(0, 40) + '" reaches outside its chart in ' +
          where(svg));
    }
  }

  for (const svg of document.querySelectorAll('svg')) {
    checkLegend(svg);
    checkTexts(svg);
  }

  for (const table of document.querySelectorAll('table')) {
    counts.tables++;
    const box = table.closest('section') || table.closest('main') || document.body;
    const style = getComputedStyle(box);
    const column = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const width = Math.max(table.getBoundingClientRect().width, table.scrollWidth);
    if (width > column + 1) {
      const caption = table.querySelector('caption, th');
      problems.push('(c) table "' + (caption ? caption.textContent.slice(0, 50) : '') + '" is ' +
        width.toFixed(0) + ' px wide, its column ' + column.toFixed(0) + ' px, in ' + where(table));
    }
  }

  const pre = document.createElement('pre');
  pre.id = 'layout-probe';
  pre.textContent = JSON.stringify({ problems: problems, counts: counts });
  document.body.appendChild(pre);
})();
