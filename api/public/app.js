// Minimal bureau view: KPI and live device values. Chinese first, English toggle remembered in localStorage.
const I18N = {
  zh: { title: '德宏纺织服装工业互联网平台 · 遥测核心', offline: '实时连接已断开', online: '实时连接正常', token: 'API 令牌', signin: '登录',
    kpiTitle: '规上企业接入平台比例（目标 2027 年 50%）', county: '县市', aboveScale: '规上企业', connected: '已接入', shareCol: '比例',
    liveTitle: '设备实时数据', device: '设备', type: '类型', state: '状态', power: '功率 (kW)', energy: '累计电量 (kWh)', updated: '更新时间',
    detail: (c, t, w) => `已接入 ${c} / 规上企业 ${t} 家（近 ${w} 天有有效数据）`, lang: 'English' },
  en: { title: 'Dehong textile industrial internet platform · telemetry core', offline: 'Live feed disconnected', online: 'Live feed connected', token: 'API token', signin: 'Sign in',
    kpiTitle: 'Above-scale firms connected to the platform (goal: 50% by 2027)', county: 'County', aboveScale: 'Above-scale firms', connected: 'Connected', shareCol: 'Share',
    liveTitle: 'Live device values', device: 'Device', type: 'Type', state: 'State', power: 'Power (kW)', energy: 'Energy register (kWh)', updated: 'Updated',
    detail: (c, t, w) => `${c} of ${t} above-scale firms connected (valid data in the last ${w} days)`, lang: '中文' },
};
let lang = localStorage.getItem('lang') === 'en' ? 'en' : 'zh';
let lastKpi = null;
let online = false;
const devices = new Map();

const hashToken = new URLSearchParams(location.hash.slice(1)).get('token');
if (hashToken) { localStorage.setItem('token', hashToken); location.hash = ''; }
let token = localStorage.getItem('token');

function t(key) { return I18N[lang][key]; }
function applyLang() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const el of document.querySelectorAll('[data-i18n]')) {
    const key = el.getAttribute('data-i18n');
    if (key !== 'offline') el.textContent = t(key);
  }
  document.getElementById('lang').textContent = t('lang');
  document.getElementById('conn').textContent = online ? t('online') : t('offline');
  if (lastKpi) renderKpi(lastKpi);
}
function pct(x) { return `${(x * 100).toFixed(1)} %`; }

async function api(path) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  if (res.status === 401) { showLogin('401'); throw new Error('unauthorized'); }
  return res.json();
}
function showLogin(msg) {
  document.getElementById('login').hidden = false;
  document.getElementById('loginError').textContent = msg || '';
}
function renderKpi(k) {
  lastKpi = k;
  document.getElementById('share').textContent = pct(k.share);
  document.getElementById('shareDetail').textContent = t('detail')(k.connected, k.aboveScaleFirms, k.windowDays);
  document.getElementById('gaugeFill').style.width = `${Math.min(100, k.share * 100)}%`;
  document.getElementById('gaugeTarget').style.left = `${k.target * 100}%`;
  const body = document.querySelector('#byCounty tbody');
  body.replaceChildren(...k.byCounty.map((c) => {
    const tr = document.createElement('tr');
    for (const [v, num] of [[c.name, false], [c.aboveScaleFirms, true], [c.connected, true], [pct(c.share), true]]) {
      const td = document.createElement('td'); td.textContent = String(v); if (num) td.className = 'num'; tr.append(td);
    }
    return tr;
  }));
}
function renderLive() {
  const body = document.querySelector('#live tbody');
  const rows = [...devices.values()].sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  body.replaceChildren(...rows.map((d) => {
    const tr = document.createElement('tr');
    tr.dataset.device = d.deviceId;
    const cells = [d.deviceId, d.type, d.state ?? '–', d.metrics.power_kw ?? '–', d.metrics.energy_kwh_total ?? '–', new Date(d.ts).toLocaleTimeString(lang === 'zh' ? 'zh-CN' : 'en-GB')];
    cells.forEach((v, i) => { const td = document.createElement('td'); td.textContent = String(v); if (i === 3 || i === 4) td.className = 'num'; tr.append(td); });
    return tr;
  }));
}
async function refreshKpi() {
  try { renderKpi(await api('/api/v1/kpi/platform-connection')); } catch (e) { console.warn(e.message); }
}
function connectLive() {
  const socket = io({ auth: { token } });
  socket.on('connect', () => { online = true; applyLang(); document.getElementById('conn').className = 'conn on'; });
  socket.on('disconnect', () => { online = false; applyLang(); document.getElementById('conn').className = 'conn off'; });
  socket.on('connect_error', (e) => { if (/token/.test(e.message)) showLogin(e.message); });
  socket.on('live', (summary) => { for (const d of summary.devices) devices.set(d.deviceId, d); renderLive(); });
}

document.getElementById('lang').addEventListener('click', () => { lang = lang === 'zh' ? 'en' : 'zh'; localStorage.setItem('lang', lang); applyLang(); });
document.getElementById('save').addEventListener('click', () => { token = document.getElementById('token').value.trim(); localStorage.setItem('token', token); location.reload(); });
applyLang();
if (!token) showLogin();
else { refreshKpi(); setInterval(refreshKpi, 10000); connectLive(); }
