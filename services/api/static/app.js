// Bảng điều khiển thi đua CĐS: no framework, no asset from the internet.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { catalog: null, tier: null, period: null, block: "", unit: null, source: null, updates: 0 };
const ROMAN = { 1: "I", 2: "II", 3: "III", 4: "IV" };

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function pct(x, digits = 1) {
  return x === null || x === undefined ? "—" : (x * 100).toFixed(digits).replace(".", ",") + "%";
}
function num(x, digits = 2) {
  return x === null || x === undefined ? "—" : Number(x).toFixed(digits).replace(".", ",");
}
function periodLabel(p) {
  let m;
  if (p === "rolling-30d") return "30 ngày gần nhất";
  if ((m = /^(\d{4})-Q([1-4])$/.exec(p))) return `Quý ${ROMAN[m[2]]}/${m[1]}`;
  if ((m = /^phase-(\d{4})-(\d{4})$/.exec(p))) return `Giai đoạn ${m[1]}–${m[2]}`;
  if (/^\d{4}$/.test(p)) return `Năm ${p}`;
  return p;
}
function query(params) {
  return Object.entries(params).filter(([, v]) => v !== "" && v !== null && v !== undefined)
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

// ----- selectors -------------------------------------------------------------------------
async function init() {
  const params = new URLSearchParams(location.search);
  state.catalog = await getJSON("/v1/catalog");
  const tier = $("tier"), period = $("period");
  for (const t of state.catalog.tiers) tier.add(new Option(t.label, t.id));
  for (const p of state.catalog.periods) period.add(new Option(periodLabel(p), p));
  tier.value = params.get("tier") || state.catalog.tiers[0].id;
  period.value = params.get("period") || defaultPeriod(state.catalog.periods);
  state.block = params.get("block") || "";
  state.unit = params.get("unit");
  tier.onchange = period.onchange = () => { state.block = ""; state.unit = null; select(); };
  $("block").onchange = () => { state.block = $("block").value; select(); };
  await select();
  loadAlerts();
  setInterval(loadAlerts, 30000);
}

function defaultPeriod(periods) {
  const year = String(new Date().getFullYear());
  return periods.includes(year) ? year : periods[0];
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
  $("x-rank-csv").href = "/v1/exports/rankings.csv?" + q;
  $("x-rank-xlsx").href = "/v1/exports/rankings.xlsx?" + q;
  $("x-card-xlsx").href = "/v1/exports/scorecards.xlsx?" + query({ tier: state.tier, period: state.period });
  $("x-dossier").href = "/v1/exports/award-dossier.xlsx?" + query({ period: state.period });
  $("x-dossier").hidden = !awardable(state.period);
  follow();
  loadAwards();
  if (state.unit) showUnit(state.unit);
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
    if (state.unit) showUnit(state.unit, true);
  });
  source.onerror = () => { live.className = "live off"; live.textContent = "Mất kết nối — đang thử lại…"; };
}

let previous = new Map();
function renderRanking(data) {
  const body = $("ranking").tBodies[0];
  $("ranking-meta").textContent = `${periodLabel(data.period)} · ${data.items.length} đơn vị · cập nhật ${new Date(data.generated_at).toLocaleTimeString("vi-VN")}`;
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
    return `<tr data-unit="${esc(item.unit_id)}" class="${changed}${selected}">
      <td class="rank">${item.rank}</td>
      <td>${esc(item.name)}</td>
      <td class="score"><div class="scorebar"><span class="bar"><i style="width:${Math.max(0, Math.min(100, item.score))}%"></i></span><span>${num(item.score)}</span></div></td>
      <td>${item.criteria_met}/${item.criteria_total}</td>
      <td class="nodata">${item.no_data.length ? esc(item.no_data.join(", ")) : ""}</td></tr>`;
  }).join("");
  previous = current;
  for (const row of body.rows) row.onclick = () => showUnit(row.dataset.unit);
}

// ----- scorecard and trend ---------------------------------------------------------------
async function showUnit(unitId, quiet = false) {
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
  if (!quiet) loadTrend(unitId);
}

