#!/usr/bin/env node
// Exercise mode (make exercise-N, solution-N, check-N; the top README explains it):
//   node tests/exercise/exercise.mjs list N        the exercises, with file and line
//   node tests/exercise/exercise.mjs blank N [EX]  blank them all, or EX only
//   node tests/exercise/exercise.mjs solution N    put the finished code back
//   node tests/exercise/exercise.mjs check N BIN   run lesson N's stages against BIN
// Run from the repository's top folder (the Makefile does).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { blankText, isBlank, lessonDir, listExercises } from './markers.mjs';

const root = process.cwd();
const [command, n, arg] = process.argv.slice(2);

function die(message) {
  process.stderr.write(message.endsWith('\n') ? message : `${message}\n`);
  process.exit(2);
}

const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8' });

function printList(exercises, text = (e) => fs.readFileSync(e.file, 'utf8')) {
  const width = Math.max(...exercises.map((e) => e.name.length));
  for (const e of exercises) {
    const state = isBlank(text(e), e) ? 'TODO' : 'done';
    console.log(`  ${state}  ${e.name.padEnd(width)}  ${e.file}:${e.line}  ${e.hint}`);
  }
}

if (!/^[1-9]$/.test(n ?? '')) die('usage: exercise.mjs list|blank|solution|check N [...]');
const dir = lessonDir(root, n);
const exercises = listExercises(root, n);
if (!exercises.length && command !== 'solution') die(`lesson ${n} has no exercises yet`);

if (command === 'list') {
  console.log(`lesson ${n}'s exercises (${dir}/):`);
  printList(exercises);
} else if (command === 'blank') {
  if (arg && !exercises.some((e) => e.name === arg))
    die(`lesson ${n} has no exercise "${arg}"; its exercises are:\n` +
      exercises.map((e) => `  ${e.name}`).join('\n'));
  // A learner's work is never overwritten: only a lesson folder git calls clean.
  const dirty = git('status', '--porcelain', '--', `${dir}/`);
  if (dirty.trim())
    die(`${dir}/ has changes git has not committed:\n${dirty}` +
      `Refusing to blank it: that could overwrite your own code. Commit your version\n` +
      `(git commit -am "my lesson ${n}"), or run make solution-${n} to go back to the\n` +
      `finished code, then make exercise-${n} again.`);
  const files = [...new Set(exercises.filter((e) => !arg || e.name === arg).map((e) => e.file))];
  for (const f of files)
    fs.writeFileSync(f, blankText(fs.readFileSync(f, 'utf8'), arg ? [arg] : [], f));
  console.log(`Blanked ${arg ?? `every exercise of lesson ${n}`}. Each TODO holds a hint:`);
  printList(listExercises(root, n));
  console.log(`\nWrite the code, then run make check-${n}; make solution-${n} shows the ` +
    `finished code.`);
} else if (command === 'solution') {
  // The learner's version is saved as a patch before it is replaced.
  const mine = git('diff', '--', `${dir}/`);
  if (mine) {
    const saved = path.join('build', 'exercise', `my-lesson-${n}.patch`);
    fs.mkdirSync(path.dirname(saved), { recursive: true });
    fs.writeFileSync(saved, mine);
    console.log(`Your version of ${dir}/ is saved in ${saved}; git apply ${saved} brings ` +
      `it back.\nTo keep it in git instead: git stash (or commit it on a branch of your ` +
      `own) before make solution-${n}.`);
  }
  git('checkout', '--', `${dir}/`);
  console.log(`${dir}/ is the finished code again (git checkout -- ${dir}/).`);
} else if (command === 'check') {
  if (!arg) die('usage: exercise.mjs check N BINARY');
  const { runStages } = await import('./runner.mjs');
  const { stages, args } = await import(`./check${n}.mjs`);
  const ok = await runStages(stages, arg,
    { lesson: n, args, out: (s) => process.stdout.write(s) });
  process.exit(ok ? 0 : 1);
} else {
  die(`unknown command "${command}": list, blank, solution or check`);
}
