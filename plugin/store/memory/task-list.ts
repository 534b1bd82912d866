/**
 * The ids of one queue's tasks in order, head first: an array with a moving
 * start, so dropping the head is O(1) (amortised) and paging is plain indexing.
 * Tasks only ever leave from the head and join at the tail.
 */
export class TaskList {
  #ids: string[] = []
  #start = 0

  get length (): number {
    return this.#ids.length - this.#start
  }

  /** The id at 0-based position `index` (0 = head), or undefined. */
  at (index: number): string | undefined {
    return index < 0 ? undefined : this.#ids[this.#start + index]
  }

  push (id: string): void {
    this.#ids.push(id)
  }

  shift (): string | undefined {
    if (this.length === 0) return undefined
    const id = this.#ids[this.#start]
    this.#start++
    // Compact once the dead prefix is both large and most of the array, so
    // a long-lived queue does not keep every id it ever held.
    if (this.#start > 1024 && this.#start * 2 > this.#ids.length) {
      this.#ids = this.#ids.slice(this.#start)
      this.#start = 0
    }
    return id
  }

  slice (offset: number, limit: number): string[] {
    const from = this.#start + Math.max(0, offset)
    return this.#ids.slice(from, from + Math.max(0, limit))
  }
}
