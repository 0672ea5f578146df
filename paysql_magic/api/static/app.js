// paysql-magic web page: POST /api/query, then the SQL, a table and (for a series or a breakdown) an SVG chart.
// Plain JS, no build step, no third-party code. Every value from the server is put in the page with textContent
// or as an attribute value (never innerHTML), so a merchant named "<script>" stays text. The page runs under
// Content-Security-Policy "script-src 'self'; style-src 'self'": no inline scripts, no style attributes.
"use strict";

(() => {
  const API_QUERY = "api/query"; // relative: works behind a reverse proxy that mounts the app under a prefix
  const KEY_STORAGE = "paysql.apiKey";
  const DISPLAY_ROWS = 1000; // rows put in the table (the API may return up to its row cap)
  const MAX_BARS = 40; // as paysql_magic/charts.py: more categories than this get no bar chart
  const TIME_COLUMNS = ["hour", "day", "week", "month", "quarter", "year", "date"];
  const ISO_TIME = /^\d{4}-\d{2}(-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?)?$/;
  // a date, or the start of a day (date_trunc('day', ...) gives timestamps at midnight)
  const MIDNIGHT = /^\d{4}-\d{2}(-\d{2}([T ]00:00(:00(\.0+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?)?$/;
  const SVG_NS = "http://www.w3.org/2000/svg";

  const $ = (id) => document.getElementById(id);
  const els = {
    form: $("ask-form"),
    question: $("question"),
    ask: $("ask"),
    busy: $("busy"),
    busyText: $("busy-text"),
    keyForm: $("key-form"),
    key: $("api-key"),
    keyClear: $("key-clear"),
    error: $("error"),
    result: $("result"),
    rowCount: $("row-count"),
    rowWord: $("row-word"),
    execMs: $("exec-ms"),
    llmMs: $("llm-ms"),
    provider: $("provider"),
    cached: $("cached"),
    truncated: $("truncated"),
    sql: $("sql"),
    chart: $("chart"),
    shown: $("shown"),
    table: $("table"),
  };

  let busy = false;
  let lastQuestion = "";
  let memoryKey = ""; // where the key lives when the browser refuses sessionStorage

  // ---- API key (asked for only after a 401/403; kept in sessionStorage: this tab only) ----

  function storedKey() {
    try {
      return sessionStorage.getItem(KEY_STORAGE) || memoryKey;
    } catch {
      return memoryKey;
    }
  }

  function storeKey(value) {
    memoryKey = value;
    try {
      if (value) sessionStorage.setItem(KEY_STORAGE, value);
      else sessionStorage.removeItem(KEY_STORAGE);
    } catch {
      /* storage disabled: the key lives in the field only */
    }
  }

  function showKeyForm() {
    els.keyForm.hidden = false;
    els.key.value = storedKey();
    els.key.focus();
  }

  // ---- Formatting ----

  function language(question) {
    return /[а-яё]/i.test(question || "") ? "ru" : "en";
  }

  function isMoney(column) {
    const name = String(column).toLowerCase();
    return name === "avg_amount" || name.startsWith("amount") || name.endsWith("_kzt") || name.includes("volume");
  }

  const formatters = new Map();
  function numberFormat(locale, options) {
    const key = locale + JSON.stringify(options);
    if (!formatters.has(key)) formatters.set(key, new Intl.NumberFormat(locale, options));
    return formatters.get(key);
  }

  function formatNumber(value, column, locale) {
    if (isMoney(column)) {
      return numberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value);
    }
    if (Number.isInteger(value)) return numberFormat(locale, { maximumFractionDigits: 0 }).format(value);
    return numberFormat(locale, { maximumFractionDigits: Math.abs(value) < 1 ? 4 : 2 }).format(value);
  }

  function formatAxis(value, locale) {
    if (Math.abs(value) >= 1e6) {
      return numberFormat(locale, { notation: "compact", maximumFractionDigits: 1 }).format(value);
    }
    return numberFormat(locale, { maximumFractionDigits: Math.abs(value) < 10 ? 2 : 0 }).format(value);
  }

  function formatCell(value, column, kind, locale) {
    if (value === null || value === undefined) return "NULL";
    if (kind === "number" && typeof value === "number") return formatNumber(value, column, locale);
    if (typeof value === "string") {
      if (kind === "date") return value.slice(0, 10);
      return kind === "time" ? value.replace("T", " ") : value;
    }
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function formatMs(value) {
    if (value === null || value === undefined || Number.isNaN(Number(value))) return "–";
    const ms = Number(value);
    return ms < 10 ? ms.toFixed(1) : numberFormat("en-US", { maximumFractionDigits: 0 }).format(ms);
  }

  // Days (dates, or timestamps that are all at midnight, as date_trunc('day', ...) gives) show as dates.
  function allMidnight(values) {
    return values.every((v) => v === null || v === undefined || MIDNIGHT.test(String(v)));
  }

  // A column's kind from its values: number, bool, time (ISO date/timestamp strings), text, or empty (all NULL).
  function columnKind(rows, column) {
    let kind = "empty";
    for (const row of rows) {
      const value = row[column];
      if (value === null || value === undefined) continue;
      let k;
      if (typeof value === "number") k = "number";
      else if (typeof value === "boolean") k = "bool";
      else if (typeof value === "string" && ISO_TIME.test(value)) k = "time";
      else k = "text";
      if (kind === "empty") kind = k;
      else if (kind !== k) return "text";
    }
    return kind;
  }

  // ---- Rendering ----

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function showError(code, detail) {
    clear(els.error);
    if (code) {
      const strong = document.createElement("strong");
      strong.textContent = code;
      els.error.append(strong, ": ");
    }
    els.error.append(detail || "the request failed");
    els.error.hidden = false;
  }

  function renderMeta(answer) {
    const count = Number(answer.row_count ?? (answer.data || []).length);
    els.rowCount.textContent = numberFormat("en-US", {}).format(count);
    els.rowWord.textContent = count === 1 ? "row" : "rows";
    els.execMs.textContent = formatMs(answer.execution_time_ms);
    els.llmMs.textContent = formatMs(answer.llm_time_ms);
    const provider = answer.provider ? String(answer.provider) : "none (reviewed SQL)";
    els.provider.textContent = answer.model ? `${provider} / ${answer.model}` : provider;
    els.cached.hidden = !answer.cached;
    els.truncated.hidden = !answer.truncated;
    els.truncated.textContent = answer.truncated
      ? `Truncated: the result stopped at the row cap (${els.rowCount.textContent} rows). ` +
        "Narrow the question to see all rows."
      : "";
  }

  function renderTable(columns, rows, kinds, locale) {
    const thead = els.table.tHead;
    const tbody = els.table.tBodies[0];
    clear(thead);
    clear(tbody);
    const head = document.createElement("tr");
    for (const column of columns) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = column;
      if (kinds[column] === "number") th.classList.add("num");
      if (kinds[column] === "number" && isMoney(column)) th.classList.add("money");
      head.append(th);
    }
    thead.append(head);

    const dateOnly = Object.fromEntries(
      columns.map((c) => [c, kinds[c] === "time" && allMidnight(rows.map((row) => row[c]))]),
    );
    const fragment = document.createDocumentFragment();
    for (const row of rows.slice(0, DISPLAY_ROWS)) {
      const tr = document.createElement("tr");
      for (const column of columns) {
        const td = document.createElement("td");
        const value = row[column];
        td.textContent = formatCell(value, column, dateOnly[column] ? "date" : kinds[column], locale);
        if (value === null || value === undefined) td.classList.add("null");
        else if (typeof value === "number") {
          td.classList.add("num");
          td.title = String(value);
        }
        tr.append(td);
      }
      fragment.append(tr);
    }
    tbody.append(fragment);

    els.shown.hidden = rows.length <= DISPLAY_ROWS;
    const count = (n) => numberFormat("en-US", {}).format(n);
    els.shown.textContent =
      rows.length > DISPLAY_ROWS ? `Showing the first ${count(DISPLAY_ROWS)} of ${count(rows.length)} rows.` : "";
  }

  function render(answer) {
    const rows = Array.isArray(answer.data) ? answer.data : [];
    const columns = Array.isArray(answer.columns) ? answer.columns.map(String) : Object.keys(rows[0] || {});
    const kinds = Object.fromEntries(columns.map((c) => [c, columnKind(rows, c)]));
    const question = answer.question || lastQuestion;
    const locale = language(question) === "ru" ? "ru-RU" : "en-US";

    renderMeta(answer);
    els.sql.textContent = answer.sql || "";
    renderTable(columns, rows, kinds, locale);
    renderChart(columns, rows, kinds, question, locale);
    els.result.hidden = false;
  }

  // ---- Charts: fixed rules over the result's shape, as paysql_magic/charts.py (never code from a model) ----
  // time series (a column named hour/day/week/month/quarter/year/date, or ISO dates) + numbers -> one line panel
  // per measure on a shared time axis; breakdown (exactly one text column + numbers, at most MAX_BARS rows) ->
  // horizontal bars of the first measure, largest on top; anything else -> no chart.

  function chartSpec(columns, rows, kinds) {
    if (rows.length === 0) return null;
    const time = columns.find((c) => TIME_COLUMNS.includes(c.toLowerCase()) || kinds[c] === "time");
    const numeric = columns.filter((c) => kinds[c] === "number");
    if (time !== undefined) {
      const measures = numeric.filter((c) => c !== time);
      return measures.length && rows.length > 1 ? { type: "line", x: time, measures } : null;
    }
    const others = columns.filter((c) => kinds[c] !== "number");
    if (others.length === 1 && numeric.length && rows.length <= MAX_BARS) {
      return { type: "bar", category: others[0], measure: numeric[0] };
    }
    return null;
  }

  function svg(name, attrs, parent) {
    const node = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (parent) parent.append(node);
    return node;
  }

  function svgText(parent, x, y, content, cls, anchor) {
    const node = svg("text", { x, y, class: cls || "", "text-anchor": anchor || "start" }, parent);
    node.textContent = content;
    return node;
  }

  function niceStep(range, count) {
    const raw = range / Math.max(count, 1);
    const power = 10 ** Math.floor(Math.log10(raw));
    const fraction = raw / power;
    const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
    return nice * power;
  }

  function niceScale(values, count) {
    let lo = Math.min(0, ...values);
    let hi = Math.max(0, ...values);
    if (lo === hi) hi = lo + 1;
    const step = niceStep(hi - lo, count);
    lo = Math.floor(lo / step) * step;
    hi = Math.ceil(hi / step) * step;
    const ticks = [];
    for (let t = lo; t <= hi + step / 2; t += step) ticks.push(Math.abs(t) < step / 1e6 ? 0 : t);
    return { lo, hi, ticks };
  }

  function columnLabel(column) {
    return isMoney(column) ? `${column}, KZT` : column;
  }

  function renderChart(columns, rows, kinds, question, locale) {
    clear(els.chart);
    els.chart.hidden = true;
    const spec = chartSpec(columns, rows, kinds);
    if (!spec) return;
    const node = spec.type === "line" ? lineChart(spec, rows, kinds, locale) : barChart(spec, rows, locale);
    const caption = document.createElement("figcaption");
    caption.textContent = question || "";
    els.chart.append(caption, node);
    els.chart.dataset.kind = spec.type;
    els.chart.hidden = false;
  }

  function timeLabel(value, dateOnly) {
    const text = String(value);
    if (!ISO_TIME.test(text)) return text;
    if (text.length <= 10 || dateOnly) return text.slice(0, 10);
    return `${text.slice(5, 10)} ${text.slice(11, 16)}`;
  }

  function lineChart(spec, rows, kinds, locale) {
    const width = 900;
    const left = 90;
    const right = 24;
    const panel = 170;
    const gap = 40;
    const bottom = 44;
    const xKind = kinds[spec.x];
    const points = rows
      .map((row) => {
        const raw = row[spec.x];
        let x;
        if (xKind === "time") x = Date.parse(String(raw).replace(" ", "T"));
        else if (typeof raw === "number") x = raw;
        return { raw, x, row };
      })
      .filter((p) => p.raw !== null && p.raw !== undefined);
    const numericX = points.every((p) => Number.isFinite(p.x));
    if (numericX) points.sort((a, b) => a.x - b.x);
    else points.forEach((p, i) => (p.x = i)); // categories (e.g. "Mon"): the server's order
    const xs = points.map((p) => p.x);
    const xLo = Math.min(...xs);
    const xHi = Math.max(...xs);
    const plotWidth = width - left - right;
    const sx = (x) => left + (xHi === xLo ? plotWidth / 2 : ((x - xLo) / (xHi - xLo)) * plotWidth);
    const dateOnly = allMidnight(points.map((p) => p.raw));

    const height = spec.measures.length * (panel + gap) + bottom + 12;
    const root = svg("svg", {
      viewBox: `0 0 ${width} ${height}`,
      class: "chart-svg line-chart",
      role: "img",
      "aria-label": `Line chart: ${spec.measures.join(", ")} by ${spec.x}`,
    });

    spec.measures.forEach((measure, index) => {
      const top = index * (panel + gap) + 30;
      const values = points.map((p) => p.row[measure]).filter((v) => typeof v === "number");
      if (!values.length) return;
      const scale = niceScale(values, 4);
      const sy = (v) => top + panel - ((v - scale.lo) / (scale.hi - scale.lo)) * panel;
      svgText(root, 8, top - 16, columnLabel(measure), "panel-label");
      for (const tick of scale.ticks) {
        svg("line", { x1: left, x2: width - right, y1: sy(tick), y2: sy(tick), class: "grid" }, root);
        svgText(root, left - 8, sy(tick) + 4, formatAxis(tick, locale), "tick", "end");
      }
      const coords = points
        .filter((p) => typeof p.row[measure] === "number")
        .map((p) => [sx(p.x), sy(p.row[measure]), p]);
      const path = coords.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
      svg("polyline", { points: path, class: `line s${index % 4}` }, root);
      if (coords.length <= 200) {
        for (const [x, y, p] of coords) {
          const dot = svg("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: 3, class: `dot s${index % 4}` }, root);
          const title = svg("title", {}, dot);
          title.textContent = `${timeLabel(p.raw, dateOnly)}: ${formatNumber(p.row[measure], measure, locale)}`;
        }
      }
    });

    // x ticks under the last panel: about seven of the data's own labels
    const axisY = spec.measures.length * (panel + gap) + 16;
    const step = Math.max(1, Math.ceil(points.length / 7));
    for (let i = 0; i < points.length; i += step) {
      const p = points[i];
      svgText(root, sx(p.x), axisY + 12, timeLabel(p.raw, dateOnly), "tick", "middle");
    }
    svgText(root, left + plotWidth / 2, axisY + 34, spec.x, "axis-label", "middle");
    return root;
  }

  function barChart(spec, rows, locale) {
    const width = 900;
    const labelWidth = 210;
    const valueWidth = 130;
    const barHeight = 22;
    const gap = 6;
    const top = 8;
    const data = rows
      .filter((row) => typeof row[spec.measure] === "number")
      .map((row) => ({ label: row[spec.category], value: row[spec.measure] }))
      .sort((a, b) => b.value - a.value); // largest on top
    const height = top + data.length * (barHeight + gap) + 40;
    const root = svg("svg", {
      viewBox: `0 0 ${width} ${height}`,
      class: "chart-svg bar-chart",
      role: "img",
      "aria-label": `Bar chart: ${spec.measure} by ${spec.category}`,
    });
    const plotLeft = labelWidth;
    const plotWidth = width - labelWidth - valueWidth;
    const scale = niceScale(
      data.map((d) => d.value),
      4,
    );
    const sx = (v) => plotLeft + ((v - scale.lo) / (scale.hi - scale.lo)) * plotWidth;
    const plotBottom = top + data.length * (barHeight + gap);
    for (const tick of scale.ticks) {
      svg("line", { x1: sx(tick), x2: sx(tick), y1: top - 4, y2: plotBottom, class: "grid" }, root);
      svgText(root, sx(tick), plotBottom + 14, formatAxis(tick, locale), "tick", "middle");
    }
    svgText(root, plotLeft + plotWidth / 2, plotBottom + 34, columnLabel(spec.measure), "axis-label", "middle");
    data.forEach((d, i) => {
      const y = top + i * (barHeight + gap);
      const label = d.label === null || d.label === undefined ? "NULL" : String(d.label);
      const shortLabel = label.length > 28 ? `${label.slice(0, 27)}…` : label;
      const value = formatNumber(d.value, spec.measure, locale);
      const group = svg("g", { class: "bar-row" }, root);
      svg("title", {}, group).textContent = `${label}: ${value}`; // the tooltip: the full label and value
      svgText(group, plotLeft - 8, y + barHeight / 2 + 4, shortLabel, "bar-label", "end");
      const width = Math.max(1, Math.abs(sx(d.value) - sx(0)));
      const x = sx(Math.min(0, d.value)).toFixed(1);
      svg("rect", { x, y, width: width.toFixed(1), height: barHeight, class: "bar" }, group);
      svgText(group, sx(Math.max(0, d.value)) + 6, y + barHeight / 2 + 4, value, "bar-value");
    });
    return root;
  }

  // ---- Asking ----

  function setBusy(on) {
    busy = on;
    els.ask.disabled = on;
    els.form.setAttribute("aria-busy", on ? "true" : "false");
    els.busy.hidden = !on;
    clearInterval(setBusy.timer);
    if (on) {
      const started = Date.now();
      els.busyText.textContent = "Working…";
      setBusy.timer = setInterval(() => {
        els.busyText.textContent = `Working… ${Math.round((Date.now() - started) / 1000)} s`;
      }, 1000);
    }
  }

  async function ask(question) {
    if (busy) return;
    question = question.trim();
    if (!question) {
      els.question.focus();
      return;
    }
    lastQuestion = question;
    els.error.hidden = true;
    setBusy(true);
    try {
      const headers = { "Content-Type": "application/json", Accept: "application/json" };
      const key = storedKey();
      if (key) headers["X-API-Key"] = key;
      let response;
      try {
        response = await fetch(API_QUERY, { method: "POST", headers, body: JSON.stringify({ question }) });
      } catch (err) {
        els.result.hidden = true;
        showError("network_error", `the server did not answer (${err.message})`);
        return;
      }
      const body = await response.text();
      let answer = null;
      try {
        answer = JSON.parse(body);
      } catch {
        answer = null;
      }
      if (!response.ok || !answer || answer.error) {
        els.result.hidden = true;
        const code = (answer && answer.error) || `HTTP ${response.status}`;
        let detail = (answer && answer.detail) || response.statusText || "the request failed";
        if (typeof detail !== "string") detail = JSON.stringify(detail);
        const retry = response.headers.get("Retry-After");
        if (response.status === 429 && retry && !/retry/i.test(detail)) {
          detail += ` (retry in ${retry} s)`;
        }
        if (response.status === 401 || response.status === 403) {
          showKeyForm();
          detail += key ? " — check the API key" : " — enter an API key";
        }
        showError(code, detail);
        return;
      }
      try {
        render(answer);
      } catch (err) {
        els.result.hidden = true;
        showError("display_error", `the answer could not be shown (${err.message})`);
      }
    } finally {
      setBusy(false);
    }
  }

  els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    ask(els.question.value);
  });

  els.question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      ask(els.question.value);
    }
  });

  for (const button of document.querySelectorAll("button.example")) {
    button.addEventListener("click", () => {
      els.question.value = button.textContent;
      ask(els.question.value);
    });
  }

  els.keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    storeKey(els.key.value.trim());
    if (lastQuestion) ask(lastQuestion);
  });

  els.keyClear.addEventListener("click", () => {
    storeKey("");
    els.key.value = "";
    els.keyForm.hidden = true;
  });

  if (storedKey()) {
    els.keyForm.hidden = false;
    els.key.value = storedKey();
  }
  els.question.focus();
})();
