// Questions about machines (states, latest values, raw points) asked of the telemetry store, by name.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in next
export interface MachineQuestions {
  // filled in as the machine analytics stop writing queries
}
