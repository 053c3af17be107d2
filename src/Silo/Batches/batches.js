// The batches page: polls /batches/table and redraws the table in place, without reloading the page.
// Everything that comes from a batch reaches the page as text (textContent, attribute values), never as markup.
'use strict';

(() => {
  const refreshMs = 2000;
  // The ETA's rate: items settled over the last half minute of polls, from this page's own observations.
  const rateWindowMs = 30000;
  // Two polls closer than this make a wild rate (a burst of answers): no ETA until the span is longer.
  const minRateSpanMs = 1500;

  const after = new URLSearchParams(location.search).get('after');
  const numbers = new Intl.NumberFormat('en-US');
  const samples = new Map(); // batch id -> [{ at, settled }], for the ETA
  const rows = new Map(); // batch id -> its <tr>, kept between polls so the bars move rather than flash

  const byId = id => document.getElementById(id);
  const text = (node, value) => { node.textContent = value; return node; };
  const element = (tag, className) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    return node;
  };

  // One entry per column: its heading and what fills its cell. A new column is one more entry.
  const columns = [
    { title: 'Batch', className: 'id', fill: (td, b) => text(td, b.id) },
    // An API batch's tenant; a batch the CLI submitted has none.
    { title: 'Tenant', className: 'tenant', fill: (td, b) => text(td, b.tenant ?? '—') },
    { title: 'Created', className: 'created', fill: (td, b) => fillCreated(td, b) },
    { title: 'Status', className: 'status', fill: (td, b) => fillStatus(td, b) },
    { title: 'Progress', className: 'progress', fill: (td, b) => fillProgress(td, b) },
    { title: 'Tokens', className: 'tokens', fill: (td, b) => fillTokens(td, b) },
    { title: 'ETA', className: 'eta', fill: (td, b) => text(td, eta(b)) },
    { title: 'Files', className: 'files', fill: (td, b) => fillFiles(td, b) },
  ];

  // In UTC, as the silos log and the CLI prints times.
  const utc = date => `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;

  function fillCreated(td, b) {
    text(td, utc(new Date(b.created)));
  }

  function fillStatus(td, b) {
    td.dataset.status = b.status;
    const badge = td.firstChild || td.appendChild(element('span'));
    text(badge, b.status.replace('_', ' '));
    td.title = b.waitingForModel ? `waiting: no silo serves model ${b.waitingForModel}` : `priority ${b.priority}`;
  }

  // The bar's four parts, in the legend's order, and the figures under it.
  const parts = [
    { className: 'done', count: b => b.done, label: 'done' },
    { className: 'dead', count: b => b.deadLettered, label: 'dead-lettered' },
    { className: 'inflight', count: b => b.inFlight, label: 'in flight' },
    { className: 'queued', count: b => b.queued, label: 'queued' },
  ];

  function fillProgress(td, b) {
    if (!td.firstChild) {
      const bar = td.appendChild(element('div', 'bar'));
      parts.forEach(p => bar.appendChild(element('span', p.className)));
      td.appendChild(element('div', 'figures'));
    }

    const [bar, figures] = td.children;
    parts.forEach((p, i) => { bar.children[i].style.width = share(p.count(b), b.total); });
    const counts = parts.map(p => `${numbers.format(p.count(b))} ${p.label}`);
    if (b.removed > 0) counts.push(`${numbers.format(b.removed)} ${b.status === 'expired' ? 'expired' : 'cancelled'}`);
    // Under the bar, the parts there are; over it (its title), all four.
    const shown = counts.filter((_, i) => i === 0 || i >= parts.length || parts[i].count(b) > 0);
    text(figures, `${percent(b.done + b.deadLettered, b.total)} of ${numbers.format(b.total)} · ${shown.join(' · ')}`);
    bar.title = counts.join(', ');
    for (const [name, value] of Object.entries({ total: b.total, done: b.done, dead: b.deadLettered, inflight: b.inFlight, queued: b.queued })) {
      bar.dataset[name] = String(value);
    }
  }

  function fillTokens(td, b) {
    td.replaceChildren(
      document.createTextNode(numbers.format(b.promptTokens + b.completionTokens)),
      text(element('span', 'small'), `${numbers.format(b.promptTokens)} prompt + ${numbers.format(b.completionTokens)} completion`));
  }

  function fillFiles(td, b) {
    const base = `/batches/${encodeURIComponent(b.id)}`;
    td.replaceChildren(
      b.done > 0 ? link(`${base}/output.jsonl`, 'output', `output (${numbers.format(b.done)})`) : text(element('span', 'muted'), 'no output'),
      b.deadLettered > 0 ? link(`${base}/errors.jsonl`, 'errors', `errors (${numbers.format(b.deadLettered)})`) : text(element('span', 'muted'), 'no errors'));
  }

  function link(href, className, label) {
    const a = text(element('a', className), label);
    a.href = href;
    a.download = '';
    return a;
  }

  const share = (count, total) => `${total > 0 ? Math.min(100, (100 * count) / total) : 0}%`;
  const percent = (count, total) => `${total > 0 ? Math.floor((100 * count) / total) : 0}%`;

  // Time left at the rate this page saw over its window; '—' until it has seen the batch move, and for a batch not running.
  function eta(b) {
    if (b.status !== 'in_progress') {
      samples.delete(b.id);
      return '—';
    }

    const now = performance.now();
    const seen = samples.get(b.id) || [];
    seen.push({ at: now, settled: b.done + b.deadLettered });
    while (seen.length > 2 && now - seen[0].at > rateWindowMs) seen.shift();
    samples.set(b.id, seen);
    const first = seen[0];
    const span = now - first.at;
    const rate = span >= minRateSpanMs ? (b.done + b.deadLettered - first.settled) / span : 0;
    const left = b.total - b.done - b.deadLettered - b.removed;
    return rate > 0 && left > 0 ? duration(left / rate / 1000) : '—';
  }

  function duration(seconds) {
    const s = Math.ceil(seconds);
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
    return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  }

  function render(table) {
    const body = document.querySelector('#batches tbody');
    const listed = new Set();
    for (const b of table.batches) {
      listed.add(b.id);
      let tr = rows.get(b.id);
      if (!tr) {
        tr = element('tr');
        tr.dataset.batch = b.id;
        columns.forEach(c => tr.appendChild(element('td', c.className)));
        rows.set(b.id, tr);
      }

      columns.forEach((c, i) => c.fill(tr.children[i], b));
      body.appendChild(tr); // in the table's order: newest first
    }

    for (const [id, tr] of rows) {
      if (!listed.has(id)) {
        tr.remove();
        rows.delete(id);
        samples.delete(id);
      }
    }

    const shown = table.batches.length;
    const where = table.after ? `older than ${table.after}` : 'newest first';
    text(byId('summary'), `${numbers.format(table.total)} batches; ${numbers.format(shown)} shown, ${where} · updated ${utc(new Date()).slice(11)}`);
    byId('empty').hidden = shown > 0;
    byId('newest').hidden = !table.after;
    const older = byId('older');
    older.hidden = !table.nextCursor;
    if (table.nextCursor) older.href = `/batches?after=${encodeURIComponent(table.nextCursor)}`;
  }

  async function refresh() {
    try {
      const response = await fetch(`/batches/table${after ? `?after=${encodeURIComponent(after)}` : ''}`, { cache: 'no-store' });
      if (!response.ok) {
        throw new Error((await response.text()) || `the silo answered HTTP ${response.status}`);
      }

      render(await response.json());
      byId('problem').hidden = true;
    } catch (error) {
      const problem = byId('problem');
      text(problem, `Not refreshed: ${error.message} Trying again every ${refreshMs / 1000} s.`);
      problem.hidden = false;
    } finally {
      setTimeout(refresh, refreshMs);
    }
  }

  const heading = document.querySelector('#batches thead tr');
  columns.forEach(c => heading.appendChild(text(element('th', c.className), c.title)));
  refresh();
})();
