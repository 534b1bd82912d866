import type { Fifo } from './core/fifo'
import { FST_FIFO_INVALID_DEFINITION } from './core/errors'
import type { Task, TaskOptions } from './core/registry'

/**
 * The class-method form of `app.fifo.define()`, with TypeScript standard
 * (TC39) decorators — no `experimentalDecorators`:
 *
 *   class Orders {
 *     @task({ queue: (id: string) => `order:${id}` })
 *     async reserve (id: string, qty: number): Promise<void> { ... }
 *   }
 *   const orders = bindTasks(app, new Orders(db))   // before app.ready()
 *   await orders.reserve('o-1', 2)                   // enqueues; the worker runs the body
 *
 * A decorator cannot change the type of the method it decorates, so a decorated
 * method must be declared `Promise<void>`: its callers can await it (it settles
 * once the task is stored) but cannot mistake its value for the body's result.
 * `taskOf(orders, 'reserve')` gives the same task as a typed `Task`, whose call
 * resolves `{ id, queue, name, duplicate }` and which has `.with()` and works
 * with `request.fifo.enqueue()`.
 */

type QueueOption = string | ((...args: never[]) => string)

/** The options of `app.fifo.define()`, plus the handler name. */
export interface TaskMethodOptions<Q extends QueueOption = QueueOption> extends Omit<TaskOptions<never[]>, 'queue'> {
  /** The queue: a fixed name, or a function of the method's arguments (e.g. per-order queues). */
  queue: Q
  /**
   * The handler name every instance of the app must agree on. Set it when a
   * bundler renames classes, or to keep stored tasks runnable after a rename.
   * @default `${ClassName}.${methodName}`
   */
  name?: string
}

/** What `@task` accepts: an async method that resolves nothing. */
export type TaskMethod<This, A extends unknown[]> = (this: This, ...args: A) => Promise<void>

// The checks below sit on the decorator's context parameter, so a misuse is one
// type error whose message says what is wrong.

/** Refuses a queue function that could not be called with the method's arguments. */
type QueueFits<Q, A extends unknown[]> = Q extends string
  ? unknown
  : Q extends (...args: A) => string ? unknown : { 'the queue function must accept the method\'s arguments': Q }

/** Refuses a method whose callers would expect its body's result: a call enqueues, it does not run the body. */
type ResolvesVoid<M extends (...args: never[]) => unknown> = ReturnType<M> extends Promise<void>
  ? unknown
  : { 'a @task method must be async and declared Promise<void>': ReturnType<M> }

/** The keys of T whose values `@task` could have decorated. */
export type TaskMethodKeys<T> = {
  [K in keyof T]: T[K] extends (...args: never[]) => Promise<void> ? K : never
}[keyof T]

type ArgsOf<F> = F extends (...args: infer A) => Promise<void> ? A : never
type ParamsOf<F> = F extends (...args: infer A) => unknown ? A : never

interface MethodSpec {
  key: string
  original: (...args: unknown[]) => unknown
  replacement: (...args: unknown[]) => Promise<unknown>
  options: TaskMethodOptions
}

// Filled by the decorators' initializers as each instance is constructed.
const specsByInstance = new WeakMap<object, MethodSpec[]>()
// Filled by bindTasks: what a decorated method call on that instance enqueues.
const tasksByInstance = new WeakMap<object, Map<string, Task>>()

function describe (key: string, context: unknown): string {
  return typeof context === 'object' && context !== null && 'name' in context ? String(context.name) : key
}

/**
 * Marks an async method as a task: once its instance is bound with
 * `bindTasks(app, instance)`, calling the method enqueues it, and a worker runs
 * the method's body later, in queue order, with `this` being that instance.
 */
export function task<Q extends QueueOption> (options: TaskMethodOptions<Q>) {
  // `any[]` only because TypeScript's ClassMethodDecoratorContext requires it of the method type.
  return function decorate<This, M extends (this: This, ...args: any[]) => unknown> (
    method: M,
    context: ClassMethodDecoratorContext<This, M> & QueueFits<Q, ParamsOf<M>> & ResolvesVoid<M>
  ): M {
    // With experimentalDecorators the second argument is the property key, not a context object.
    if (typeof context !== 'object' || context === null || context.kind !== 'method') {
      throw new FST_FIFO_INVALID_DEFINITION(describe('@task', context),
        '@task is a standard (TC39) method decorator: use it on a class method, without "experimentalDecorators" in tsconfig')
    }
    if (context.static || context.private || typeof context.name !== 'string') {
      throw new FST_FIFO_INVALID_DEFINITION(String(context.name), '@task goes on a public, non-static method with a string name')
    }
    if (options === null || typeof options !== 'object') {
      throw new FST_FIFO_INVALID_DEFINITION(context.name, `@task needs an options object with a queue, got ${String(options)}`)
    }
    const key = context.name
    const spec: MethodSpec = {
      key,
      original: method as unknown as (...args: unknown[]) => unknown,
      replacement: async function (this: object, ...args: unknown[]): Promise<unknown> {
        const bound = tasksByInstance.get(this)?.get(key)
        if (bound === undefined) {
          throw new FST_FIFO_INVALID_DEFINITION(key, 'this instance is not bound to an app: call bindTasks(app, instance) before app.ready()')
        }
        return await bound(...args)
      },
      options: options as TaskMethodOptions,
    }
    context.addInitializer(function (this: This) {
      const instance = this as object
      const specs = specsByInstance.get(instance)
      if (specs === undefined) specsByInstance.set(instance, [spec])
      else specs.push(spec)
    })
    // The enqueue resolves { id, queue, name, duplicate }; the method's declared type says Promise<void>.
    return spec.replacement as unknown as M
  }
}

