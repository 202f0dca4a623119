// The task registry: type → definition, plus the payload map and combined deps type derived from it.
import type { z } from 'zod';
import type { AnyTaskDefinition, TaskDefinition } from './define-task.js';

export interface TaskRegistry<Def extends AnyTaskDefinition = AnyTaskDefinition> {
  readonly tasks: readonly Def[];
  /** Every registered type: the claim only takes these. */
  readonly types: readonly string[];
  get(type: string): Def | undefined;
}

/** Builds a registry; throws on a duplicate type (two files claiming one name is always a mistake). */
export function createTaskRegistry<const Defs extends readonly AnyTaskDefinition[]>(defs: Defs): TaskRegistry<Defs[number]> {
  const byType = new Map<string, Defs[number]>();
  for (const def of defs) {
    if (byType.has(def.type)) throw new Error(`task type ${def.type} is registered twice`);
    byType.set(def.type, def);
  }
  return Object.freeze({ tasks: [...defs], types: [...byType.keys()], get: (type: string) => byType.get(type) });
}

type DefOf<R> = R extends TaskRegistry<infer Def> ? Def : never;

/** `{ [type]: payload as enqueued (schema input) }` for every task of registry `R`. */
export type TaskPayloadsOf<R> = {
  [Def in DefOf<R> as Def['type']]: Def extends TaskDefinition<string, infer S, infer _D> ? z.input<S> : never;
};

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** The deps every task of registry `R` needs, combined: what `createWorker` must be given. */
export type TaskDepsOf<R> = UnionToIntersection<DefOf<R> extends TaskDefinition<string, infer _S, infer D> ? (unknown extends D ? object : D) : never>;
