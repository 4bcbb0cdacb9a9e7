/**
 * Every adapter Linesight ships. Only the composition root (cli/boot.ts), the schema build script and
 * tests import this file; the rest of runtime/ sees adapters through the registry.
 */
import syntheticSource from './source/synthetic/index.ts';
import folderSource from './source/folder/index.ts';
import logSink from './sink/log/index.ts';
import modbusSink from './sink/modbus/index.ts';
import modbusServerSink from './sink/modbus-server/index.ts';
import opcuaSink from './sink/opcua/index.ts';
import opcuaMesService from './service/opcua-mes/index.ts';

export const ADAPTERS = [syntheticSource, folderSource, logSink, modbusSink, modbusServerSink, opcuaSink, opcuaMesService] as const;
