/* The hdp portal: four hash-routed views over the JSON API (see /openapi.json).
 *
 * Money comes from the API as exact decimal strings ("123.45"); it is computed on as integer
 * cents and always shown with two decimals. Every fetch that fails, and every part /health
 * says is down, becomes a line of the banner, which clears when the part answers again.
 * Today follows /api/v1/stream (Server-Sent Events) and polls once a second while the
 * stream is not open. */
(function () {
  'use strict';

  const $ = (sel) => document.querySelector(sel);
  const TOKEN_KEY = 'hdp.token';

  /* ------------------------------------------------------------ formatting */

  /* "-1234.50" -> -123450 (integer cents, exact). */
  function cents(s) {
    const m = /^(-?)(\d+)\.(\d{2})$/.exec(String(s));
    if (!m) return NaN;
    const v = Number(m[2]) * 100 + Number(m[3]);
    return m[1] ? -v : v;
  }
  /* -123450 -> "-1,234.50" */
  function money(c) {
    if (!Number.isFinite(c)) return '—';
    const neg = c < 0;
    const a = Math.abs(c);
    const whole = Math.floor(a / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    const frac = String(a % 100).padStart(2, '0');
    return (neg ? '-' : '') + whole + '.' + frac;
  }
  const moneyStr = (s) => money(cents(s));
  const int = (n) => (Number.isFinite(n) ? n.toLocaleString('en-US') : '—');
  function bytes(n) {
    if (!Number.isFinite(n)) return '—';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
  }
  /* "2026-11-23T10:42:05.123Z" -> "10:42" (UTC), or with the day when it is not today. */
  function hhmm(iso, seconds) {
    const d = new Date(iso);
    if (isNaN(d)) return '—';
    const t = d.toISOString();
    const time = t.slice(11, seconds ? 19 : 16);
    return t.slice(0, 10) === todayUTC() ? time : t.slice(0, 10) + ' ' + time;
  }
  const stamp = (iso) => (iso ? String(iso).replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC') : '—');
  function ago(seconds) {
    if (!Number.isFinite(seconds)) return '—';
    const s = Math.max(0, Math.round(seconds));
    if (s < 90) return s + (s === 1 ? ' second' : ' seconds');
    const m = Math.round(s / 60);
    if (m < 90) return m + (m === 1 ? ' minute' : ' minutes');
    const h = Math.round(m / 60);
    if (h < 48) return h + (h === 1 ? ' hour' : ' hours');
    return Math.round(h / 24) + ' days';
  }
  const todayUTC = () => new Date().toISOString().slice(0, 10);
  function addDays(day, n) {
    const d = new Date(day + 'T00:00:00Z');
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }
  /* A DOM element: el('td', {class: 'num'}, 'text', child, ...). */
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'class') e.className = v;
      else if (k === 'style') e.style.cssText = v;
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
    return e;
  }
  const badge = (word) => el('span', {class: 'status ' + word}, word);

  /* ------------------------------------------------------------ banner */

  const problems = new Map(); /* source -> sentence */

  function setProblem(key, text) {
    if (text) problems.set(key, text);
    else problems.delete(key);
    const list = $('#banner-list');
    list.replaceChildren(...[...problems.values()].map((t) => el('li', null, t)));
    $('#banner').hidden = problems.size === 0;
    $('#token-form').hidden = !problems.has('token');
  }

  /* ------------------------------------------------------------ API */

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /* GET path as JSON. Rejects with an ApiError: status 0 when the server does not answer. */
  async function api(path) {
    const headers = {Accept: 'application/json'};
    const token = localStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = 'Bearer ' + token;
    let res;
    try {
      res = await fetch(path, {headers, cache: 'no-store'});
    } catch (e) {
      throw new ApiError(0, 'network', 'the hdp server does not answer');
    }
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
    if (res.status === 401) setProblem('token', 'The API needs a token (HDP_API_TOKEN): enter it below.');
    else if (res.ok) setProblem('token', null);
    if (!res.ok) {
      const err = (body && body.error) || {};
      throw new ApiError(res.status, err.code || 'http', err.message || 'HTTP ' + res.status);
    }
    return body;
  }
  const why = (e) => (e instanceof ApiError ? e.message + (e.status ? ' (' + e.status + ')' : '') : String(e));

  $('#token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    localStorage.setItem(TOKEN_KEY, $('#token').value.trim());
    setProblem('token', null);
    route();
  });

  /* ------------------------------------------------------------ health */

  async function checkHealth() {
    let h;
    try {
      const res = await fetch('/health', {cache: 'no-store'});
      h = await res.json();
    } catch (e) {
      setProblem('health', 'The hdp server does not answer: nothing below is current.');
      return;
    }
    setProblem('health', null);
    setProblem('redis', h.redis === 'down'
      ? 'The speed layer (Redis) is unreachable: revenue figures cannot be computed until it is back.' : null);
    setProblem('clickhouse', h.clickhouse === 'down'
      ? 'The batch layer (ClickHouse) is unreachable: figures come from the speed layer alone, while it still holds every segment.' : null);
    setProblem('speed', h.redis !== 'down' && h.speed && h.speed !== 'ok'
      ? 'The speed layer ' + (h.speed === 'fault' ? 'stopped on a fault' : 'lost its state') + ': ' +
        ((h.error && h.error.message) || 'see hdp status') : null);
  }

  /* ------------------------------------------------------------ charts */

  const charts = {};

  /* Draws points [{ts, revenue}] into #id as a uPlot chart (bars for hours). */
  function drawSeries(id, points, bars) {
    const box = document.getElementById(id);
    const xs = points.map((p) => Date.parse(p.ts) / 1000);
    const ys = points.map((p) => cents(p.revenue) / 100);
    if (points.length === 0) {
      if (charts[id]) { charts[id].destroy(); delete charts[id]; }
      box.replaceChildren(el('div', {class: 'empty'}, 'No orders yet today.'));
      return;
    }
    const width = Math.max(240, box.clientWidth || 600);
    if (charts[id]) {
      charts[id].setData([xs, ys]);
      return;
    }
    box.replaceChildren();
    const opts = {
      width, height: 220,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      legend: {show: false},
      cursor: {drag: {x: false, y: false}},
      // bars grow from zero (also when every hour is positive); a line may go below it
      scales: {x: {time: true}, y: {range: (u, lo, hi) => [Math.min(0, lo), Math.max(0, hi) * 1.05 || 1]}},
      axes: [
        {values: (u, vals) => vals.map((v) => new Date(v * 1000).toISOString().slice(11, 16))},
        {values: (u, vals) => vals.map((v) => money(Math.round(v * 100))),
          size: (u, vals) => 14 + 7 * Math.max(4, ...(vals || []).map((v) => v.length))},
      ],
      series: [{}, {
        label: 'net revenue', stroke: '#2457c5', width: 1.5,
        fill: bars ? '#2457c5aa' : '#2457c522',
        paths: bars ? uPlot.paths.bars({size: [0.7, 60]}) : undefined,
        points: {show: !bars && points.length < 60},
      }],
    };
    charts[id] = new uPlot(opts, [xs, ys], box);
  }
  window.addEventListener('resize', () => {
    for (const [id, c] of Object.entries(charts)) {
      const w = document.getElementById(id).clientWidth;
      if (w > 0) c.setSize({width: Math.max(240, w), height: 220});
    }
  });

  /* Rows with a background bar proportional to |revenue| (cents). */
  function barRows(tbody, items, name, valueOf) {
    const max = Math.max(1, ...items.map((i) => Math.abs(valueOf(i))));
    tbody.replaceChildren(...items.map((i) => el('tr', null,
      el('td', null, i[name]),
      el('td', {class: 'num'}, int(i.orders)),
      el('td', {class: 'num bar'},
        el('span', {class: 'fill', style: 'width:' + (100 * Math.abs(valueOf(i)) / max).toFixed(1) + '%'}),
        el('span', {class: 'txt'}, money(valueOf(i)))))));
    if (items.length === 0) tbody.replaceChildren(el('tr', null, el('td', {colspan: 3, class: 'muted'}, 'No orders yet today.')));
  }

  /* ------------------------------------------------------------ Today */

  let lastSummary = null, lastSummaryAt = null;

  /* Figures that can no longer be refreshed stay, greyed, with when they were received. */
  function markStale(stale) {
    $('.cards').classList.toggle('stale', stale);
    if (stale && lastSummary)
      $('#freshness').textContent = 'These are the last figures received (' + hhmm(lastSummaryAt, true) +
        ' UTC): they cannot be refreshed right now, see the banner above.';
  }

  function showSummary(r) {
    lastSummary = r;
    lastSummaryAt = new Date().toISOString();
    $('.cards').classList.remove('stale');
    $('#today-date').textContent = r.date || r.from;
    $('#net-revenue').textContent = moneyStr(r.revenue);
    $('#paid').textContent = moneyStr(r.paid);
    $('#refunded').textContent = moneyStr(r.refunded);
    $('#orders').textContent = int(r.orders);
    $('#refunds').textContent = int(r.refunds);
    $('#split').textContent = 'Batch part ' + moneyStr(r.batch.revenue) + ' (' + int(r.batch.orders) +
      ' orders) + live part ' + moneyStr(r.speed.revenue) + ' (' + int(r.speed.orders) + ' orders, ' +
      int(r.speed.segments) + ' segments)' + (r.watermark === null ? '' : '; watermark W = segment ' + r.watermark) + '.';
  }

  /* The batch/speed split in words, from the revenue answer and the pipeline's status. */
  function freshness(r, st) {
    const parts = [];
    const w = st && st.watermark;
    if (r.degraded) {
      parts.push('The batch layer is unreachable: every figure comes from the speed layer alone (still exact while it holds all of today).');
    } else if (r.watermark === null || !w || !w.covers_until) {
      parts.push('No batch run has been published yet: every figure today is live from the speed layer.');
    } else {
      const covers = Date.parse(w.covers_until);
      const live = (Date.now() - covers) / 1000;
      if (new Date(covers).toISOString().slice(0, 10) < (r.date || r.to)) {
        parts.push('The last batch run covers up to ' + hhmm(w.covers_until) + ' UTC, before today: every figure today is live from the speed layer.');
      } else {
        parts.push('Figures up to ' + hhmm(w.covers_until) + ' UTC come from the batch layer' +
          (Number.isFinite(w.age_seconds) ? ' (published ' + ago(w.age_seconds) + ' ago)' : '') +
          '; the last ' + ago(live) + ' are live from the speed layer.');
      }
    }
    const sp = st && st.speed;
    if (sp && Number.isFinite(sp.lag_seconds))
      parts.push(sp.lag_seconds < 2
        ? 'The speed layer is up to date with the shop (last commit applied ' + hhmm(sp.last_commit_at, true) + ' UTC).'
        : 'The newest change the speed layer applied was committed ' + ago(sp.lag_seconds) + ' ago (' + hhmm(sp.last_commit_at, true) + ' UTC).');
    return parts.join(' ');
  }

  let todayBusy = false, todayAgain = false;

  /* Fetches every part of Today; one refresh at a time, a request meanwhile runs once after. */
  async function refreshToday() {
    if (todayBusy) { todayAgain = true; return; }
    todayBusy = true;
    try {
      const [rev, minute, hour, cities, cats, st] = await Promise.allSettled([
        api('/api/v1/revenue'),
        api('/api/v1/revenue/timeseries?interval=minute'),
        api('/api/v1/revenue/timeseries?interval=hour'),
        api('/api/v1/revenue/by-city'),
        api('/api/v1/revenue/by-category'),
        api('/api/v1/pipeline/status'),
      ]);
      const failed = [rev, minute, hour, cities, cats].filter((p) => p.status === 'rejected');
      setProblem('today', failed.length ? "Today's figures are unavailable: " + why(failed[0].reason) : null);
      setProblem('status', st.status === 'rejected' ? 'The pipeline status is unavailable: ' + why(st.reason) : null);
      if (rev.status === 'fulfilled') {
        showSummary(rev.value);
        $('#freshness').textContent = freshness(rev.value, st.status === 'fulfilled' ? st.value : null);
      } else if (!lastSummary) {
        for (const id of ['#net-revenue', '#paid', '#refunded', '#orders', '#refunds']) $(id).textContent = '—';
        $('#freshness').textContent = 'The figures cannot be computed right now (see the banner above).';
      } else {
        markStale(true);
      }
      if (minute.status === 'fulfilled') drawSeries('chart-minute', minute.value.points, false);
      if (hour.status === 'fulfilled') drawSeries('chart-hour', hour.value.points, true);
      if (cities.status === 'fulfilled')
        barRows($('#top-cities tbody'), cities.value.cities.slice(0, 10), 'city', (c) => cents(c.revenue));
      if (cats.status === 'fulfilled')
        barRows($('#top-categories tbody'), cats.value.categories.slice(0, 10), 'category', (c) => cents(c.revenue));
      return failed.length === 0;
    } finally {
      todayBusy = false;
      if (todayAgain) { todayAgain = false; setTimeout(refreshToday, 0); }
    }
  }

  /* The live feed: an EventSource while it is open; polling every second while it is not
   * (never opened, closed on an error answer, or reconnecting). */
  let source = null, pollTimer = null;

  function startPolling() {
    if (pollTimer) return;
    pollTimer = setInterval(() => { if (currentView() === 'today') refreshToday(); }, 1000);
  }
  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }
  function connectStream() {
    if (!window.EventSource || localStorage.getItem(TOKEN_KEY)) { startPolling(); return; } /* no headers on EventSource */
    source = new EventSource('/api/v1/stream');
    source.onopen = () => stopPolling();
    source.addEventListener('summary', (ev) => {
      try { showSummary(JSON.parse(ev.data)); } catch (e) { /* the refetch below shows it */ }
      if (currentView() === 'today') refreshToday();
    });
    source.addEventListener('error', (ev) => {
      if (ev.data) { /* an error event of the stream: its body says what is wrong */
        let msg = 'unavailable';
        try { msg = JSON.parse(ev.data).error.message; } catch (e) { /* keep the word */ }
        setProblem('today', "Today's figures are unavailable: " + msg);
        markStale(true);
        return;
      }
      startPolling(); /* the connection itself failed: EventSource retries, we poll meanwhile */
      if (source.readyState === EventSource.CLOSED) {
        source = null;
        setTimeout(connectStream, 5000);
      }
    });
  }

  /* ------------------------------------------------------------ Average check */

  async function refreshAvg() {
    const from = $('#avg-from').value, to = $('#avg-to').value;
    if (!from || !to) return;
    $('#avg-note').textContent = 'Loading…';
    let r;
    try {
      r = await api('/api/v1/cities/average-check?from=' + encodeURIComponent(from) + '&to=' + encodeURIComponent(to));
      setProblem('avg', null);
    } catch (e) {
      const bad = e instanceof ApiError && e.status === 400;
      setProblem('avg', bad ? null : 'The average check is unavailable: ' + why(e));
      $('#avg-note').textContent = bad ? 'Cannot show that range: ' + e.message : 'Unavailable (see the banner above).';
      $('#avg-chart').replaceChildren();
      $('#avg-table tbody').replaceChildren();
      return;
    }
    const cities = r.cities;
    const top = cities.slice(0, 25); /* the chart: the highest averages; the table: all */
    $('#avg-note').textContent = cities.length
      ? 'Orders paid ' + (r.from === r.to ? 'on ' + r.from : 'from ' + r.from + ' to ' + r.to) + ' (UTC), ' +
        cities.length + ' cities' + (cities.length > top.length ? ' (the chart shows the ' + top.length + ' highest)' : '') + '; a later refund does not change what an order was paid.' + (r.degraded ? ' From the speed layer alone (batch unavailable).' : '')
      : 'No paid orders in this range.';
    const max = Math.max(1, ...top.map((c) => Math.abs(cents(c.average_check))));
    $('#avg-chart').replaceChildren(...top.map((c) => el('div', {class: 'hbar'},
      el('span', {class: 'name', title: c.city}, c.city),
      el('span', {class: 'track'}, el('span', {class: 'fill', style: 'display:block;width:' + (100 * Math.abs(cents(c.average_check)) / max).toFixed(1) + '%'})),
      el('span', {class: 'num'}, moneyStr(c.average_check)))));
    $('#avg-table tbody').replaceChildren(...cities.map((c) => el('tr', null,
      el('td', null, c.city),
      el('td', {class: 'num'}, moneyStr(c.average_check)),
      el('td', {class: 'num'}, int(c.orders)),
      el('td', {class: 'num'}, moneyStr(c.paid)))));
  }
  $('#avg-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams({from: $('#avg-from').value, to: $('#avg-to').value});
    if (location.hash !== '#average-check?' + q) location.hash = '#average-check?' + q;
    else refreshAvg();
  });

  /* ------------------------------------------------------------ Customer */

  function orderBlock(o) {
    const lines = o.lines.map((l) => el('tr', null,
      el('td', {class: 'num'}, l.line_no),
      el('td', {class: 'num'}, l.product_id),
      el('td', {class: 'num'}, int(l.quantity)),
      el('td', {class: 'num'}, moneyStr(l.unit_price)),
      el('td', {class: 'num'}, money(l.quantity * cents(l.unit_price)))));
    return el('article', {class: 'order', 'data-order-id': o.order_id},
      el('h3', null, el('span', null, 'Order ' + o.order_id), badge(o.status),
        el('span', {class: 'order-total num'}, moneyStr(o.total) + ' ' + o.currency),
        el('span', {class: 'muted'}, 'to ' + o.ship_city)),
      el('div', {class: 'when'}, 'placed ' + stamp(o.created_at) +
        (o.paid_at ? ' · paid ' + stamp(o.paid_at) : '') + (o.refunded_at ? ' · refunded ' + stamp(o.refunded_at) : '')),
      el('div', {class: 'scroll'}, el('table', {class: 'lines'},
        el('thead', null, el('tr', null, el('th', {class: 'num'}, 'Line'), el('th', {class: 'num'}, 'Product'),
          el('th', {class: 'num'}, 'Qty'), el('th', {class: 'num'}, 'Unit price'), el('th', {class: 'num'}, 'Amount'))),
        el('tbody', null, ...lines))),
      el('ol', {class: 'history'}, ...o.status_history.map((h) => el('li', null, h.status + ' — ' + stamp(h.at)))));
  }

  async function showCustomer(id) {
    const out = $('#customer-result');
    $('#customer-id').value = id;
    if (!/^\d+$/.test(id) || /^0+$/.test(id)) {
      out.replaceChildren(el('p', {class: 'message'}, '"' + id + '" is not a customer id (a positive whole number).'));
      return;
    }
    out.replaceChildren(el('p', {class: 'muted'}, 'Loading customer ' + id + '…'));
    let h;
    try {
      h = await api('/api/v1/users/' + id + '/history');
      setProblem('customer', null);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 400)) {
        setProblem('customer', null);
        out.replaceChildren(el('p', {class: 'message', id: 'customer-missing'},
          e.status === 404 ? 'No customer ' + id + '.' : 'Cannot look that up: ' + e.message));
      } else {
        setProblem('customer', 'Customer lookups are unavailable: ' + why(e));
        out.replaceChildren(el('p', {class: 'message'}, 'Customer ' + id + ' cannot be shown right now (see the banner above).'));
      }
      return;
    }
    let paid = 0, refunded = 0, npaid = 0;
    for (const o of h.orders) {
      if (o.paid_at) { paid += cents(o.total); npaid++; }
      if (o.refunded_at) refunded += cents(o.total);
    }
    out.replaceChildren(
      el('div', {class: 'customer-head'}, el('dl', null,
        el('dt', null, 'Customer'), el('dd', {id: 'customer-name'}, (h.name || '(no name)') + ' · #' + h.customer_id),
        el('dt', null, 'City now'), el('dd', {id: 'customer-city'}, h.city || '—'),
        el('dt', null, 'Orders'), el('dd', {id: 'customer-orders'}, int(h.orders.length)),
        el('dt', null, 'Paid'), el('dd', {id: 'customer-paid'}, money(paid) + ' (' + npaid + ' orders)'),
        el('dt', null, 'Refunded'), el('dd', {id: 'customer-refunded'}, money(refunded)),
        el('dt', null, 'Net'), el('dd', {id: 'customer-net'}, money(paid - refunded)))),
      ...(h.orders.length ? h.orders.map(orderBlock) : [el('p', {class: 'message'}, 'No orders yet.')]));
  }
  $('#customer-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = $('#customer-id').value.trim();
    if (location.hash !== '#customer/' + id) location.hash = '#customer/' + encodeURIComponent(id);
    else showCustomer(id);
  });

  /* ------------------------------------------------------------ Pipeline */

  function rows(tbody, list, cells, empty, span) {
    tbody.replaceChildren(...(list.length ? list.map((x) => el('tr', null, ...cells(x)))
      : [el('tr', null, el('td', {colspan: span, class: 'muted'}, empty))]));
  }

  async function refreshPipeline() {
    const [st, runs] = await Promise.allSettled([api('/api/v1/pipeline/status'), api('/api/v1/pipeline/runs?limit=10')]);
    setProblem('status', st.status === 'rejected' ? 'The pipeline status is unavailable: ' + why(st.reason) : null);
    setProblem('runs', runs.status === 'rejected' ? 'The run history is unavailable: ' + why(runs.reason) : null);
    if (st.status === 'fulfilled') {
      const s = st.value;
      $('#pipe-services').replaceChildren(...['source', 'dwh', 'redis', 'clickhouse'].map((k) =>
        el('span', null, k + ' ', badge(s[k]))));
      const w = s.watermark;
      $('#pipe-watermark').textContent = w && w.segment !== null && w.segment !== undefined
        ? 'Watermark W = segment ' + w.segment + ': batch figures are final up to ' + stamp(w.covers_until) +
          (Number.isFinite(w.age_seconds) ? ', published ' + ago(w.age_seconds) + ' ago.' : '.')
        : 'No batch run has published a watermark yet.';
      const sp = s.speed;
      $('#pipe-speed').textContent = sp
        ? 'Speed layer: ' + sp.status + (sp.fault ? ' (' + sp.fault + ')' : '') +
          (Number.isFinite(sp.lag_seconds) ? '; newest applied commit ' + ago(sp.lag_seconds) + ' ago.' : '.')
        : 'Speed layer: unknown (Redis does not answer).';
      rows($('#pipe-slots tbody'), s.slots, (x) => [el('td', null, x.slot), el('td', null, x.consumer),
        el('td', null, x.active ? 'yes' : 'no'), el('td', {class: 'num'}, bytes(x.lag_bytes))], 'No slot (the source does not answer?).', 4);
      const q = s.quarantine || {};
      rows($('#pipe-quarantine tbody'), ['speed', 'compact', 'vault'], (k) => [el('td', null, k),
        el('td', {class: 'num'}, orDash(q[k]))], '', 2);
      rows($('#pipe-lake tbody'), s.lake, (t) => [el('td', null, t.table), el('td', {class: 'num'}, t.complete_through),
        el('td', {class: 'num'}, int(t.rows)), el('td', {class: 'num'}, int(t.quarantined)),
        el('td', null, t.blocked ? 'segment ' + t.blocked.segment + ': ' + t.blocked.reason : '')], 'No lake table yet.', 5);
    }
    if (runs.status === 'fulfilled') {
      const list = runs.value.runs;
      $('#pipe-runs').replaceChildren(...(list.length ? list.map(runBlock) : [el('p', {class: 'muted'}, 'No run yet.')]));
    }
  }

  const orDash = (n) => (n === null || n === undefined ? '—' : int(n));

  /* One pipeline run with its tasks. */
  function runBlock(r) {
    const took = r.finished_at ? ', took ' + ago((Date.parse(r.finished_at) - Date.parse(r.started_at)) / 1000) : '';
    const head = el('tr', null, el('th', null, 'Task'), el('th', null, 'Status'), el('th', {class: 'num'}, 'Attempts'),
      el('th', {class: 'num'}, 'Rows'), el('th', {class: 'num'}, 'Quarantined'), el('th', null, 'Summary'));
    const tasks = r.tasks.map((t) => el('tr', null,
      el('td', null, t.task), el('td', null, badge(t.status)), el('td', {class: 'num'}, t.attempts),
      el('td', {class: 'num'}, orDash(t.rows)), el('td', {class: 'num'}, orDash(t.quarantined)),
      el('td', null, t.error ? el('span', {class: 'error'}, t.error) : (t.summary || ''))));
    return el('article', {class: 'run'},
      el('h3', null, el('span', null, 'Run ' + r.id + ' · ' + r.dag), badge(r.status),
        el('span', {class: 'muted'}, r.trigger + ', started ' + stamp(r.started_at) + took)),
      r.error ? el('p', {class: 'error'}, r.error) : null,
      el('div', {class: 'scroll'}, el('table', null, el('thead', null, head), el('tbody', null, ...tasks))));
  }

  /* ------------------------------------------------------------ routing */

  const VIEWS = ['today', 'average-check', 'customer', 'pipeline'];
  let viewTimer = null;

  function currentView() {
    const v = location.hash.replace(/^#/, '').split(/[/?]/)[0];
    return VIEWS.includes(v) ? v : 'today';
  }

  /* Shows the view the hash names and loads it; Pipeline refreshes every 5 s while shown. */
  function route() {
    const view = currentView();
    for (const s of document.querySelectorAll('.view')) s.hidden = s.dataset.view !== view;
    for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === view);
    clearInterval(viewTimer);
    viewTimer = null;
    for (const k of ['avg', 'customer', 'runs']) setProblem(k, null);
    if (view !== 'today' && view !== 'pipeline') setProblem('status', null);
    if (view !== 'today') setProblem('today', null);
    const hash = location.hash.replace(/^#/, '');
    if (view === 'today') {
      refreshToday();
      for (const c of Object.values(charts)) c.setSize({width: Math.max(240, c.root.parentNode.clientWidth), height: 220});
    } else if (view === 'average-check') {
      const q = new URLSearchParams(hash.split('?')[1] || '');
      $('#avg-from').value = q.get('from') || $('#avg-from').value || addDays(todayUTC(), -6);
      $('#avg-to').value = q.get('to') || $('#avg-to').value || todayUTC();
      refreshAvg();
    } else if (view === 'customer') {
      const id = decodeURIComponent(hash.split('/')[1] || '');
      if (id) showCustomer(id);
      else $('#customer-result').replaceChildren(el('p', {class: 'muted'}, 'Enter a customer id to see every order with its lines and status history.'));
    } else if (view === 'pipeline') {
      refreshPipeline();
      viewTimer = setInterval(refreshPipeline, 5000);
    }
  }

  window.addEventListener('hashchange', route);
  route();
  checkHealth();
  setInterval(checkHealth, 2000);
  /* a failed Today refresh is retried every second, whatever the stream does */
  setInterval(() => { if (currentView() === 'today' && problems.has('today') && !pollTimer) refreshToday(); }, 1000);
  connectStream();
})();
