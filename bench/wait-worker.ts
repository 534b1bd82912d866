/**
 * wait-latency's worker in a process of its own (forked by bench/child.ts's
 * `wait` job): opens one system as an idle worker of key `wait` and reports
 * each handler start to its parent as process.hrtime (one clock for every
 * process on the machine). Ends when its parent disconnects.
 *   argv: <system> <redis url> <namespace>
 */
import type { SystemName } from './systems/types'
import { openSystem } from './systems/types'

const [system, url, ns] = process.argv.slice(2) as [SystemName, string, string]

async function main (): Promise<void> {
  const instance = await openSystem(system, {
    url,
    ns,
    slots: 1,
    ownedKeys: ['wait'],
    handler: () => { process.send?.({ type: 'started', t: String(process.hrtime.bigint()) }) },
  })
  await instance.start()
  process.once('disconnect', () => {
    instance.close().finally(() => process.exit(0))
  })
  process.send?.({ type: 'ready' })
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
