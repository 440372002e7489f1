// Bảng điều khiển thi đua CĐS: no framework, nothing from the internet (Chart.js is served
// from /static/vendor).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { catalog: null, tier: null, period: null, block: "", unit: null, criterion: null,
  source: null, updates: 0, changes: new Map(), evidence: null, alertRule: "" };
const ROMAN = { 1: "I", 2: "II", 3: "III", 4: "IV" };
const TZ = "Asia/Ho_Chi_Minh";
const INT = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 0 });
const DEC = new Intl.NumberFormat("vi-VN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const FIG = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 2 });
const TIME = new Intl.DateTimeFormat("vi-VN", { timeZone: TZ, hour: "2-digit", minute: "2-digit", second: "2-digit" });
const DATETIME = new Intl.DateTimeFormat("vi-VN", { timeZone: TZ, day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit" });
const DAY = new Intl.DateTimeFormat("vi-VN", { timeZone: TZ, day: "2-digit", month: "2-digit", year: "numeric" });
const SEVERITY = { critical: ["Nghiêm trọng", "critical"], warning: ["Cảnh báo", "warning"], info: ["Thông tin", "info"] };
const RULES = {
  flow_below_target: "Chỉ tiêu 30 ngày qua dưới mức",
  stock_trend_misses_target: "Xu hướng không kịp chỉ tiêu",
  unit_silent: "Đơn vị không phát sinh dữ liệu",
  source_silent: "Hệ thống nguồn ngừng gửi",
  rank_drop: "Tụt hạng",
};
// What one item of a criterion's numerator is, for "cần thêm N …".
const NOUNS = {
  C01: "thủ tục", C02: "thủ tục", C03: "hồ sơ", C04: "công chức", C05: "lượt đánh giá hài lòng",
  C08: "CSDL", C09: "CSDL", C10: "hệ thống", C11: "văn bản", C12: "báo cáo", C13: "hồ sơ công việc",
  C14: "cuộc kiểm tra", C15: "CBCCVC", C16: "CBCCVC", C17: "người dân", C18: "người dân",
  C19: "học sinh", C20: "tuyến đường", C21: "hộ gia đình",
};
const PARTS = { all: "Tất cả", numerator: "Tử số", denominator_only: "Chỉ ở mẫu số" };

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
const none = (x) => x === null || x === undefined;
function pct(x, digits = 1) {
  return none(x) ? "—" : new Intl.NumberFormat("vi-VN", { style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits }).format(x);
}
function num(x) { return none(x) ? "—" : DEC.format(x); }
function count(x) { return none(x) ? "—" : Number.isInteger(x) ? INT.format(x) : FIG.format(x); }
function yesNo(c) { return none(c.value) ? "—" : c.value >= 1 ? "Có" : "Chưa"; }
function figure(c) { return c.boolean ? yesNo(c) : `${pct(c.value)} (${count(c.numerator)}/${count(c.denominator)})`; }
// A local day from an RFC 3339 time or a date (its own offset is +07:00): 1/7/2025.
function day(text) {
  if (!text) return "";
  const [y, m, d] = String(text).slice(0, 10).split("-");
  return `${Number(d)}/${Number(m)}/${y}`;
}
function periodLabel(p) {
  let m;
  if (p === "rolling-30d") return "30 ngày gần nhất";
  if ((m = /^(\d{4})-Q([1-4])$/.exec(p))) return `Quý ${ROMAN[m[2]]}/${m[1]}`;
  if ((m = /^phase-(\d{4})-(\d{4})$/.exec(p))) return `Giai đoạn ${m[1]}–${m[2]}`;
  if (/^\d{4}$/.test(p)) return `Năm ${p}`;
  return p;
}
function periodEnd(p) {
  let m;
  if ((m = /^(\d{4})-Q([1-4])$/.exec(p))) return Number(m[2]) === 4 ? `${Number(m[1]) + 1}-01-01` : `${m[1]}-${String(3 * m[2] + 1).padStart(2, "0")}-01`;
  if ((m = /^phase-\d{4}-(\d{4})$/.exec(p))) return `${Number(m[1]) + 1}-01-01`;
  if (/^\d{4}$/.test(p)) return `${Number(p) + 1}-01-01`;
  return null;
}
// "tạm tính" while the period has not ended: the answer's own `final` when it has one.
function isFinal(doc) {
  if (typeof doc.final === "boolean") return doc.final;
  const end = periodEnd(doc.period);
  return end !== null && new Date(`${end}T00:00:00+07:00`) <= new Date();
}
function query(params) {
  return Object.entries(params).filter(([, v]) => v !== "" && !none(v))
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
}
async function getJSON(path) {
  const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
    const error = new Error(detail); error.status = response.status; throw error;
  }
  return response.json();
}
const awardable = (p) => /^(\d{4}|phase-\d{4}-\d{4})$/.test(p);

// ----- catalog: periods may be plain ids or {id, plan_id, tiers:[{id, until…}]} ------------
function periodInfo(id) {
  const entry = state.catalog.periods.find((p) => (typeof p === "string" ? p : p.id) === id);
  return typeof entry === "object" && entry ? entry : { id };
}
function tierLabel(id) { return (state.catalog.tiers.find((t) => t.id === id) || { label: id }).label; }
function tierUntil(t) { return typeof t === "object" ? t.until || t.closes_at || t.closed_at || t.end || null : null; }

async function init() {
  const params = new URLSearchParams(location.search);
  state.catalog = await getJSON("/v1/catalog");
  const period = $("period");
  const started = state.catalog.periods.filter((p) => typeof p === "string" || p.started !== false);
  for (const p of started) {
    const id = typeof p === "string" ? p : p.id;
    period.add(new Option(periodLabel(id) + (p.final === false ? " (tạm tính)" : ""), id));
  }
  period.value = params.get("period") || defaultPeriod();
  fillTiers(params.get("tier"));
  state.block = params.get("block") || "";
  state.unit = params.get("unit");
  period.onchange = () => { fillTiers($("tier").value); state.block = ""; state.unit = null; select(); };
  $("tier").onchange = () => { state.block = ""; state.unit = null; select(); };
  $("block").onchange = () => { state.block = $("block").value; select(); };
  await select();
  setInterval(loadAlerts, 30000);
}

function defaultPeriod() {
  const ids = state.catalog.periods.map((p) => (typeof p === "string" ? p : p.id));
  const year = String(new Date().getFullYear());
  return ids.includes(year) ? year : ids[0];
}

// The tiers ranked in the period (from the catalog when it says), a closing date beside a
// tier that ends inside it ("Cấp huyện: đến 01/07/2025").
function fillTiers(wanted) {
  const info = periodInfo($("period").value);
  const tiers = Array.isArray(info.tiers) && info.tiers.length
    ? info.tiers.map((t) => (typeof t === "string" ? { id: t } : t))
    : state.catalog.tiers.map((t) => ({ id: t.id }));
  const select = $("tier");
  select.length = 0;
  const notes = [];
  for (const t of tiers) {
    const until = tierUntil(t);
    select.add(new Option((t.label || tierLabel(t.id)) + (until ? `: đến ${day(until)}` : ""), t.id));
    if (until) notes.push(`${t.label || tierLabel(t.id)}: đến ${day(until)}`);
  }
  select.value = tiers.some((t) => t.id === wanted) ? wanted : tiers[0].id;
  $("tiers-note").hidden = !notes.length;
  $("tiers-note").textContent = notes.length ? `Cấp được xếp hạng trong kỳ — ${notes.join("; ")}` : "";
}

async function select() {
  state.tier = $("tier").value;
  state.period = $("period").value;
  history.replaceState(null, "", "?" + query({ tier: state.tier, period: state.period, block: state.block, unit: state.unit }));
  const blocks = await getJSON("/v1/blocks?" + query({ tier: state.tier, period: state.period })).catch(() => ({ blocks: [] }));
  const blockSelect = $("block");
  blockSelect.length = 1;
  for (const b of blocks.blocks) blockSelect.add(new Option(b, b));
  blockSelect.value = blocks.blocks.includes(state.block) ? state.block : "";
  state.block = blockSelect.value;
  const q = query({ tier: state.tier, period: state.period, block: state.block });
  $("x-rank-csv").href = "/v1/exports/rankings.csv?" + query({ tier: state.tier, period: state.period, block: state.block, dialect: "excel-vn" });
  $("x-rank-xlsx").href = "/v1/exports/rankings.xlsx?" + q;
  $("x-card-xlsx").href = "/v1/exports/scorecards.xlsx?" + query({ tier: state.tier, period: state.period });
  $("x-dossier").href = "/v1/exports/award-dossier.xlsx?" + query({ period: state.period });
  $("x-dossier").hidden = !awardable(state.period);
  await loadMatrix();
  follow();
  loadAwards();
  loadAlerts();
  if (state.unit) showUnit(state.unit);
}

// ----- plan and finality -----------------------------------------------------------------
// The plan that scored the answer: "tạm tính" until the period ends, the provisional note.
function showPlan(doc) {
  const marks = [];
  if (!isFinal(doc)) marks.push('<span class="badge provisional">Tạm tính</span> kỳ chưa kết thúc, số liệu còn thay đổi.');
  if (doc.plan_provisional) marks.push(`<span class="badge warn">Chỉ tiêu tạm thời</span> ${esc(doc.plan_note || "")}`);
  const plan = $("plan");
  plan.innerHTML = marks.map((m) => `<div>${m}</div>`).join("");
  plan.dataset.plan = doc.plan_id || "";
  plan.hidden = !marks.length;
  $("plan-id").textContent = doc.plan_id ? `Kế hoạch: ${periodLabel(doc.plan_id)}` : "";
}

// ----- live ranking ----------------------------------------------------------------------
function follow() {
  if (state.source) state.source.close();
  const live = $("live");
  const source = new EventSource("/v1/stream/rankings?" + query({ tier: state.tier, period: state.period, block: state.block }));
  state.source = source;
  source.addEventListener("rankings", (event) => {
    renderRanking(JSON.parse(event.data));
    state.updates += 1;
    document.body.dataset.updates = String(state.updates);
    live.className = "live on";
    live.textContent = "Trực tiếp";
    if (state.updates > 1) loadMatrix();
    if (state.unit) showUnit(state.unit, true);
  });
  source.onerror = () => { live.className = "live off"; live.textContent = "Mất kết nối — đang thử lại…"; };
}

function change(unitId) {
  const delta = state.changes.get(unitId);
  if (none(delta)) return '<span class="delta none" title="Không có kỳ trước để so sánh">·</span>';
  if (delta > 0) return `<span class="delta up" title="Tăng ${delta} bậc so với kỳ trước">▲ ${delta}</span>`;
  if (delta < 0) return `<span class="delta down" title="Giảm ${-delta} bậc so với kỳ trước">▼ ${-delta}</span>`;
  return '<span class="delta same" title="Giữ nguyên thứ hạng">=</span>';
}

// A unit that closed inside the period: ranked as of its closing, its data then counts for
// its successor (SPEC §7.2).
function closed(item) {
  if (!item.closed_at) return "";
  const successor = item.successor_id ? ` → ${esc(item.successor_name || item.successor_id)}` : "";
  return ` <span class="closed" title="Đơn vị đã đóng; xếp hạng theo số liệu đến ngày đóng, không xét khen thưởng">đã đóng ${day(item.closed_at)}${successor}</span>`;
}

let previous = new Map();
function renderRanking(data) {
  const body = $("ranking").tBodies[0];
  showPlan(data);
  $("ranking-meta").textContent = `${periodLabel(data.period)} · ${INT.format(data.items.length)} đơn vị · cập nhật ${TIME.format(new Date(data.generated_at))}${isFinal(data) ? "" : " · tạm tính"}`;
  if (!data.items.length) {
    body.innerHTML = '<tr><td colspan="5" class="empty">Chưa có dữ liệu</td></tr>';
    previous = new Map();
    return;
  }
  const current = new Map();
  body.innerHTML = data.items.map((item) => {
    const key = `${item.rank}|${item.score}|${item.criteria_met}`;
    current.set(item.unit_id, key);
    const changed = previous.size && previous.get(item.unit_id) !== key ? " changed" : "";
    const selected = item.unit_id === state.unit ? " selected" : "";
    const missing = item.no_data.length ? `<span class="nodata" title="Chưa có dữ liệu: ${esc(item.no_data.join(", "))}">${INT.format(item.no_data.length)} tiêu chí chưa có dữ liệu</span>` : "";
    return `<tr data-unit="${esc(item.unit_id)}" class="${changed}${selected}">
      <td class="rank">${item.rank}</td>
      <td class="change">${change(item.unit_id)}</td>
      <td class="name"><span class="unit-title">${esc(item.name)}${closed(item)}</span>${missing}</td>
      <td class="score"><div class="scorebar"><span class="bar"><i style="width:${Math.max(0, Math.min(100, item.score))}%"></i></span><span>${num(item.score)}</span></div></td>
      <td class="met">${item.criteria_met}/${item.criteria_total}</td></tr>`;
  }).join("");
  previous = current;
  for (const row of body.rows) row.onclick = () => showUnit(row.dataset.unit);
}

// ----- heatmap (units × criteria) with rank changes ---------------------------------------
function attainmentClass(cell) {
  if (none(cell.value)) return "nodata";
  if (cell.met) return "met";
  return "below a" + Math.min(4, Math.floor(cell.attainment * 5));
}

async function loadMatrix() {
  let matrix;
  try {
    matrix = await getJSON("/v1/scorecards?" + query({ tier: state.tier, period: state.period, block: state.block }));
  } catch (error) {
    $("heatmap").innerHTML = `<tbody><tr><td class="empty">${esc(error.message)}</td></tr></tbody>`;
    return;
  }
  state.changes = new Map(matrix.items.map((i) => [i.unit_id, i.rank_change]));
  for (const row of $("ranking").tBodies[0].rows) {
    if (row.dataset.unit) row.cells[1].innerHTML = change(row.dataset.unit);
  }
  $("heatmap-meta").textContent = matrix.previous_period ? `thứ hạng so với ${periodLabel(matrix.previous_period)}` : "";
  const head = `<thead><tr><th class="unit">Đơn vị</th>${matrix.criteria.map((c) => `<th title="${esc(c.label)} — chỉ tiêu ${c.boolean ? "Có" : pct(c.target, 0)}">${esc(c.id)}</th>`).join("")}</tr></thead>`;
  const rows = matrix.items.map((item) => {
    const cells = item.cells.map((cell, i) => {
      const c = matrix.criteria[i];
      const shown = none(cell.value) ? "–" : cell.met ? "✓" : "✗";
      const value = c.boolean ? yesNo(cell) : pct(cell.value, 0);
      const title = `${c.id} ${c.label}: ${none(cell.value) ? "chưa có dữ liệu" : (c.boolean ? value : `${pct(cell.value)} (${count(cell.numerator)}/${count(cell.denominator)})`) + ` — chỉ tiêu ${c.boolean ? "Có" : pct(c.target, 0)} — ${cell.met ? "đạt" : "chưa đạt"}`}`;
      return `<td class="cell ${attainmentClass(cell)}" data-unit="${esc(item.unit_id)}" data-criterion="${esc(c.id)}" title="${esc(title)}"><b>${shown}</b><small>${none(cell.value) ? "" : esc(value)}</small></td>`;
    }).join("");
    return `<tr><th class="unit" data-unit="${esc(item.unit_id)}"><span class="r">${item.rank}</span> ${change(item.unit_id)} ${esc(item.name)}${closed(item)}</th>${cells}</tr>`;
  }).join("");
  $("heatmap").innerHTML = head + `<tbody>${rows || '<tr><td class="empty">Chưa có dữ liệu</td></tr>'}</tbody>`;
  for (const td of $("heatmap").querySelectorAll("td.cell")) td.onclick = () => { state.criterion = td.dataset.criterion; showUnit(td.dataset.unit); };
  for (const th of $("heatmap").querySelectorAll("th.unit[data-unit]")) th.onclick = () => showUnit(th.dataset.unit);
  document.body.dataset.matrix = String(Number(document.body.dataset.matrix || 0) + 1);
}

// ----- scorecard, evidence and trends ----------------------------------------------------
async function showUnit(unitId, quiet = false) {
  if (unitId !== state.unit) state.evidence = null;
  state.unit = unitId;
  for (const row of $("ranking").tBodies[0].rows) row.classList.toggle("selected", row.dataset.unit === unitId);
  if (!quiet) history.replaceState(null, "", "?" + query({ tier: state.tier, period: state.period, block: state.block, unit: unitId }));
  let card;
  try {
    card = await getJSON(`/v1/units/${encodeURIComponent(unitId)}/scorecard?` + query({ period: state.period }));
  } catch (error) {
    $("card").innerHTML = `<p class="empty">${error.status === 404 ? "Đơn vị chưa đăng ký trong kỳ này." : esc(error.message)}</p>`;
    return;
  }
  renderCard(card);
  if (!quiet) {
    loadTrend(unitId);
    if (state.criterion) loadCriterionTrend(unitId, state.criterion);
  }
}

function need(m) {
  if (m.reason === "no_data") return "chưa có dữ liệu";
  const criterion = state.catalog.criteria.find((c) => c.id === m.id);
  if (criterion && criterion.boolean) return "hiện: Chưa — cần: Có";
  const noun = NOUNS[m.id] || "đơn vị đo";
  const more = m.numerator_needed ? ` — cần thêm ${count(m.numerator_needed)} ${noun}` : "";
  return `đạt ${pct(m.value)} / chỉ tiêu ${pct(m.target, 0)}${more}`;
}

function renderCard(card) {
  const award = state.catalog.award;
  const rows = card.criteria.map((c) => {
    const value = none(c.value) ? 0 : Math.min(1, c.value);
    const status = none(c.value) ? ["none", "Chưa có dữ liệu"] : c.met ? ["met", "Đạt"] : ["below", "Chưa đạt"];
    const target = c.boolean ? "Có" : pct(c.target, 0);
    return `<div class="crit" data-criterion="${esc(c.id)}">
      <span class="id">${esc(c.id)}</span><span class="label">${esc(c.label)}</span>
      <span class="gauge-wrap"><div class="gauge" title="Giá trị ${esc(figure(c))} · chỉ tiêu ${target}"><i style="width:${value * 100}%"></i><b style="left:${c.target * 100}%"></b></div></span>
      <span class="figure">${esc(figure(c))}<br><small>chỉ tiêu ${target}</small></span>
      <span class="state ${status[0]}">${status[1]}</span>
      <span class="actions"><button type="button" class="link" data-evidence="${esc(c.id)}" title="Các hồ sơ, văn bản… được tính">Chi tiết</button>
      <button type="button" class="link" data-trend="${esc(c.id)}" title="Xu hướng theo quý">Xu hướng</button></span></div>`;
  }).join("");
  let missing;
  if (card.award_eligible) {
    missing = `<div class="missing ok">Đủ điều kiện đề nghị <strong>${esc(award)}</strong>.</div>`;
  } else if (!card.missing_for_award.length) {
    missing = `<div class="missing ok">Đạt mọi tiêu chí trong kỳ này.${card.awardable_period ? "" : " Khen thưởng xét theo năm và giai đoạn."}</div>`;
  } else {
    const items = card.missing_for_award.map((m) => `<li><strong>${esc(m.id)}</strong> ${esc(m.label)}: ${need(m)}</li>`).join("");
    missing = `<div class="missing"><strong>Còn thiếu để được khen thưởng</strong> (${esc(award)}):<ul>${items}</ul></div>`;
  }
  $("card").innerHTML = `<h3 class="unit-name">${esc(card.name)}${closed(card)}${isFinal(card) ? "" : ' <span class="badge provisional">Tạm tính</span>'}</h3>
    <div class="summary">
      <div>Điểm<strong>${num(card.score)}</strong></div>
      <div>Hạng<strong>${card.rank ?? "—"}</strong></div>
      <div>Tiêu chí đạt<strong>${card.criteria_met}/${card.criteria_total}</strong></div>
      <div>Kỳ<strong class="small">${esc(periodLabel(card.period))}</strong></div>
    </div>${rows}${missing}${renderIndex766(card.index_766)}`;
  for (const b of $("card").querySelectorAll("[data-evidence]")) b.onclick = () => { state.evidence = { criterion: b.dataset.evidence, part: "all", page: 1 }; loadEvidence(); };
  for (const b of $("card").querySelectorAll("[data-trend]")) b.onclick = () => { state.criterion = b.dataset.trend; loadCriterionTrend(state.unit, state.criterion); };
  if (state.evidence) loadEvidence();
}

// "Chỉ số 766 (tham khảo)": the national index's dossier rates, shown, never scored.
function renderIndex766(block) {
  if (!block) return "";
  const items = ["on_time", "digitised", "paid_online"].map((key) => {
    const r = block[key];
    const value = none(r.value) ? "chưa có dữ liệu" : `${pct(r.value)} (${count(r.numerator)}/${count(r.denominator)})`;
    return `<li>${esc(r.label)}: ${value}</li>`;
  }).join("");
  return `<div class="missing ok" id="index-766"><strong>${esc(block.label)}</strong> — không tính vào điểm<ul>${items}</ul></div>`;
}

async function loadEvidence() {
  const box = $("evidence");
  const ev = state.evidence;
  const params = { period: state.period, criterion: ev.criterion, part: ev.part, page: ev.page, page_size: 50 };
  let page;
  try {
    page = await getJSON(`/v1/units/${encodeURIComponent(state.unit)}/evidence?` + query(params));
  } catch (error) {
    box.hidden = false;
    box.innerHTML = `<p class="empty">${esc(error.message)}</p>`;
    return;
  }
  const fields = page.items.length ? Object.keys(page.items[0].fields) : [];
  const rows = page.items.map((i) => `<tr><td>${esc(i.id)}</td><td>${DATETIME.format(new Date(i.time))}</td>
    <td>${i.in_numerator ? "Có" : "Chưa"}</td><td>${i.in_denominator ? "Có" : "Chưa"}</td>
    <td>${fields.map((f) => `${esc(f)}: ${esc(fieldText(i.fields[f]))}`).join("<br>")}</td>
    <td>${INT.format(i.versions)}${i.superseded ? ` (${INT.format(i.superseded)} bị thay thế)` : ""}</td></tr>`).join("");
  const pages = Math.max(1, Math.ceil(page.total / page.page_size));
  const csv = `/v1/units/${encodeURIComponent(state.unit)}/evidence.csv?` + query({ period: state.period, criterion: ev.criterion, part: ev.part, dialect: "excel-vn" });
  box.hidden = false;
  box.innerHTML = `<h3>${esc(page.criterion.id)} — ${esc(page.criterion.label)}: tử số ${count(page.numerator)}, mẫu số ${count(page.denominator)}</h3>
    <div class="chips">${Object.entries(PARTS).map(([k, label]) => `<button type="button" class="chip${k === ev.part ? " on" : ""}" data-part="${k}">${label}</button>`).join("")}
    <a href="${csv}">Tải CSV</a> <button type="button" class="link" id="evidence-close">Đóng</button></div>
    <div class="hscroll"><table class="evidence"><thead><tr><th>Mã</th><th>Thời điểm</th><th>Tử số</th><th>Mẫu số</th><th>Trường quyết định</th><th>Phiên bản</th></tr></thead>
    <tbody>${rows || '<tr><td colspan="6" class="empty">Không có mục nào.</td></tr>'}</tbody></table></div>
    <p class="pager">${INT.format(page.total)} mục · trang ${page.page}/${pages}
    <button type="button" class="link" data-page="${page.page - 1}" ${page.page > 1 ? "" : "disabled"}>‹ Trước</button>
    <button type="button" class="link" data-page="${page.page + 1}" ${page.page < pages ? "" : "disabled"}>Sau ›</button></p>`;
  for (const b of box.querySelectorAll("[data-part]")) b.onclick = () => { ev.part = b.dataset.part; ev.page = 1; loadEvidence(); };
  for (const b of box.querySelectorAll("[data-page]")) b.onclick = () => { ev.page = Number(b.dataset.page); loadEvidence(); };
  $("evidence-close").onclick = () => { state.evidence = null; box.hidden = true; };
}
function fieldText(v) {
  if (typeof v === "boolean") return v ? "Có" : "Chưa";
  if (Array.isArray(v)) return v.length ? v.join(", ") : "—";
  if (typeof v === "number") return count(v);
  return v ?? "—";
}

const charts = {};
function chartIn(id, config) {
  if (charts[id]) charts[id].destroy();
  const box = $(id);
  box.hidden = false;
  box.innerHTML = `<canvas id="${id}-canvas" role="img" aria-label="${esc(config.label)}"></canvas>`;
  if (typeof Chart === "undefined") { box.innerHTML = '<p class="empty">Không tải được thư viện biểu đồ.</p>'; return null; }
  charts[id] = new Chart($(`${id}-canvas`), config.chart);
  return charts[id];
}
const BASE_OPTIONS = { animation: false, responsive: true, maintainAspectRatio: false, interaction: { mode: "index", intersect: false } };
const LEGEND = { labels: { boxWidth: 12, boxHeight: 8, font: { size: 11 } } };
const quarterTick = (p) => periodLabel(p).replace("Quý ", "");

async function loadTrend(unitId) {
  let trend;
  try { trend = await getJSON(`/v1/units/${encodeURIComponent(unitId)}/trend`); } catch (e) { $("trend").innerHTML = '<p class="empty">Chưa có dữ liệu</p>'; return; }
  const labels = trend.points.map((p) => quarterTick(p.period));
  chartIn("trend", {
    label: "Điểm và thứ hạng theo quý",
    chart: {
      type: "line",
      data: {
        labels,
        datasets: [
          { label: "Điểm", data: trend.points.map((p) => p.score), borderColor: "#2f6fb3", backgroundColor: "#2f6fb3", yAxisID: "y", spanGaps: true },
          { label: "Mục tiêu (đạt mọi chỉ tiêu = 100)", data: trend.points.map(() => 100), borderColor: "#1f8a4c", borderDash: [6, 4], pointRadius: 0, yAxisID: "y" },
          { label: "Hạng", data: trend.points.map((p) => p.rank), borderColor: "#c77700", backgroundColor: "#c77700", stepped: true, yAxisID: "rank", spanGaps: true },
        ],
      },
      options: {
        ...BASE_OPTIONS,
        scales: {
          y: { min: 0, max: 105, title: { display: true, text: "Điểm" }, ticks: { callback: (v) => INT.format(v) } },
          rank: { position: "right", reverse: true, min: 1, title: { display: true, text: "Hạng" }, grid: { drawOnChartArea: false }, ticks: { precision: 0 } },
        },
        plugins: { legend: LEGEND, tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${ctx.dataset.yAxisID === "rank" ? ctx.parsed.y : num(ctx.parsed.y)}` } } },
      },
    },
  });
}

async function loadCriterionTrend(unitId, criterion) {
  let trend;
  try { trend = await getJSON(`/v1/units/${encodeURIComponent(unitId)}/trend?` + query({ criterion })); } catch (e) { return; }
  $("crit-trend-title").hidden = false;
  $("crit-trend-title").textContent = `${trend.criterion.id} — ${trend.criterion.label}: giá trị theo quý so với chỉ tiêu`;
  chartIn("crit-trend", {
    label: `${trend.criterion.id} theo quý`,
    chart: {
      type: "line",
      data: {
        labels: trend.points.map((p) => quarterTick(p.period)),
        datasets: [
          { label: "Giá trị", data: trend.points.map((p) => (none(p.value) ? null : p.value * 100)), borderColor: "#2f6fb3", backgroundColor: "#2f6fb3", spanGaps: true },
          { label: "Chỉ tiêu", data: trend.points.map((p) => (none(p.target) ? null : p.target * 100)), borderColor: "#b3261e", borderDash: [6, 4], pointRadius: 0, stepped: true },
        ],
      },
      options: {
        ...BASE_OPTIONS,
        scales: { y: { min: 0, max: 100, ticks: { callback: (v) => `${INT.format(v)}%` } } },
        plugins: { legend: LEGEND, tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${pct(ctx.parsed.y / 100)}` } } },
      },
    },
  });
}

