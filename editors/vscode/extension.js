// The nasc extension: starts `nasc lsp` (the language server in src/lsp/) over stdio for
// `.nas` files. Plain CommonJS, no build step.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;

function serverCommand() {
  const path = vscode.workspace.getConfiguration('nasc').get('serverPath', 'nasc');
  return typeof path === 'string' && path.trim() !== '' ? path.trim() : 'nasc';
}

async function startClient() {
  const command = serverCommand();
  const executable = { command, args: ['lsp'], transport: TransportKind.stdio };
  /** @type {import('vscode-languageclient/node').ServerOptions} */
  const serverOptions = { run: executable, debug: executable };
  /** @type {import('vscode-languageclient/node').LanguageClientOptions} */
  const clientOptions = {
    documentSelector: [{ scheme: 'file', language: 'nas' }],
  };
  client = new LanguageClient('nasc', 'nasc language server', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    vscode.window.showErrorMessage(
      `nasc: could not start the language server with \`${command} lsp\` (${message}). ` +
        'Install nasc with `cargo install --path .` at the repository root, or set `nasc.serverPath`.'
    );
  }
}

async function stopClient() {
  if (!client) {
    return;
  }
  const running = client;
  client = undefined;
  try {
    await running.stop();
  } catch (_) {
    // A server that never started, or has already exited, has nothing to stop.
  }
}

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration('nasc.serverPath')) {
        await stopClient();
        await startClient();
      }
    })
  );
  await startClient();
}

function deactivate() {
  return stopClient();
}

module.exports = { activate, deactivate };
