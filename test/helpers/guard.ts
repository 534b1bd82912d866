import t from 'tap'

/**
 * Import this once in every test file. When the file's tests are done it fails
 * the file if any socket, timer, child process or server is still running: a
 * worker, connection or timer leaked by the plugin or by the test.
 */
const ignored = new Set(['TTYWrap', 'PipeWrap', 'Timeout', 'Immediate', 'FSReqCallback', 'SignalWrap', 'StatWatcher'])

function leftovers (): string[] {
  return process.getActiveResourcesInfo().filter((r) => !ignored.has(r))
}

function activeTimers (): number {
  // getActiveResourcesInfo lists one 'Timeout' per ref'd timer; unref'd ones do not keep the process alive.
  // The guard's own wait timers are unref'd.
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
}

// Runs as the last top-level test of the file: every test body queued while the
// file was loading has finished by then.
setImmediate(() => {
  t.test('no worker, timer, connection or child process left running', async (t) => {
    // Up to 4 s: after a Cluster node was killed, ioredis' sharded subscriber group schedules a slots
    // refresh ~2.5 s out when a subscriber cannot connect, and close() does not clear it (seen in
    // test/failover/idle-worker.test.ts: two such timers, created by handleSubscriberConnectFailed).
    for (let i = 0; i < 160; i++) {
      if (leftovers().length === 0 && activeTimers() === 0) break
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    const left = leftovers()
    const timers = activeTimers()
    t.same(left, [], 'no active handles or requests')
    t.equal(timers, 0, "no ref'd timers")
  })
})
