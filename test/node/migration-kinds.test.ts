// Issue 16, item 3: every migration declares whether it is additive or breaking (drizzle/kinds.json),
// since db:migrate records that kind for older builds to read. A migration generated without a kind
// (or renamed, as a regenerated one is) fails here, loudly, rather than being guessed at run time
// (where db:migrate records it as breaking, the safe reading).
import { describe, expect, it } from 'vitest';
import journal from '../../drizzle/meta/_journal.json' with { type: 'json' };
import kinds from '../../drizzle/kinds.json' with { type: 'json' };
import { migrationRecords } from '../../scripts/stack/migrate.ts';

const declared: Record<string, unknown> = { ...kinds };
delete declared.$comment;

describe('drizzle/kinds.json', () => {
  it('names a kind, additive or breaking, for every journal entry', () => {
    const missing = journal.entries
      .map((entry) => entry.tag)
      .filter((tag) => declared[tag] !== 'additive' && declared[tag] !== 'breaking');
    expect(missing, 'add these tags to drizzle/kinds.json (see docs/deploy.md)').toEqual([]);
  });

  it('names no tag the journal lacks (a renamed or regenerated migration leaves a stale key)', () => {
    const tags = new Set(journal.entries.map((entry) => entry.tag));
    expect(Object.keys(declared).filter((tag) => !tags.has(tag))).toEqual([]);
  });

  it('declares the first migration breaking: it creates everything an older build lacks', () => {
    expect(declared[journal.entries[0]!.tag]).toBe('breaking');
  });

  it('gives db:migrate the declared kind of each entry, in journal order', () => {
    const records = migrationRecords();
    expect(records.map((record) => record.idx)).toEqual(journal.entries.map((entry) => entry.idx));
    for (const record of records) {
      expect(record.declared, record.tag).toBe(true);
      expect(record.kind, record.tag).toBe(declared[record.tag]);
    }
  });
});