// ----- awards and alerts -----------------------------------------------------------------
async function loadAwards() {
  $("award-name").textContent = state.catalog.award;
  if (!awardable(state.period)) {
    $("awards").innerHTML = '<p class="empty">Khen thưởng chỉ xét theo năm và giai đoạn.</p>';
    return;
  }
  try {
    const awards = await getJSON("/v1/awards?" + query({ period: state.period, tier: state.tier }));
    const note = isFinal(awards) ? "" : '<p class="muted">Tạm tính: kỳ đánh giá chưa kết thúc.</p>';
    $("awards").innerHTML = note + (awards.items.length
      ? "<ul>" + awards.items.map((a) => `<li>${esc(a.name)} — ${num(a.score)} điểm</li>`).join("") + "</ul>"
      : '<p class="empty">Chưa có đơn vị đạt mọi tiêu chí.</p>');
  } catch (error) {
    $("awards").innerHTML = '<p class="empty">Khen thưởng chỉ xét theo năm và giai đoạn.</p>';
  }
}

// Firing alerts of the selected tier and block, grouped by rule with their counts.
async function loadAlerts() {
  try {
    const base = { state: "firing", tier: state.tier, block: state.block };
    const alerts = await getJSON("/v1/alerts?" + query({ ...base, rule: state.alertRule, limit: 200 }));
    const all = state.alertRule ? await getJSON("/v1/alerts?" + query({ ...base, limit: 1 })) : alerts;
    $("alerts-meta").textContent = `${INT.format(all.total)} đang bật · ${tierLabel(state.tier)}${state.block ? " · " + state.block : ""}`;
    const chips = Object.entries(all.counts.rule).map(([rule, n]) =>
      `<button type="button" class="chip${rule === state.alertRule ? " on" : ""}" data-rule="${esc(rule)}">${esc(RULES[rule] || rule)} <b>${INT.format(n)}</b></button>`).join("");
    $("alert-rules").innerHTML = chips;
    for (const b of $("alert-rules").querySelectorAll("[data-rule]")) b.onclick = () => { state.alertRule = state.alertRule === b.dataset.rule ? "" : b.dataset.rule; loadAlerts(); };
    const groups = new Map();
    for (const a of alerts.items) { if (!groups.has(a.rule)) groups.set(a.rule, []); groups.get(a.rule).push(a); }
    $("alerts").innerHTML = alerts.items.length ? [...groups].map(([rule, items], index) => `<details class="group" ${groups.size <= 3 || index === 0 ? "open" : ""}>
        <summary>${esc(RULES[rule] || rule)} <b>${INT.format(alerts.counts.rule[rule] || items.length)}</b></summary>
        ${items.slice(0, 50).map((a) => {
          const [label, cls] = SEVERITY[a.severity] || [a.severity, "info"];
          return `<div class="alert"><span class="sev ${cls}">${esc(label)}</span> <strong>${esc(a.unit_name)}</strong> ${esc(a.criterion)} — ${esc(a.summary)}
          <div class="muted">từ ${DATETIME.format(new Date(a.starts_at))}${a.silenced_by.length ? " · đã tạm tắt" : ""}</div></div>`;
        }).join("")}</details>`).join("")
      : '<p class="empty">Không có cảnh báo.</p>';
  } catch (error) {
    $("alerts").innerHTML = `<p class="empty">${esc(error.message)}</p>`;
  }
}

init().catch((error) => { $("ranking").tBodies[0].innerHTML = `<tr><td colspan="5" class="empty">${esc(error.message)}</td></tr>`; });