function renderCard(card) {
  const award = state.catalog.award;
  const rows = card.criteria.map((c) => {
    const value = c.value === null ? 0 : Math.min(1, c.value);
    const status = c.value === null ? ["none", "Chưa có dữ liệu"] : c.met ? ["met", "Đạt"] : ["below", "Chưa đạt"];
    const figure = c.boolean ? (c.value === null ? "—" : c.value >= 1 ? "Có" : "Chưa") : `${pct(c.value)} (${num(c.numerator, 0)}/${num(c.denominator, 0)})`;
    return `<div class="crit" title="${esc(c.label)}">
      <span class="id">${esc(c.id)}</span><span>${esc(c.label)}</span>
      <span><div class="gauge" title="Giá trị ${figure} · chỉ tiêu ${pct(c.target, 0)}"><i style="width:${value * 100}%"></i><b style="left:${c.target * 100}%"></b></div></span>
      <span class="figure">${figure}</span>
      <span class="state ${status[0]}">${status[1]}</span></div>`;
  }).join("");
  let missing;
  if (card.award_eligible) {
    missing = `<div class="missing ok">Đủ điều kiện đề nghị <strong>${esc(award)}</strong>.</div>`;
  } else if (!card.missing_for_award.length) {
    missing = `<div class="missing ok">Đạt mọi tiêu chí trong kỳ này.${card.awardable_period ? "" : " Khen thưởng xét theo năm và giai đoạn."}</div>`;
  } else {
    const items = card.missing_for_award.map((m) => {
      const need = m.reason === "no_data" ? "chưa có dữ liệu"
        : `đạt ${pct(m.value)} / chỉ tiêu ${pct(m.target, 0)}` + (m.numerator_needed ? ` — cần thêm ${num(m.numerator_needed, 0)}` : "");
      return `<li><strong>${esc(m.id)}</strong> ${esc(m.label)}: ${need}</li>`;
    }).join("");
    missing = `<div class="missing"><strong>Còn thiếu để được khen thưởng</strong> (${esc(award)}):<ul>${items}</ul></div>`;
  }
  $("card").innerHTML = `<h3 style="margin-top:0">${esc(card.name)}</h3>
    <div class="summary">
      <div>Điểm<strong>${num(card.score)}</strong></div>
      <div>Hạng<strong>${card.rank ?? "—"}</strong></div>
      <div>Tiêu chí đạt<strong>${card.criteria_met}/${card.criteria_total}</strong></div>
      <div>Kỳ<strong style="font-size:14px">${esc(periodLabel(card.period))}</strong></div>
    </div>${rows}${missing}`;
}

async function loadTrend(unitId) {
  let trend;
  try { trend = await getJSON(`/v1/units/${encodeURIComponent(unitId)}/trend`); } catch (e) { $("trend").innerHTML = '<p class="empty">Chưa có dữ liệu</p>'; return; }
  const points = trend.points;
  const W = 460, H = 150, L = 30, B = 22, T = 8;
  const x = (i) => L + (i * (W - L - 8)) / Math.max(1, points.length - 1);
  const y = (s) => T + (H - T - B) * (1 - s / 100);
  let path = "", dots = "";
  points.forEach((p, i) => {
    if (p.score === null) return;
    path += `${path ? "L" : "M"}${x(i).toFixed(1)},${y(p.score).toFixed(1)} `;
    dots += `<circle cx="${x(i).toFixed(1)}" cy="${y(p.score).toFixed(1)}" r="2.5" fill="#2f6fb3"><title>${periodLabel(p.period)}: ${num(p.score)} điểm, hạng ${p.rank ?? "—"}</title></circle>`;
  });
  const grid = [0, 50, 100].map((s) => `<line x1="${L}" x2="${W - 4}" y1="${y(s)}" y2="${y(s)}" stroke="#dde3ea"/><text x="2" y="${y(s) + 3}">${s}</text>`).join("");
  const labels = points.map((p, i) => (p.period.endsWith("Q1") ? `<text x="${x(i) - 10}" y="${H - 6}">${p.period.slice(0, 4)}</text>` : "")).join("");
  $("trend").innerHTML = `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="Điểm theo quý">${grid}${labels}<path d="${path}" fill="none" stroke="#2f6fb3" stroke-width="2"/>${dots}</svg>`;
}

// ----- awards and alerts -----------------------------------------------------------------
function awardable(period) { return /^(\d{4}|phase-\d{4}-\d{4})$/.test(period); }

async function loadAwards() {
  $("award-name").textContent = state.catalog.award;
  if (!awardable(state.period)) {
    $("awards").innerHTML = '<p class="empty">Khen thưởng chỉ xét theo năm và giai đoạn.</p>';
    return;
  }
  try {
    const awards = await getJSON("/v1/awards?" + query({ period: state.period, tier: state.tier }));
    $("awards").innerHTML = awards.items.length
      ? "<ul>" + awards.items.map((a) => `<li>${esc(a.name)} — ${num(a.score)} điểm</li>`).join("") + "</ul>"
      : '<p class="empty">Chưa có đơn vị đạt mọi tiêu chí.</p>';
  } catch (error) {
    $("awards").innerHTML = `<p class="empty">Khen thưởng chỉ xét theo năm và giai đoạn.</p>`;
  }
}

async function loadAlerts() {
  try {
    const alerts = await getJSON("/v1/alerts?state=firing");
    $("alerts").innerHTML = alerts.items.length
      ? alerts.items.slice(0, 50).map((a) => `<div class="alert ${esc(a.state)}"><span class="sev">${esc(a.severity)}</span>
          <strong>${esc(a.unit_id)}</strong> ${esc(a.criterion)} — ${esc(a.summary)}
          <div class="muted">từ ${new Date(a.starts_at).toLocaleString("vi-VN")}${a.silenced_by.length ? " · đã tạm tắt" : ""}</div></div>`).join("")
      : '<p class="empty">Không có cảnh báo.</p>';
  } catch (error) {
    $("alerts").innerHTML = `<p class="empty">${esc(error.message)}</p>`;
  }
}

init().catch((error) => { $("ranking").tBodies[0].innerHTML = `<tr><td colspan="5" class="empty">${esc(error.message)}</td></tr>`; });
