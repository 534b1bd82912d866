interface Node {
  name: string
  prev: Node | null
  next: Node | null
}

/**
 * The runnable queues in claim order: a set of names with O(1) push at either
 * end, take from the front and removal from anywhere (a doubly linked list
 * indexed by name). `release` puts a queue back at the front, everything else
 * at the back.
 */
export class ReadyList {
  #nodes = new Map<string, Node>()
  #head: Node | null = null
  #tail: Node | null = null

  get size (): number {
    return this.#nodes.size
  }

  has (name: string): boolean {
    return this.#nodes.has(name)
  }

  /** Adds at the back; a name already listed keeps its place. */
  pushBack (name: string): void {
    if (this.#nodes.has(name)) return
    const node: Node = { name, prev: this.#tail, next: null }
    if (this.#tail === null) this.#head = node
    else this.#tail.next = node
    this.#tail = node
    this.#nodes.set(name, node)
  }

  /** Adds at the front, moving the name there if it is already listed. */
  pushFront (name: string): void {
    this.delete(name)
    const node: Node = { name, prev: null, next: this.#head }
    if (this.#head === null) this.#tail = node
    else this.#head.prev = node
    this.#head = node
    this.#nodes.set(name, node)
  }

  /** Takes the first name, or undefined when empty. */
  shift (): string | undefined {
    const node = this.#head
    if (node === null) return undefined
    this.delete(node.name)
    return node.name
  }

  delete (name: string): boolean {
    const node = this.#nodes.get(name)
    if (node === undefined) return false
    if (node.prev === null) this.#head = node.next
    else node.prev.next = node.next
    if (node.next === null) this.#tail = node.prev
    else node.next.prev = node.prev
    this.#nodes.delete(name)
    return true
  }
}
