#!/usr/bin/env node
// make exercises (part of make test): what exercise mode promises, checked.
//   1. each finished lesson passes every stage of its check;
//   2. each exercise, blanked alone, still compiles, and the first stage to fail is
//      one of its own (no stub solves its exercise, no stage passes by accident);
//   3. check's output for a few deliberately broken servers (checkN.mjs's `broken`)
//      is exactly tests/exercise/golden/lessonN-NAME.txt (UPDATE_GOLDEN=1 rewrites).
// usage: node tests/exercise/guarantee.mjs BUILD N...   (BUILD: a build without
// sanitizers, its lesson binaries already made; the Makefile does that first)
//
// The working tree is never touched: each variant is one changed copy of one .cpp
// in a temporary folder, compiled alone and linked with BUILD's other objects.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { STUBS, blankText, listExercises } from './markers.mjs';
import { runStages } from './runner.mjs';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const [build, ...lessons] = process.argv.slice(2);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'exercises-'));
let failures = 0;
const fail = (what, detail) => {
  failures++;
  console.log(`FAIL ${what}\n${detail.replace(/^/gm, '     ')}`);
};

// The compile command, the objects and the libraries of BUILD's lesson n.
function linkInfo(n) {
  const out = execFileSync('make', ['-s', `BUILD=${build}`, 'SAN=0', 'WERROR=0', 'OPT=-O0', `exercise-vars-${n}`],
    { encoding: 'utf8' });
  const get = (k) => out.split('\n').find((l) => l.startsWith(`${k}=`)).slice(k.length + 1)
    .trim().split(/\s+/).filter(Boolean);
  return { cxx: get('CXX'), objs: get('OBJS'), libs: get('LIBS') };
}

// At most two compilers at a time (the machine has 2 cores); the stages, which
// mostly wait on sockets, run beside them.
let slots = 2;
const queue = [];
async function compiling(fn) {
  if (slots === 0) await new Promise((resolve) => queue.push(resolve));
  else slots--;
  try {
    return await fn();
  } finally {
    if (queue.length) queue.shift()();
    else slots++;
  }
}

// Objects by file and text, binaries by their objects: variants that come out the
// same (an exercise blanked alone, and a broken server that is that blank) are
// built once, and a file left as it is keeps BUILD's object.
const objects = new Map();
const binaries = new Map();
let serial = 0;

function object(n, info, file, text) {
  const original = path.join(build, 'obj', file.replace(/\.cpp$/, '.o'));
  if (!info.objs.includes(original)) throw new Error(`${original} is not in lesson ${n}`);
  if (text === fs.readFileSync(file, 'utf8')) return Promise.resolve([original, original]);
  const key = `${file}\0${createHash('sha1').update(text).digest('hex')}`;
  if (!objects.has(key)) objects.set(key, compiling(async () => {
    const copy = path.join(tmp, `o${++serial}`, file);
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    fs.writeFileSync(copy, text);
    const out = copy.replace(/\.cpp$/, '.o');
    const [cxx, ...flags] = info.cxx;
    // The copy's quoted includes ("websocket.h") are found in the lesson's folder.
    await run(cxx, [...flags, `-I${path.dirname(file)}`, '-c', copy, '-o', out]);
    return [original, out];
  }));
  return objects.get(key);
}

// Builds lesson n with some files' text replaced ({ file: text }); resolves with the
// binary. Only those files are compiled; every other object is BUILD's.
async function variant(n, info, changed) {
  const swaps = new Map(await Promise.all(Object.entries(changed).map(([file, text]) =>
    object(n, info, file, text))));
  const objs = info.objs.map((o) => swaps.get(o) ?? o);
  const key = objs.join(' ');
  if (!binaries.has(key)) binaries.set(key, compiling(async () => {
    const binary = path.join(tmp, `b${++serial}`, `lesson-${n}`);
    fs.mkdirSync(path.dirname(binary), { recursive: true });
    const [cxx, ...flags] = info.cxx;
    await run(cxx, [...flags, '-o', binary, ...objs, ...info.libs]);
    return binary;
  }));
  return binaries.get(key);
}

// The same binary gives the same output (the stages are deterministic), so each is
// checked once.
const checks = new Map();
function check(n, binary) {
  if (!checks.has(binary)) checks.set(binary, checkNow(n, binary));
  return checks.get(binary);
}

async function checkNow(n, binary) {
  const t0 = Date.now();
  let text = '';
  const { stages, args } = await import(path.join(here, `check${n}.mjs`));
  const ok = await runStages(stages, binary, { lesson: n, args, out: (s) => { text += s; } });
  if (process.env.EXERCISE_VERBOSE)
    console.log(`     ${path.basename(path.dirname(binary))}: ${Date.now() - t0} ms`);
  return { ok, text };
}

