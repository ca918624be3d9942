import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** A Secrets Manager secret whose value is a JSON object, read with the caller's client. */
export async function getJsonSecret<T>(client: SecretsManagerClient, secretId: string): Promise<T> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  return JSON.parse(out.SecretString ?? '{}') as T;
}
