// Questions the energy analytics ask the telemetry store, by name: the adapter decides how to answer them.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in next
export interface EnergyQuestions {
  // filled in as the energy analytics stop writing queries
}
