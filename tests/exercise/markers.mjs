// The exercise markers in a lesson's sources, and the stubs that replace them.
//
// A marked region is a block of finished code between two comment lines:
//   // EXERCISE frame-length: 126: 2 more bytes, 127: 8 more, big-endian (RFC 6455 §5.2)
//   ...the finished code...
//   // END EXERCISE frame-length
// Blanking keeps both marker lines and puts in between a TODO with the hint and the
// exercise's stub (STUBS below): code that compiles and makes the exercise's stage
// fail. The finished code itself is only ever in git, so the exercise is always cut
// from the real source.
import fs from 'node:fs';
import path from 'node:path';

const OPEN = /^(\s*)\/\/ EXERCISE ([a-z0-9-]+): (.+)$/;
const CLOSE = /^(\s*)\/\/ END EXERCISE ([a-z0-9-]+)$/;

// What a blanked region holds besides its TODO. Nothing, unless listed here: a
// function body must still return something, and a block that declares what the
// code after it uses must still declare it.
export const STUBS = {
  'read-since': ['(void)req;', '(void)since;', 'return true;'],
  'accept-key': ['(void)key;', 'return "";'],
  'hpack-integer': ['(void)max;', 'return "RFC 7541 §5.1: multi-byte integers: not written yet";'],
  'huffman-decode': ['(void)in;', '(void)out;', 'return "RFC 7541 §5.2: Huffman: not written yet";'],
  'eio-decode-payload': ['out.clear();', '(void)body;',
    'return {false, "decode_payload() is not written yet"};'],
  'eio-encode-payload': ['(void)packets;', 'return "";'],
  'room-broadcast': ['(void)rooms;', '(void)except;', 'return {};'],
  // Only the 7-bit form: 126 and 127 are taken as lengths themselves.
  'frame-length': ['size_t extended = 0;', 'size_t need = 2 + (h.mask ? 4 : 0);',
    'if (in.size() < need) return Status::need_more;', 'uint64_t length = length7;'],
};

// The lesson folder for lesson n ("03-raw-websocket"), from the repository root.
export function lessonDir(root, n) {
  const prefix = String(n).padStart(2, '0') + '-';
  const dir = fs.readdirSync(root).find((d) => d.startsWith(prefix) &&
    fs.statSync(path.join(root, d)).isDirectory());
  if (!dir) throw new Error(`no lesson ${n}: no folder ${prefix}* in ${root}`);
  return dir;
}

// Every region in one file's text: { name, hint, start, end, indent } with start and
// end the 0-based lines of the two markers. A marker without its pair is an error.
export function parseRegions(text, file = '') {
  const lines = text.split('\n');
  const regions = [];
  let open = null;
  lines.forEach((line, i) => {
    const o = OPEN.exec(line);
    const c = CLOSE.exec(line);
    if (o) {
      if (open) throw new Error(`${file}:${i + 1}: EXERCISE ${o[2]} inside ${open.name}`);
      open = { name: o[2], hint: o[3], start: i, indent: o[1] };
    } else if (c) {
      if (!open || open.name !== c[2])
        throw new Error(`${file}:${i + 1}: END EXERCISE ${c[2]} without its EXERCISE line`);
      regions.push({ ...open, end: i });
      open = null;
    }
  });
  if (open) throw new Error(`${file}:${open.start + 1}: EXERCISE ${open.name} never ends`);
  return regions;
}

// The lesson's exercises, in source order: [{ name, hint, file, line, ... }], file
// relative to root, line 1-based (the EXERCISE line).
export function listExercises(root, n) {
  const dir = lessonDir(root, n);
  const out = [];
  for (const f of fs.readdirSync(path.join(root, dir)).sort()) {
    if (!/\.(cpp|h|js)$/.test(f)) continue;
    const file = path.join(dir, f);
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    for (const r of parseRegions(text, file)) out.push({ ...r, file, line: r.start + 1 });
  }
  const seen = new Set();
  for (const e of out) {
    if (seen.has(e.name)) throw new Error(`${e.file}:${e.line}: exercise ${e.name} twice`);
    seen.add(e.name);
  }
  return out;
}

// text with the named regions (all when names is empty) replaced by their stubs.
export function blankText(text, names = [], file = '') {
  const lines = text.split('\n');
  const regions = parseRegions(text, file).filter((r) => !names.length ||
    names.includes(r.name));
  // From the bottom up, so earlier line numbers stay valid.
  for (const r of regions.reverse()) {
    const body = [`${r.indent}// TODO(exercise ${r.name}): ${r.hint}`,
      ...(STUBS[r.name] ?? []).map((s) => r.indent + s)];
    lines.splice(r.start + 1, r.end - r.start - 1, ...body);
  }
  return lines.join('\n');
}

// Has this region been blanked already (it holds its TODO line)?
export function isBlank(text, region) {
  return text.split('\n')[region.start + 1]?.includes(`TODO(exercise ${region.name})`);
}
