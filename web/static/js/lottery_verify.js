// lottery_verify.js: the public lottery page recomputes the draw in the
// browser from the published data only — the seed against the commitment,
// the entries' hash, then the winners — by the algorithm of
// internal/lottery (docs/campaigns.md "抽奖 / Lottery"), and says whether
// they match the published winners. SHA-256 and HMAC are pure JS here (no
// library, no secure context needed), so anyone can read what it does.
import { translator } from './i18n.js';

const t = translator('prizes-msgs', 'prizes.');

// --- SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) on Uint8Arrays.
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);

export function sha256(data) {
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const len = data.length;
  const total = Math.ceil((len + 9) / 64) * 64;
  const m = new Uint8Array(total);
  m.set(data);
  m[len] = 0x80;
  const dv = new DataView(m.buffer);
  dv.setUint32(total - 8, Math.floor(len / 0x20000000));
  dv.setUint32(total - 4, (len * 8) >>> 0);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < total; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = dv.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setUint32(i * 4, h[i]);
  return out;
}

export function hmacSHA256(key, msg) {
  let k = key.length > 64 ? sha256(key) : key;
  const pad = (x) => { const b = new Uint8Array(64); b.set(k); for (let i = 0; i < 64; i++) b[i] ^= x; return b; };
  const cat = (a, b) => { const r = new Uint8Array(a.length + b.length); r.set(a); r.set(b, a.length); return r; };
  return sha256(cat(pad(0x5c), sha256(cat(pad(0x36), msg))));
}

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (s) => new Uint8Array((s.match(/../g) || []).map((x) => parseInt(x, 16)));
const utf8 = (s) => new TextEncoder().encode(s);

// --- The draw (internal/lottery.Draw).
export function entriesHash(entries) {
  return sha256(utf8(entries.map((e) => [e.id, e.person, e.division, e.nickname].join('\t') + '\n').join('')));
}

export function draw(seed, entries, prizes) {
  const eh = entriesHash(entries);
  const won = new Set();
  const winners = [];
  const two64 = 1n << 64n;
  prizes.forEach((p, i) => {
    let pool = entries.filter((e) => e.division === p.division && !won.has(e.person));
    let counter = 0;
    for (let k = 0; k < p.count && pool.length > 0; k++) {
      const n = BigInt(pool.length);
      const limit = two64 - (two64 % n);
      let x;
      for (;;) {
        const msg = new Uint8Array(40);
        msg.set(eh);
        const dv = new DataView(msg.buffer);
        dv.setUint32(32, i);
        dv.setUint32(36, counter++);
        x = new DataView(hmacSHA256(seed, msg).buffer).getBigUint64(0);
        if (x < limit) break;
      }
      const w = pool[Number(x % n)];
      winners.push({ prize: i, entry: w.id });
      won.add(w.person);
      pool = pool.filter((e) => e.person !== w.person);
    }
  });
  return winners;
}

// verify returns the problem's message key, or '' when everything matches.
export function verify(doc) {
  if (doc.algorithm !== 'kepu-lottery-v1') return 'verify_algorithm';
  if (!doc.seed) return 'not_drawn';
  const seed = unhex(doc.seed);
  if (seed.length !== 32 || hex(sha256(seed)) !== String(doc.commitment).toLowerCase()) return 'verify_commitment';
  if (hex(entriesHash(doc.entries)) !== String(doc.entries_hash).toLowerCase()) return 'verify_entries';
  const got = draw(seed, doc.entries, doc.prizes);
  const pub = doc.winners || [];
  if (got.length !== pub.length || got.some((w, j) => w.prize !== pub[j].prize || w.entry !== pub[j].entry)) return 'verify_winners';
  return '';
}

// --- The page.
const dataBox = document.getElementById('lottery-data');
const published = dataBox ? JSON.parse(dataBox.textContent) : null;
const out = document.querySelector('[data-testid="verify-result"]');

function show(doc, fromFile) {
  let key;
  try { key = verify(doc); } catch { key = 'verify_broken'; }
  if (fromFile && !key && doc.commitment !== published.commitment) key = 'verify_other_commitment';
  out.hidden = false;
  out.className = 'verify-result ' + (key ? 'bad' : 'ok');
  out.dataset.match = key ? 'no' : 'yes';
  out.textContent = key ? t('verify_mismatch', { why: t(key) }) : t('verify_match', { n: (doc.winners || []).length });
}

if (published && published.drawn) {
  const byID = new Map(published.entries.map((e) => [e.id, e]));
  const tbody = document.querySelector('[data-testid="winners"] tbody');
  for (const w of published.winners) {
    const tr = document.createElement('tr');
    for (const text of [published.prizes[w.prize]?.name ?? '', w.entry, byID.get(w.entry)?.nickname ?? '']) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    tbody.append(tr);
  }
  document.querySelector('[data-verify]')?.addEventListener('click', () => show(published, false));
  document.querySelector('[data-verify-file]')?.addEventListener('change', async (ev) => {
    const f = ev.target.files?.[0];
    if (!f) return;
    let doc;
    try { doc = JSON.parse(await f.text()); } catch { doc = {}; }
    show(doc, true);
  });
}
