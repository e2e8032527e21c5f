import { SearchIndexLag } from './search-index-lag';

describe('search index lag (sandbox kit)', () => {
  let now = 1_000;
  const lag = () => {
    const l = new SearchIndexLag<string, { v: number }>(() => now);
    l.lagMs = 500;
    return l;
  };

  it('shows the version indexed before a write until the lag has passed, then the record itself', () => {
    const l = lag();
    const v1 = { v: 1 };
    const v2 = { v: 2 };
    l.written('a', null, now); // created
    expect(l.view('a', v1)).toBeNull();
    now += 500;
    expect(l.view('a', v1)).toBe(v1);
    l.written('a', v1, now); // updated
    l.written('a', v1, now + 100); // updated again before indexing: still the first indexed version
    now += 550;
    expect(l.view('a', v2)).toBe(v1);
    now += 100;
    expect(l.view('a', v2)).toBe(v2);
  });

  it('reports pending writes, dropping indexed ones and records that are gone; flush and forget end the wait', () => {
    const l = lag();
    l.written('a', null, now);
    l.written('b', null, now);
    expect(l.pending()).toBe(true);
    expect(l.pending((id) => id !== 'a' && id !== 'b')).toBe(false);
    l.written('c', null, now);
    l.forget('c');
    expect(l.pending()).toBe(false);
    l.written('d', null, now);
    l.flush();
    expect(l.view('d', { v: 4 })).toEqual({ v: 4 });
    now += 1_000;
    l.written('e', null, now - 600);
    expect(l.pending()).toBe(false);
  });

  it('records nothing without a lag', () => {
    const l = new SearchIndexLag<string, { v: number }>(() => now);
    l.written('a', null, now);
    expect(l.pending()).toBe(false);
    expect(l.view('a', { v: 1 })).toEqual({ v: 1 });
  });
});
