// wasi_run.mjs — runs a wasm32-wasi program (e.g. build-wasm/test_kernels.wasm) under node's WASI
// preview1; exits with its exit status. Usage: node --no-warnings tests/wasi_run.mjs FILE.wasm [ARGS...]
import { WASI } from 'node:wasi';
import { readFile } from 'node:fs/promises';
const [file, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: 'preview1', args: [file, ...args], env: {}, preopens: {} });
const mod = await WebAssembly.compile(await readFile(file));
const inst = await WebAssembly.instantiate(mod, wasi.getImportObject());
process.exitCode = wasi.start(inst);
