import { signWebhook, webhookHeaders } from '../../core/security/webhook-signing';
import { verifyStandardWebhook } from '../support/workflow-harness';

// The Standard Webhooks specification's published test vector.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
};

describe('Standard Webhooks signing', () => {
  it('reproduces the specification test vector', () => {
    expect(signWebhook(VECTOR)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('produces headers that an independent receiver accepts, and that fail for another body or secret', () => {
    const headers = webhookHeaders(VECTOR);
    expect(headers).toEqual({
      'webhook-id': VECTOR.id,
      'webhook-timestamp': '1614265330',
      'webhook-signature': expect.stringMatching(/^v1,/),
    });
    expect(verifyStandardWebhook(VECTOR.secret, { headers, rawBody: VECTOR.body })).toBe(true);
    expect(verifyStandardWebhook(VECTOR.secret, { headers, rawBody: '{"test": 2432232315}' })).toBe(false);
    expect(
      verifyStandardWebhook('whsec_c2VjcmV0LW9mLWFub3RoZXItZW5kcG9pbnQ=', { headers, rawBody: VECTOR.body }),
    ).toBe(false);
  });
});

describe('signing during a secret rotation', () => {
  it('carries two space-separated signatures, the new secret first, each verifying on its own', () => {
    const previousSecret = 'whsec_c2VjcmV0LW9mLWFub3RoZXItZW5kcG9pbnQ=';
    const headers = webhookHeaders({ ...VECTOR, previousSecret });
    const [current, previous] = headers['webhook-signature']!.split(' ');
    expect(current).toBe(signWebhook(VECTOR));
    expect(previous).toBe(signWebhook({ ...VECTOR, secret: previousSecret }));
    expect(verifyStandardWebhook(previousSecret, { headers, rawBody: VECTOR.body })).toBe(true);
    expect(verifyStandardWebhook(VECTOR.secret, { headers, rawBody: VECTOR.body })).toBe(true);
    expect(webhookHeaders({ ...VECTOR, previousSecret: undefined })['webhook-signature']).not.toContain(' ');
  });
});
