import { Webhook } from 'standardwebhooks';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com), by its own library (the one
 * receivers verify with): the signed content is `${id}.${timestamp}.${body}`, HMAC-SHA256,
 * sent as `v1,<base64>`. A `whsec_` secret carries its key in base64; any other secret is used
 * as its UTF-8 bytes.
 */
export function webhookSigner(secret: string): Webhook {
  return secret.startsWith('whsec_') ? new Webhook(secret) : new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' });
}

export function signatureHeaders(signer: Webhook, messageId: string, body: string, now = new Date()): Record<string, string> {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signer.sign(messageId, now, body),
  };
}
