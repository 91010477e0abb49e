// A gateway's Sparkplug B metric mappings (docs/connecting-machines.md, "Sparkplug B edge node"), opened from the
// gateways card: per device type of its devices, which catalogue metric each Sparkplug metric name becomes (or the
// machine state, or dropped). The firm's engineer and admins edit and save the whole table (PUT replaces it); the
// bureau reads. The API checks it against the catalogue and names every bad entry; each message is shown beside
// its row.
import { catalogue, get, put } from '../../api.ts';
import { table, td, type Scope } from '../../components.ts';
import { clear, h } from '../../dom.ts';
import { unitLabel } from '../../format.ts';
import { pick, texts } from '../../i18n.ts';
import type { Catalogue, Device, DeviceTypeSpec } from '../../types.ts';

const zh = {
  title: 'Sparkplug 映射',
  open: 'Sparkplug 映射',
  help: '每种设备类型：Sparkplug 指标名 → 平台指标。名称等于目录中的指标 ID（或以 /指标 ID 结尾，如 Loom/speed_rpm）时无需配置即可映射。',
  colName: 'Sparkplug 指标名',
  colTarget: '平台指标',
  colActions: '操作',
  state: '机器状态',
  drop: '丢弃',
  addRow: '添加一行',
  removeRow: '删除',
  save: '保存映射',
  saved: '已保存，代理将在数秒内生效。',
  noTypes: '该网关尚无设备。',
  noRows: '无映射。',
  duplicate: '名称 "{name}" 在此设备类型中重复。',
};

const en: Record<keyof typeof zh, string> = {
  title: 'Sparkplug mapping',
  open: 'Sparkplug mapping',
  help: 'Per device type: Sparkplug metric name → platform metric. A name equal to a catalogue metric id (or ending with /<metric id>, such as Loom/speed_rpm) maps without configuration.',
  colName: 'Sparkplug metric name',
  colTarget: 'Platform metric',
  colActions: 'Actions',
  state: 'Machine state',
  drop: 'Drop',
  addRow: 'Add row',
  removeRow: 'Remove',
  save: 'Save mapping',
  saved: 'Saved: the broker uses it within seconds.',
  noTypes: 'The gateway has no devices yet.',
  noRows: 'No mappings.',
  duplicate: 'The name "{name}" is repeated in this device type.',
};

const sx = texts({ zh, en });

/** Per device type: Sparkplug metric name → catalogue metric id, "state" or "-" (common/contract/sparkplug-mapping.ts). */
type MappingTable = Record<string, Record<string, string>>;
interface MappingsAnswer { gatewayId: string; firmId: string; mappings: MappingTable }

const STATE_TARGET = 'state';
const IGNORE_TARGET = '-';

interface Row { type: string; tr: HTMLTableRowElement; name: HTMLInputElement; target: HTMLSelectElement; error: HTMLElement }

export interface MappingEditorOptions {
  gatewayId: string;
  /** The gateway's devices (their types get a table each). */
  devices: readonly Device[];
  /** May save (the firm's engineer or an admin). */
  manage: boolean;
  scope: Scope;
}

/** The choices of a type's select: its catalogue metrics by name and unit, then the machine state and drop. */
function targetSelect(spec: DeviceTypeSpec | undefined, value: string, disabled: boolean): HTMLSelectElement {
  const metrics = spec?.metrics ?? [];
  const options = [
    ...metrics.map((m) => h('option', { value: m.name }, `${pick(m)}${m.unit ? ` (${unitLabel(m.unit)})` : ''} · ${m.name}`)),
    h('option', { value: STATE_TARGET }, `${sx('state')} · ${STATE_TARGET}`),
    h('option', { value: IGNORE_TARGET }, `${sx('drop')} · ${IGNORE_TARGET}`),
  ];
  // A stored target the catalogue no longer offers stays visible rather than being silently replaced.
  if (value && !options.some((o) => o.value === value)) options.push(h('option', { value }, value));
  const select = h('select', { 'data-testid': 'sparkplug-target', 'aria-label': sx('colTarget'), disabled }, ...options);
  if (value) select.value = value;
  return select;
}

/** A button that opens (or closes) the gateway's editor in a table row under the button's own row. */
export function sparkplugMappingButton(o: MappingEditorOptions): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'link', 'data-testid': 'gateway-sparkplug', 'aria-expanded': 'false' }, sx('open'));
  let editorRow: HTMLTableRowElement | undefined;
  button.addEventListener('click', () => {
    if (editorRow) {
      editorRow.remove();
      editorRow = undefined;
    } else {
      const row = button.closest('tr');
      if (!row) return;
      editorRow = h('tr', null, h('td', { colspan: row.children.length }, sparkplugMappingEditor(o)));
      row.after(editorRow);
    }
    button.setAttribute('aria-expanded', String(editorRow !== undefined));
  });
  return button;
}

