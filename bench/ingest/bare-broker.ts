// The ceiling we compare against: a bare Aedes broker, no hooks, in-memory persistence (docs/pitfalls.md).
import net from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2]);
const broker = await Aedes.createBroker({ maxClientsIdLength: 64 });
net.createServer(broker.handle).listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