/** The class that declares `spec`'s method, found by walking the instance's prototype chain. */
function declaringClassName (instance: object, spec: MethodSpec): string {
  for (let proto = Object.getPrototypeOf(instance); proto !== null; proto = Object.getPrototypeOf(proto)) {
    if (Object.getOwnPropertyDescriptor(proto, spec.key)?.value === spec.replacement) {
      return (proto as { constructor?: { name?: unknown } }).constructor?.name as string ?? ''
    }
  }
  return ''
}

/**
 * Defines one task per `@task` method of `instance` on `app` (before
 * `app.ready()`), so that calling those methods on this instance enqueues
 * them. Returns the instance, for `const orders = bindTasks(app, new Orders())`.
 *
 * Each method becomes the handler named by its `name` option, or
 * `ClassName.methodName`; handler names are unique per app, so bind one
 * instance of a class per app (or give the methods distinct names).
 */
/** Where tasks can be defined: a Fastify app (its `app.fifo`) or the Express adapter's fifo object. */
export type TaskHost = { fifo: Pick<Fifo, 'define'> } | Pick<Fifo, 'define'>

export function bindTasks<T extends object> (app: TaskHost, instance: T): T {
  if (instance === null || typeof instance !== 'object') {
    throw new FST_FIFO_INVALID_DEFINITION('bindTasks', `needs a class instance, got ${String(instance)}`)
  }
  const specs = specsByInstance.get(instance) ?? []
  const className = (instance as { constructor?: { name?: string } }).constructor?.name || 'instance'
  if (specs.length === 0) {
    throw new FST_FIFO_INVALID_DEFINITION(className, 'has no @task methods to bind (is it a class instance whose methods use @task?)')
  }
  if (tasksByInstance.has(instance)) {
    throw new FST_FIFO_INVALID_DEFINITION(className, 'this instance is already bound to an app')
  }

  const host = 'fifo' in app ? app.fifo : app
  const current = instance as Record<string, unknown>
  const tasks = new Map<string, Task>()
  for (const key of new Set(specs.map((s) => s.key))) {
    // A subclass may override a decorated method; the instance runs what its own property resolves to.
    const spec = specs.find((s) => s.key === key && s.replacement === current[key])
    if (spec === undefined) {
      throw new FST_FIFO_INVALID_DEFINITION(`${className}.${key}`, 'overrides a @task method without @task; decorate the override too')
    }
    const { name: customName, ...taskOptions } = spec.options
    let name = customName
    if (name === undefined) {
      const declaring = declaringClassName(instance, spec)
      if (declaring === '') throw new FST_FIFO_INVALID_DEFINITION(key, 'is on an anonymous class: give @task a name option')
      name = `${declaring}.${key}`
    }
    const original = spec.original
    tasks.set(key, host.define(name, taskOptions as TaskOptions<unknown[]>, (...args: unknown[]) => original.apply(instance, args)))
  }
  tasksByInstance.set(instance, tasks)
  return instance
}

/**
 * The task behind a bound `@task` method, typed from the method: its call
 * resolves `{ id, queue, name, duplicate }`, it has `.with({ dedupeId })` and
 * `.taskName`, and it can be passed to `request.fifo.enqueue()`.
 */
export function taskOf<T extends object, K extends TaskMethodKeys<T> & string> (instance: T, method: K): Task<ArgsOf<T[K]>> {
  const bound = tasksByInstance.get(instance)?.get(method)
  if (bound === undefined) {
    const className = (instance as { constructor?: { name?: string } } | null)?.constructor?.name || 'instance'
    const why = specsByInstance.get(instance)?.some((s) => s.key === method) === true
      ? 'is not bound yet: call bindTasks(app, instance) first'
      : 'is not a @task method'
    throw new FST_FIFO_INVALID_DEFINITION(`${className}.${method}`, why)
  }
  return bound as unknown as Task<ArgsOf<T[K]>>
}
