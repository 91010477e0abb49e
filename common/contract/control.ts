// What the API asks of the broker: in-process when they share a process, otherwise a control message on
// CONTROL_TOPIC, which only the service user may publish.

/** A control message on CONTROL_TOPIC. */
export interface ControlMessage {
  cmd: 'disconnect';
  deviceId: string;
  reason: string;
}

/** The broker as the API sees it. */
export interface BrokerControl {
  disconnect(deviceId: string, reason: string): Promise<void>;
}
