/**
 * Every adapter Linesight ships. Only the composition root (runtime/main.ts), the schema build script and
 * tests import this file; the rest of runtime/ sees adapters through the registry.
 */
import syntheticSource from './sources/synthetic.ts';
import folderSource from './sources/folder.ts';
import logSink from './sinks/log.ts';
import modbusSink from './sinks/modbus.ts';
import modbusServerSink from './sinks/modbus-server.ts';
import opcuaSink from './sinks/opcua.ts';

export const ADAPTERS = [syntheticSource, folderSource, logSink, modbusSink, modbusServerSink, opcuaSink] as const;
