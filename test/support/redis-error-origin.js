// In tests, a Redis command's rejection carries the stack of the code that sent it (ioredis's
// showFriendlyErrorStack, for every connection however it was made): a stray "Connection is
// closed." then names the command's sender instead of ioredis's socket handler.
const Redis = require('ioredis');

for (const Client of [Redis, Redis.Cluster]) {
  const sendCommand = Client.prototype.sendCommand;
  Client.prototype.sendCommand = function sendCommandWithOrigin(command, stream) {
    if (command && !command.errorStack) command.errorStack = new Error();
    return sendCommand.call(this, command, stream);
  };
}
