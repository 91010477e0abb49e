// A table of things people edit (alarm rules, channels): listed by id, read, inserted with who created them,
// updated and deleted. Columns are given once as parameter name → column.
import type { Db } from '../../common/sqlite.ts';
import type { Actor } from '../base/db.ts';

type Params = Record<string, string | number | null>;

export class EditedTable<Row, T, Input> {
  private readonly s;

  constructor(db: Db, table: string, columns: Readonly<Record<string, string>>, private readonly from: (r: Row) => T, private readonly params: (i: Input) => Params) {
    const names = Object.keys(columns);
    this.s = {
      all: db.prepare<[], Row>(`SELECT * FROM ${table} ORDER BY id`),
      one: db.prepare<[number], Row>(`SELECT * FROM ${table} WHERE id = ?`),
      insert: db.prepare(`INSERT INTO ${table} (${names.map((p) => columns[p] as string).join(', ')}, created_by, created_by_token, created_at, updated_at)
        VALUES (${names.map((p) => `@${p}`).join(', ')}, @by, @token, @at, @at)`),
      update: db.prepare(`UPDATE ${table} SET ${names.map((p) => `${columns[p] as string} = @${p}`).join(', ')}, updated_at = @at WHERE id = @id`),
      remove: db.prepare<[number]>(`DELETE FROM ${table} WHERE id = ?`),
    };
  }

  list(): T[] {
    return this.s.all.all().map(this.from);
  }

  get(id: number): T | undefined {
    const r = this.s.one.get(id);
    return r ? this.from(r) : undefined;
  }

  create(i: Input, actor: Actor, at = Date.now()): T {
    const info = this.s.insert.run({ ...this.params(i), by: actor.name, token: actor.tokenId, at });
    return this.get(Number(info.lastInsertRowid)) as T;
  }

  update(id: number, i: Input, at = Date.now()): T | undefined {
    this.s.update.run({ ...this.params(i), id, at });
    return this.get(id);
  }

  remove(id: number): boolean {
    return this.s.remove.run(id).changes > 0;
  }
}

/** An EditedTable answering with promises: the SQLite adapter of a port whose other adapter is remote. */
export class AsyncEditedTable<Row, T, Input> {
  private readonly table: EditedTable<Row, T, Input>;

  constructor(...args: ConstructorParameters<typeof EditedTable<Row, T, Input>>) {
    this.table = new EditedTable(...args);
  }

  async list(): Promise<T[]> {
    return this.table.list();
  }

  async get(id: number): Promise<T | undefined> {
    return this.table.get(id);
  }

  async create(i: Input, actor: Actor, at = Date.now()): Promise<T> {
    return this.table.create(i, actor, at);
  }

  async update(id: number, i: Input, at = Date.now()): Promise<T | undefined> {
    return this.table.update(id, i, at);
  }

  async remove(id: number): Promise<boolean> {
    return this.table.remove(id);
  }
}
