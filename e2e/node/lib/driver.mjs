// How every driver ends: run main under a watchdog (a hung browser or
// server must not hang the Go test), record whether it threw, and print
// the report as one JSON line, which the Go test reads and asserts on.
export async function runDriver(name, main, report, { timeoutMs = 90_000 } = {}) {
  const watchdog = setTimeout(() => { console.error(`${name}: timed out`); process.exit(2); }, timeoutMs);
  try {
    await main();
    report.ok = true;
  } catch (e) {
    report.ok = false;
    report.error = String(e?.stack ?? e);
    if (e?.error) report.error_code = e.error; // an OAuth error response's error
    process.exitCode = 1;
  }
  clearTimeout(watchdog);
  console.log(JSON.stringify(report));
}
