/**
 * Hostile inputs: a seeded generator of Kafka messages that no coordinator may
 * accept, drawn with fast-check from the input contracts
 * (`@chaos-lab/contracts`), for DESIGN §6 ("finding what nobody named"). Every
 * message it plans is poison: the coordinator must dead-letter each one exactly
 * once and keep consuming its partition. {@link contractAccepts} is the oracle
 * (the contract's acceptance rule, written here from the contracts because the
 * lab never imports the coordinator); the generator keeps only what it rejects,
 * so a plan never contains a message the coordinator would rightly accept.
 *
 * This is the entry point; the parts live under `hostile/`:
 *
 * - `oracle.ts`: {@link contractAccepts}.
 * - `class.ts`: the classes ({@link HOSTILE_CLASSES}); an entry's `role` is
 *   `hostile:<class>`. What each class may produce is said in its module:
 *   `classes/bytes.ts`, `classes/text-json-broken.ts`, `classes/schema.ts`,
 *   `classes/oversized.ts`, `classes/keys.ts` (built on `classes/context.ts`,
 *   composed by `classes/values.ts`).
 * - The material they share: `text.ts` (hostile text, invalid UTF-8),
 *   `valid-events.ts` (the valid events every value starts from; batch ids
 *   `${idPrefix}-hx…`), `limits.ts` (the contract's maxima), `mutation.ts` and
 *   `field-mutations.ts` (the one thing a `schema` value breaks).
 * - `plan.ts`: {@link planHostileInputs}, the seeded draws (a plan is a pure
 *   function of seed and options; the order of the arbitraries and draws is
 *   part of it); `options.ts`: its options and their validation.
 */
export { contractAccepts } from './hostile/oracle.js';
export { HOSTILE_CLASSES, type HostileClass } from './hostile/class.js';
export type { HostileInputOptions } from './hostile/options.js';
export { planHostileInputs } from './hostile/plan.js';