/** The editor, loading the stored mappings and the catalogue itself. */
export function sparkplugMappingEditor(o: MappingEditorOptions): HTMLElement {
  const body = h('div', null, h('p', { class: 'muted' }, '…'));
  const el = h('div', { class: 'onboard sparkplug-mapping', 'data-testid': 'sparkplug-mapping', 'data-gateway': o.gatewayId },
    h('h3', null, sx('title')), h('p', { class: 'muted small-text' }, sx('help')), body);
  const path = `/gateways/${encodeURIComponent(o.gatewayId)}/sparkplug-mappings`;
  Promise.all([get<MappingsAnswer>(path), catalogue()]).then(([answer, cat]) => {
    if (o.scope.alive) new MappingEditor(o, path, cat, body).draw(answer.mappings);
  }, (err: unknown) => clear(body, h('p', { class: 'error', 'data-testid': 'sparkplug-error' }, errorText(err))));
  return el;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

class MappingEditor {
  private rows: Row[] = [];
  private readonly status = h('div', { 'aria-live': 'polite' });

  constructor(private readonly o: MappingEditorOptions, private readonly path: string, private readonly cat: Catalogue, private readonly body: HTMLElement) {}

  /** One table per device type of the gateway's devices, and per type already mapped (so saving keeps it). */
  draw(mappings: MappingTable): void {
    const types = [...new Set([...this.o.devices.map((d) => d.type), ...Object.keys(mappings)])].sort();
    this.rows = [];
    if (types.length === 0) {
      clear(this.body, h('p', { class: 'muted' }, sx('noTypes')));
      return;
    }
    const sections = types.map((type) => this.typeSection(type, mappings[type] ?? {}));
    const save = this.o.manage ? h('div', null, h('button', { type: 'button', class: 'primary', 'data-testid': 'sparkplug-save', onclick: () => this.save() }, sx('save'))) : null;
    clear(this.body, this.status, ...sections, save);
  }

  private typeSection(type: string, entries: Record<string, string>): HTMLElement {
    const spec = this.cat.deviceTypes.find((d) => d.type === type);
    const headers = [sx('colName'), sx('colTarget'), ...(this.o.manage ? [sx('colActions')] : [])];
    const tableEl = table(headers, Object.entries(entries).map(([name, target]) => this.row(type, name, target)));
    const tbody = tableEl.tBodies[0]!;
    const empty = !this.o.manage && tbody.childElementCount === 0 ? h('p', { class: 'muted' }, sx('noRows')) : null;
    const add = this.o.manage
      ? h('button', { type: 'button', class: 'link', 'data-testid': 'sparkplug-add', onclick: () => { tbody.append(this.row(type, '', spec?.metrics[0]?.name ?? STATE_TARGET)); } }, sx('addRow'))
      : null;
    return h('div', { 'data-testid': 'sparkplug-type', 'data-type': type },
      h('h4', null, spec ? `${pick(spec)} · ${type}` : type), empty ?? tableEl, add);
  }

  private row(type: string, value: string, target: string): HTMLTableRowElement {
    const name = h('input', { value, maxlength: 256, autocomplete: 'off', 'data-testid': 'sparkplug-name', 'aria-label': sx('colName'), disabled: !this.o.manage });
    const select = targetSelect(this.cat.deviceTypes.find((d) => d.type === type), target, !this.o.manage);
    const error = h('div', { class: 'error small-text', 'data-testid': 'sparkplug-row-error' });
    const tr = h('tr', { 'data-testid': 'sparkplug-row' }, td(h('div', null, name, error)), td(select));
    const row: Row = { type, tr, name, target: select, error };
    if (this.o.manage) {
      tr.append(td(h('button', { type: 'button', class: 'link', 'data-testid': 'sparkplug-remove', onclick: () => {
        this.rows = this.rows.filter((r) => r !== row);
        tr.remove();
      } }, sx('removeRow'))));
    }
    this.rows.push(row);
    return tr;
  }

  /** The table as the API takes it; undefined (with the rows marked) when a name repeats within its type. */
  private collect(): MappingTable | undefined {
    const out: MappingTable = {};
    let ok = true;
    for (const r of this.rows) {
      const entries = (out[r.type] ??= {});
      if (Object.hasOwn(entries, r.name.value)) {
        r.error.textContent = sx('duplicate', { name: r.name.value });
        ok = false;
      }
      entries[r.name.value] = r.target.value;
    }
    return ok ? out : undefined;
  }

  private save(): void {
    clear(this.status);
    for (const r of this.rows) r.error.textContent = '';
    const body = this.collect();
    if (!body) return;
    put<MappingsAnswer>(this.path, body).then((answer) => {
      if (!this.o.scope.alive) return;
      this.draw(answer.mappings);
      clear(this.status, h('p', { class: 'muted', 'data-testid': 'sparkplug-saved' }, sx('saved')));
    }, (err: unknown) => this.showProblems(errorText(err)));
  }

  /**
   * The API joins its problems with "; ", each starting with the entry's path `type["name"]`: a problem goes beside
   * its row, anything else (an unknown device type, no permission) above the tables.
   */
  private showProblems(message: string): void {
    const general: string[] = [];
    for (const part of message.split('; ')) {
      const row = this.rows.find((r) => part.startsWith(`${r.type}["${r.name.value}"]`));
      if (row) row.error.textContent = row.error.textContent ? `${row.error.textContent}; ${part}` : part;
      else general.push(part);
    }
    if (general.length > 0) clear(this.status, h('p', { class: 'error', 'data-testid': 'sparkplug-error' }, general.join('; ')));
  }
}
