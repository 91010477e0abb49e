// The overview's county and park breakdown: connected share, live power and today's energy per county with its
// parks below. It is drawn once the shares and the places are both known, and again when today's figures arrive;
// each county and park row follows its own live room ('county:<code>', 'park:<id>') and links to its page.
import { link, showAggregate, table, td, type Scope } from '../../components.ts';
import { clear, h } from '../../dom.ts';
import { pct, qty } from '../../format.ts';
import { pick, t } from '../../i18n.ts';
import { feed } from '../../live.ts';
import { keepRange } from '../../range.ts';
import type { ConnectedShare, Places, RoomAggregate } from '../../types.ts';

type ShareRow = ConnectedShare['byCounty'][number];

export class Breakdown {
  share: ConnectedShare | undefined;
  places: Places | undefined;
  /** Today's tce by county code and by park id. */
  countyTce = new Map<string, number>();
  parkTce = new Map<string, number>();
  private readonly aggregates = new Map<string, RoomAggregate>();
  private readonly rooms = new Map<string, () => void>();

  constructor(private readonly body: HTMLElement, scope: Scope) {
    scope.add(() => { for (const stop of this.rooms.values()) stop(); });
  }

  render(): void {
    const { share, places: pl } = this;
    if (!share || !pl) return;
    const parkRows = new Map<string, NonNullable<ConnectedShare['byPark']>>();
    for (const p of share.byPark ?? []) parkRows.set(p.county, [...(parkRows.get(p.county) ?? []), p]);
    const rows: HTMLTableRowElement[] = [];
    for (const c of share.byCounty) {
      const county = pl.counties.find((x) => x.code === c.id);
      rows.push(this.row(c, county ? pick(county) : c.name, 'county', this.countyTce));
      for (const p of parkRows.get(c.id) ?? []) {
        const park = pl.parks.find((x) => x.id === p.id);
        rows.push(this.row(p, park ? pick(park) : p.name, 'park', this.parkTce));
      }
    }
    clear(this.body, table([t('colCounty'), { text: t('colAboveScale'), num: true }, { text: t('colConnected'), num: true }, { text: t('colShare'), num: true }, { text: t('colLivePower'), num: true }, { text: t('colTodayTce'), num: true }], rows, { class: 'breakdown' }));
    this.followRooms();
  }

  private row(r: ShareRow, name: string, kind: 'county' | 'park', tce: Map<string, number>): HTMLTableRowElement {
    return h('tr', { class: kind, [`data-${kind}`]: r.id },
      td(link(keepRange(`#/${kind}/${encodeURIComponent(r.id)}`), name)), td(r.aboveScaleFirms, true), td(r.connected, true), td(pct(r.share), true),
      td('–', true, { [`data-power-${kind}`]: r.id, 'data-power-room': `${kind}:${r.id}` }), td(qty(tce.get(r.id) ?? 0, 'tce', 2), true));
  }

  /** Follows the rooms of the rows drawn, shows what they already sent, and leaves the rooms no row needs. */
  private followRooms(): void {
    const wanted = new Set<string>();
    for (const cell of this.body.querySelectorAll<HTMLElement>('[data-power-room]')) {
      const room = cell.dataset.powerRoom ?? '';
      wanted.add(room);
      const a = this.aggregates.get(room);
      if (a) showAggregate(cell, a);
    }
    for (const [room, stop] of this.rooms) {
      if (wanted.has(room)) continue;
      stop();
      this.rooms.delete(room);
      this.aggregates.delete(room);
    }
    for (const room of wanted) {
      if (this.rooms.has(room)) continue;
      this.rooms.set(room, feed.follow(room, (a) => {
        this.aggregates.set(room, a);
        const cell = this.body.querySelector<HTMLElement>(`[data-power-room="${CSS.escape(room)}"]`);
        if (cell) showAggregate(cell, a);
      }));
    }
  }
}
