/**
 * What waking up costs on this machine: the process CPU of the same half millisecond or so of
 * JavaScript run back to back, and run once every 20 ms (woken by a timer, the way a
 * service at a fixed order rate is woken by each message). The difference is paid on
 * every wake-up — see docs/performance.md.
 *
 * Usage: node tools/wakeup-cost.mjs [intervalMs=20] [runs=150]
 */
const intervalMs = Number(process.argv[2] ?? 20);
const runs = Number(process.argv[3] ?? 150);

const records = Array.from({ length: 200 }, (_, id) => ({ id, name: `item-${id}`, tags: ["a", "b", "c"] }));
/** Some ordinary work (~0.6 ms here): JSON round trips and a map. */
function work() {
  let size = 0;
  for (let round = 0; round < 3; round++) size += JSON.parse(JSON.stringify(records)).length;
  const map = new Map();
  for (let index = 0; index < 2000; index++) map.set(`key-${index}`, index);
  return size + map.size;
}
const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

for (let warm = 0; warm < 2000; warm++) work();
let started = cpuMicros();
for (let run = 0; run < runs * 10; run++) work();
const backToBack = (cpuMicros() - started) / (runs * 10);

started = cpuMicros();
for (let run = 0; run < runs; run++) {
  work();
  await new Promise((resolve) => setTimeout(resolve, intervalMs));
}
const woken = (cpuMicros() - started) / runs;

console.log(
  `process CPU per run: back to back ${backToBack.toFixed(0)} µs; once every ${intervalMs} ms ${woken.toFixed(0)} µs ` +
    `(${(woken - backToBack).toFixed(0)} µs per wake-up)`,
);
