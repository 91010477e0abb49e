// A loom controller for the gateway's tests: node-opcua's OPCUAServer with a few metrics and the OPC 40001-1 state
// variables, set by the test. Optionally secured (SignAndEncrypt with Basic256Sha256 only, a username and password
// or any X.509 user, no anonymous access), with its own certificate store so the test can hand its certificate to
// the gateway.
import path from 'node:path';
import { DataType, MessageSecurityMode, SecurityPolicy, Variant } from 'node-opcua-client';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { OPCUAServer } from 'node-opcua-server';

export interface LoomServerOptions {
  /** Answer CreateSubscription with BadTooManySubscriptions, as small controllers do. */
  refuseSubscriptions?: boolean;
  /** SignAndEncrypt only, with this user; the server's PKI (its certificate, clients it accepted) under `pkiDir`. */
  secure?: { username: string; password: string; pkiDir: string };
}

export async function startLoomServer(port: number, opts: LoomServerOptions = {}) {
  const secure = opts.secure;
  const server = new OPCUAServer({
    port, resourcePath: '/UA/Loom', buildInfo: { productName: 'test loom' },
    ...(secure && {
      securityModes: [MessageSecurityMode.SignAndEncrypt], securityPolicies: [SecurityPolicy.Basic256Sha256], allowAnonymous: false,
      userManager: { isValidUser: (user: string, password: string) => user === secure.username && password === secure.password },
      // The gateway's certificate and X.509 users are accepted as they come: the tests are about the gateway.
      serverCertificateManager: new OPCUACertificateManager({ rootFolder: path.join(secure.pkiDir, 'server-pki'), automaticallyAcceptUnknownCertificate: true }),
      userCertificateManager: new OPCUACertificateManager({ rootFolder: path.join(secure.pkiDir, 'user-pki'), automaticallyAcceptUnknownCertificate: true }),
    }),
  });
  await server.initialize();
  if (opts.refuseSubscriptions) server.engine.serverCapabilities.maxSubscriptionsPerSession = 0;
  const space = server.engine.addressSpace!;
  const ns = space.getOwnNamespace();
  const loom = ns.addObject({ organizedBy: space.rootFolder.objects, browseName: 'Loom1' });
  const vars = new Map<string, ReturnType<typeof ns.addVariable>>();
  const add = (name: string, dataType: DataType, value: unknown) => {
    const v = ns.addVariable({ componentOf: loom, nodeId: `s=Loom1.${name}`, browseName: name, dataType: DataType[dataType], minimumSamplingInterval: 50 });
    v.setValueFromSource(new Variant({ dataType, value }));
    vars.set(name, v);
  };
  add('Speed', DataType.Double, 612.5);
  add('Picks', DataType.UInt32, 1000);
  add('EnergyWh', DataType.Double, 5_000_000);
  add('ItemState', DataType.LocalizedText, { text: 'Executing' });
  add('OperationMode', DataType.UInt32, 3);
  await server.start();
  const set = (name: string, dataType: DataType, value: unknown) => vars.get(name)!.setValueFromSource(new Variant({ dataType, value }));
  return {
    endpoint: server.getEndpointUrl(), ns: ns.index, set,
    /** The server's certificate (PEM), as an operator would export it from the controller. */
    certificateFile: server.certificateFile,
    stop: () => server.shutdown(0),
  };
}

export type LoomServer = Awaited<ReturnType<typeof startLoomServer>>;
