// Texts of the device page's connection panel and its live list of rejected messages.
import { texts } from '../../i18n.ts';

const zh = {
  connTitle: '连接',
  connHost: '服务器地址',
  connPorts: '端口',
  connCredentials: '身份',
  connCredentialsValue: 'clientId = 用户名 = {id}；密码 = 设备令牌',
  connTls: 'TLS 证书',
  connCaDownload: '下载 CA 证书（ca.pem）',
  connCaTrusted: 'MQTTS 证书由设备已信任的 CA 签发，无需另装 CA',
  connNoTls: '平台未启用 TLS（只有明文 MQTT）',
  connPublish: '发布',
  connSubscribe: '订阅（拒收原因）',
  connExamples: '示例：发送一条有效遥测',
  connTokenNote: '令牌只在接入时显示一次，示例中以 <TOKEN> 占位，请换成设备令牌（遗失时可轮换令牌）。',
  connTokenFilled: '示例中已填入本设备的令牌。',
  exMosquitto: '命令行（mosquitto_pub）',
  exMqttJs: 'Node.js（MQTT.js）',
  exPython: 'Python（paho-mqtt 2.x）',
  errTitle: '最近被拒收的消息',
  errHelp: '平台拒收本设备的消息时，原因实时显示在这里（每 5 秒刷新），无需以设备身份订阅 errors 主题。',
  errUpdated: '更新于 {time}',
};

const en: Record<keyof typeof zh, string> = {
  connTitle: 'Connection',
  connHost: 'Host',
  connPorts: 'Ports',
  connCredentials: 'Identity',
  connCredentialsValue: 'clientId = user name = {id}; password = the device token',
  connTls: 'TLS certificate',
  connCaDownload: 'Download the CA certificate (ca.pem)',
  connCaTrusted: 'The MQTTS certificate comes from a CA devices already trust: no CA to install',
  connNoTls: 'TLS is off on this platform (plain MQTT only)',
  connPublish: 'Publishes',
  connSubscribe: 'Subscribes (rejection reasons)',
  connExamples: 'Examples: publish one valid telemetry message',
  connTokenNote: 'The token is shown only once, at provisioning: the examples say <TOKEN>; put the device token there (rotate the token if it is lost).',
  connTokenFilled: 'The examples carry this device\'s token.',
  exMosquitto: 'Command line (mosquitto_pub)',
  exMqttJs: 'Node.js (MQTT.js)',
  exPython: 'Python (paho-mqtt 2.x)',
  errTitle: 'Recently rejected messages',
  errHelp: 'Why the platform refused this device\'s messages, live (refreshed every 5 s), without subscribing as the device.',
  errUpdated: 'updated {time}',
};

export const dx = texts({ zh, en });
