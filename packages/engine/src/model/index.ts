/** The reference model: the oracle for property tests and the crash simulation. */
export { ReferenceModel, type ModelOrder } from "./reference-model.js";