const started = Date.now();
const source = (file) => fs.readFileSync(file, 'utf8');
const firstExercise = (text) => /^ {2}exercise +(\S+)$/m.exec(text)?.[1];
// Each job builds one variant and checks it; results are printed in job order.
const jobs = [];
for (const n of lessons) {
  const info = linkInfo(n);
  const mod = await import(path.join(here, `check${n}.mjs`));
  const exercises = listExercises(process.cwd(), n);

  // 1. The finished lesson passes.
  jobs.push(async (say) => {
    const finished = await check(n, path.join(build, `lesson-${n}`));
    if (finished.ok) say.ok(`lesson ${n}: the finished code passes all ` +
      `${mod.stages.length} stages`);
    else say.fail(`lesson ${n}: the finished code fails its own check`, finished.text);
  });

  // Every exercise has a stage, and every stage an exercise.
  for (const e of exercises)
    if (!mod.stages.some((s) => s.exercise === e.name))
      fail(`lesson ${n}: exercise ${e.name} has no stage`, `${e.file}:${e.line}`);
  for (const s of mod.stages)
    if (!exercises.some((e) => e.name === s.exercise))
      fail(`lesson ${n}: stage ${s.name} names exercise ${s.exercise}, not in the source`, '');

  // 2. Each exercise blanked alone.
  for (const e of exercises) jobs.push(async (say) => {
    const what = `lesson ${n}: exercise ${e.name} blanked`;
    const r = await check(n, await variant(n, info, { [e.file]: blankText(source(e.file), [e.name], e.file) }));
    const at = r.text.split('\n').filter((l) => l.startsWith('[')).pop().replace(/\].*/, ']');
    if (r.ok) say.fail(`${what} passes every stage`, r.text);
    else if (firstExercise(r.text) !== e.name)
      say.fail(`${what} fails first at another exercise's stage, ${at}`, r.text);
    else say.ok(`${what} compiles and fails ${at}`);
  });

  // 2b. make exercise-N (all blanked), then the exercises solved in the order of the
  // stages: each time, the first stage to fail is one of the next exercise's.
  const order = [...new Set(mod.stages.map((st) => st.exercise))];
  const files = [...new Set(exercises.map((e) => e.file))];
  for (let k = 0; k < order.length; k++) jobs.push(async (say) => {
    const todo = order.slice(k);
    const changed = Object.fromEntries(files.map((f) => [f, blankText(source(f), todo, f)]));
    const r = await check(n, await variant(n, info, changed));
    const first = firstExercise(r.text);
    const what = `lesson ${n}: ${k ? `${order.slice(0, k).join(', ')} solved` : 'all blanked'}`;
    if (first === todo[0]) say.ok(`${what}: the first failure is ${todo[0]}'s stage`);
    else say.fail(`${what}: the first failure is ${first ?? 'none'}'s, not ${todo[0]}'s`,
      r.text);
  });

  // 3. Golden output for the broken servers.
  for (const b of mod.broken ?? []) jobs.push(async (say) => {
    const file = b.blank ? exercises.find((e) => e.name === b.blank).file : b.file;
    let text = source(file);
    if (b.blank) text = blankText(text, [b.blank], file);
    else if (text.split(b.from).length !== 2)
      return say.fail(`lesson ${n}: broken server ${b.name}: "${b.from}" is not once in ` +
        `${file}`, '');
    else text = text.replace(b.from, b.to);
    const r = await check(n, await variant(n, info, { [file]: text }));
    const golden = path.join(here, 'golden', `lesson${n}-${b.name}.txt`);
    if (process.env.UPDATE_GOLDEN) fs.writeFileSync(golden, r.text);
    const want = fs.existsSync(golden) ? fs.readFileSync(golden, 'utf8') : '(no golden file)';
    if (r.text === want) say.ok(`lesson ${n}: check's output for ${b.name} is ` +
      `${path.relative(process.cwd(), golden)}`);
    else say.fail(`lesson ${n}: check's output for ${b.name} differs from ${golden}`,
      `got:\n${r.text}\nwanted:\n${want}`);
  });

}

// A stub for an exercise that no longer exists is a leftover.
const names = new Set(lessons.flatMap((n) => listExercises(process.cwd(), n).map((e) => e.name)));
if (lessons.length === 4)
  for (const name of Object.keys(STUBS))
    if (!names.has(name)) fail(`markers.mjs has a stub for ${name}, which no lesson marks`, '');

// Six jobs at a time: the compilers are limited to two (compiling()), and the rest
// wait on sockets, so the stages of one variant run while the next one builds.
const results = jobs.map(() => []);
let next = 0;
const worker = async () => {
  for (let i = next++; i < jobs.length; i = next++) {
    const out = results[i];
    const say = { ok: (m) => out.push(() => console.log(`ok   ${m}`)),
      fail: (m, d) => out.push(() => fail(m, d)) };
    try {
      await jobs[i](say);
    } catch (err) {
      say.fail('a variant did not build', String(err.stderr ?? err.stack ?? err));
    }
  }
};
await Promise.all(Array.from({ length: 6 }, worker));
for (const out of results) for (const print of out) print();
console.log(`     lessons ${lessons.join(', ')}: ${jobs.length} checks, ${binaries.size} ` +
  `variants built, ${((Date.now() - started) / 1000).toFixed(1)} s`);
fs.rmSync(tmp, { recursive: true, force: true });
if (failures) {
  console.log(`${failures} exercise guarantee(s) broken`);
  process.exit(1);
}
